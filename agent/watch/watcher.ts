/**
 * One running watch: a loop of blocking queries through the agent's HTTP API that calls the
 * handler once per real change.
 *
 * Contract:
 * - The first answer always runs the handler (like Consul); after that the handler runs only
 *   when the answer's X-Consul-Index moved *and* the value differs from the one last handed
 *   to the handler (a wake-up without a change runs nothing).
 * - The handler is awaited before the next query: handler runs never overlap, and a slow
 *   handler delays the watch rather than queueing runs.
 * - An index that goes backwards (a server restored a snapshot) restarts from 0.
 * - A failed query (network, non-2xx other than a KV 404) waits before retrying: 1 s, doubling
 *   up to `maxBackoffMs`; a success resets it. An answer whose index did not move is re-asked
 *   only after `retryMs`. Never a tight loop.
 * - stop() aborts the query in flight and resolves once the loop (and a handler run) ended.
 */
import { StoppableLoop } from '../runtime/loop.js';
import { isDeepStrictEqual } from 'node:util';
import type { Clock } from '../runtime/clock.js';
import type { Logger } from '../runtime/logger.js';
import { silentLogger } from '../runtime/logger.js';
import { watchQuery, type WatchParams, type WatchQuery } from './plan.js';
import { parseJsonExactFlags } from '../runtime/json64.js';

/** One HTTP GET of the agent API. */
export type WatchFetch = (path: string, signal: AbortSignal) => Promise<{ status: number; text: string; index: number }>;

/** Receives each changed value and its index; may reject (logged, the watch goes on). */
export type WatchHandler = (value: unknown, index: number) => Promise<void> | void;

export interface WatcherOptions {
  params: WatchParams;
  fetch: WatchFetch;
  handler: WatchHandler;
  clock: Clock;
  logger?: Logger;
  /** `?wait` of each blocking query; default 5 min (Consul's). */
  waitMs?: number;
  /** First retry delay after an error; default 1 s. */
  retryMs?: number;
  /** Largest retry delay; default 1 min. */
  maxBackoffMs?: number;
}

export class Watcher extends StoppableLoop {
  readonly query: WatchQuery;
  private readonly log: Logger;
  /** Handler runs so far (for tests and stats). */
  runs = 0;
  /** Queries answered so far. */
  queries = 0;

  constructor(private readonly o: WatcherOptions) {
    super(o.clock);
    this.query = watchQuery(o.params);
    this.log = (o.logger ?? silentLogger()).child({ component: 'watch', watch: o.params.type });
  }

  protected async run(): Promise<void> {
    const waitMs = this.o.waitMs ?? 5 * 60_000;
    const retryMs = this.o.retryMs ?? 1000;
    const maxBackoff = this.o.maxBackoffMs ?? 60_000;
    let index = 0;
    let failures = 0;
    let last: { value: unknown } | undefined;
    while (!this.stopped) {
      const ac = new AbortController();
      this.abort = ac;
      const sep = this.query.path.includes('?') ? '&' : '?';
      const path = index > 0 ? `${this.query.path}${sep}index=${index}&wait=${Math.ceil(waitMs / 1000)}s` : this.query.path;
      let value: unknown;
      let newIndex: number;
      try {
        const r = await this.o.fetch(path, ac.signal);
        if (r.status === 404 && this.query.notFound !== undefined) value = this.query.notFound;
        else if (r.status < 200 || r.status > 299) throw new Error(`Unexpected response code: ${r.status} (${r.text.trim()})`);
        else value = this.query.extract(parseJsonExactFlags(r.text));
        newIndex = r.index;
      } catch (err) {
        if (this.stopped) break;
        failures++;
        const delay = Math.min(retryMs * 2 ** Math.min(failures - 1, 20), maxBackoff);
        this.log.warn({ err: (err as Error).message, attempt: failures }, `watch query failed; retrying in ${delay} ms`);
        await this.sleep(delay);
        continue;
      }
      if (this.stopped) break;
      failures = 0;
      this.queries++;
      const moved = newIndex !== index;
      // An index that went backwards restarts from 0, like blocking queries do.
      index = newIndex < index || newIndex <= 0 ? 0 : newIndex;
      const changed = last === undefined || (moved && !isDeepStrictEqual(last.value, value));
      if (changed) {
        last = { value };
        this.runs++;
        try {
          await this.o.handler(value, newIndex);
        } catch (err) {
          this.log.error({ err: (err as Error).message }, `watch handler failed: ${(err as Error).message}`);
        }
      }
      // A source without an index (0), or one that answered without the index moving (a
      // wait that ran out, or a server ignoring ?index), is re-asked after retryMs, never at once.
      if ((index === 0 || !moved) && !this.stopped) await this.sleep(retryMs);
    }
  }
}
