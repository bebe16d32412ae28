import type { KvInput, KvOutput, Operation } from '../../lib/linearizability.js';

/**
 * A Knossos-style history: every client operation is an `invoke` followed by exactly one of
 * `ok` (it happened, with this result), `fail` (it certainly did not happen) or `info` (the
 * outcome is unknown: a timeout, a dropped connection, a 5xx after the request was sent).
 */
export type EventType = 'invoke' | 'ok' | 'fail' | 'info';

export interface HistoryEvent {
  process: number;
  type: EventType;
  /** Operation name, e.g. 'read', 'write', 'cas', 'register'. */
  f: string;
  /** The operation's input on invoke, its result on ok, an error message on fail/info. */
  value: unknown;
  /** Milliseconds since the history began (monotonic). */
  time: number;
  /** The register key for KV-model operations. */
  key?: string;
  /** Which agent served it. */
  node?: string;
}

/** What a client operation resolved to. */
export type Outcome = { type: 'ok'; value: unknown } | { type: 'fail' | 'info'; error: string };

export class History {
  readonly events: HistoryEvent[] = [];
  private readonly t0 = performance.now();

  now(): number {
    return performance.now() - this.t0;
  }

  /** Records an operation around `fn`; a throw from `fn` is recorded as info (unknown). */
  async run(process: number, f: string, input: unknown, node: string, key: string | undefined, fn: () => Promise<Outcome>): Promise<Outcome> {
    this.events.push({ process, type: 'invoke', f, value: input, time: this.now(), node, ...(key !== undefined ? { key } : {}) });
    let out: Outcome;
    try {
      out = await fn();
    } catch (e) {
      out = { type: 'info', error: (e as Error).message };
    }
    const value = out.type === 'ok' ? out.value : out.error;
    this.events.push({ process, type: out.type, f, value, time: this.now(), node, ...(key !== undefined ? { key } : {}) });
    return out;
  }

  counts(): Record<EventType, number> {
    const c: Record<EventType, number> = { invoke: 0, ok: 0, fail: 0, info: 0 };
    for (const e of this.events) c[e.type]++;
    return c;
  }

  /** Completions per operation name and outcome, e.g. { 'write:ok': 12, 'cas:info': 1 }. */
  byOperation(): Record<string, number> {
    const c: Record<string, number> = {};
    for (const e of this.events) if (e.type !== 'invoke') c[`${e.f}:${e.type}`] = (c[`${e.f}:${e.type}`] ?? 0) + 1;
    return c;
  }

  /** Invoke/completion pairs, in invocation order. */
  pairs(): Array<{ invoke: HistoryEvent; done: HistoryEvent | undefined }> {
    const open = new Map<number, HistoryEvent>();
    const out: Array<{ invoke: HistoryEvent; done: HistoryEvent | undefined }> = [];
    const idx = new Map<HistoryEvent, number>();
    for (const e of this.events) {
      if (e.type === 'invoke') {
        open.set(e.process, e);
        idx.set(e, out.length);
        out.push({ invoke: e, done: undefined });
      } else {
        const inv = open.get(e.process);
        if (!inv) throw new Error(`faults: history: completion without invoke for process ${e.process}`);
        open.delete(e.process);
        (out[idx.get(inv) as number] as { done: HistoryEvent | undefined }).done = e;
      }
    }
    return out;
  }

  /**
   * Operations whose input is a register read/write/cas (whatever their name: a lock acquire
   * is a cas) as the linearizability checker's input: failed operations
   * are dropped (they did not happen), failed reads too; unknown ones end at Infinity.
   */
  kvOperations(): Operation[] {
    const ops: Operation[] = [];
    for (const { invoke, done } of this.pairs()) {
      const op = (invoke.value as { op?: unknown } | null)?.op;
      if (op !== 'read' && op !== 'write' && op !== 'cas') continue;
      if (!done || done.type === 'fail') continue;
      if (done.type === 'info' && invoke.f === 'read') continue;
      const input = invoke.value as KvInput;
      ops.push({
        clientId: invoke.process,
        input,
        output: done.type === 'ok' ? (done.value as KvOutput) : undefined,
        call: invoke.time,
        return: done.type === 'ok' ? done.time : Infinity,
      });
    }
    return ops;
  }
}
