/**
 * The server-side catalog service: what an agent's catalog and health reads and catalog writes
 * reach, in process today and over RPC once the integrator wires it.
 *
 * Contract:
 * - `read` serves one {@link CatalogQuery} from the local {@link StateStore} with Consul's
 *   blocking-query semantics: when `minIndex > 0` and the result's index is `<= minIndex`, it
 *   watches exactly the keys the read covers and re-reads on every wake-up until the index
 *   moves past `minIndex` or `waitMs` plus a random jitter of up to `waitMs / 16` has passed;
 *   then it answers with whatever the last read saw (the same index on a timeout). When the
 *   store's last index is below `minIndex` (state reset, e.g. a restore), it answers at once so
 *   the caller can start over. The index answered is always at least 1.
 * - A `filter` is compiled before anything blocks; a bad one is a {@link CatalogError}
 *   `bad-request` naming the problem and position. So is an unknown check state.
 * - `write` hands the command to `propose` (Raft propose-and-wait-for-apply on a server,
 *   {@link LocalApplier} on a single node without Raft) and returns its {@link ApplyResult}.
 * - Requests and answers are plain data. Watchers of the same query woken at the same store
 *   index share one re-read (so 1000 watchers of one service cost one read): answers are
 *   shared and must be treated as read-only.
 * - Woken reads are answered in wake order, at most `wakeBatch` per turn: the first batch
 *   right after the apply that woke them (a microtask), each further batch after yielding
 *   to the event loop (`defer`), so the answers of an early batch reach their sockets while
 *   later ones are still being prepared instead of all answers waiting for the last one.
 */
import { compileFilter, FilterError } from './filter.js';
import { CatalogError } from './errors.js';
import type { CatalogQuery, CatalogQueryValue, CatalogReadRequest, CatalogReadResponse, ReadCancel } from './query.js';
import { StateError, type ApplyResult, type Command, type HealthStatus, type ReadResult, type StateStore } from './state/index.js';
import type { Timers } from './timers.js';

/** What the answering server knows about the Raft leader. */
export interface LeaderStatus {
  knownLeader: boolean;
  /** Milliseconds since this server last heard from the leader (0 on the leader itself). */
  lastContactMs: number;
}

export interface CatalogEndpointOptions {
  store: StateStore;
  /** Commits a command and resolves once it is applied to `store` (or refused). */
  propose: (cmd: Command) => Promise<ApplyResult>;
  timers: Timers;
  /** Uniform in [0, 1): the blocking-query jitter. */
  rng: () => number;
  /** Defaults to a known leader with no delay (a single node is its own leader). */
  status?: () => LeaderStatus;
  /** Woken reads answered per turn before yielding; default {@link DEFAULT_WAKE_BATCH}. */
  wakeBatch?: number;
  /** Runs `fn` on a later turn of the event loop, after pending I/O; default `setImmediate`. */
  defer?: (fn: () => void) => void;
}

/**
 * Woken reads answered per event-loop turn by default (see the class contract). It bounds
 * how long one write's wake-ups hold the event loop, not more: answers are written as soon
 * as each read is ready, and yielding between small batches made the last answer later
 * (each turn first runs the previous batch's after-write work), measured on 1000 watchers.
 */
export const DEFAULT_WAKE_BATCH = 1024;

/** Consul adds up to wait/16 of random jitter to a blocking query's wait. */
export const JITTER_FRACTION = 16;

export class CatalogEndpoint {
  private readonly store: StateStore;
  private readonly propose: (cmd: Command) => Promise<ApplyResult>;
  private readonly timers: Timers;
  private readonly rng: () => number;
  private readonly status: () => LeaderStatus;
  private readonly wakeBatch: number;
  private readonly defer: (fn: () => void) => void;
  /** Woken reads waiting for their re-read, in wake order. */
  private readonly wakeQueue: Array<() => void> = [];
  private drainScheduled = false;
  /** Re-reads made by wake-ups at store index {@link wakeReadsAt}, by query; emptied when the queue is. */
  private readonly wakeReads = new Map<string, ReadResult<unknown>>();
  private wakeReadsAt = -1;

  constructor(opts: CatalogEndpointOptions) {
    this.store = opts.store;
    this.propose = opts.propose;
    this.timers = opts.timers;
    this.rng = opts.rng;
    this.status = opts.status ?? (() => ({ knownLeader: true, lastContactMs: 0 }));
    this.wakeBatch = Math.max(1, opts.wakeBatch ?? DEFAULT_WAKE_BATCH);
    this.defer = opts.defer ?? ((fn) => void setImmediate(fn));
  }

  /** Queues a woken read; the first wake after a quiet period is drained in a microtask. */
  private enqueueWake(wake: () => void): void {
    this.wakeQueue.push(wake);
    if (this.drainScheduled) return;
    this.drainScheduled = true;
    queueMicrotask(this.drain);
  }

  /**
   * Answers up to `wakeBatch` woken reads, then yields to the event loop if more wait. A wake
   * that throws (a broken invariant) does not stall the queue: the rest of the batch runs,
   * the next batch is scheduled, then the first error is rethrown.
   */
  private readonly drain = (): void => {
    const batch = this.wakeQueue.splice(0, this.wakeBatch);
    let failed = false;
    let first: unknown;
    for (const wake of batch) {
      try {
        wake();
      } catch (err) {
        if (!failed) (failed = true), (first = err);
      }
    }
    if (this.wakeQueue.length > 0) {
      this.defer(this.drain);
    } else {
      this.drainScheduled = false;
      this.wakeReads.clear();
      this.wakeReadsAt = -1;
    }
    if (failed) throw first;
  };

  /** Commits a catalog write (Register, Deregister or Batch). */
  write(cmd: Command): Promise<ApplyResult> {
    return this.propose(cmd);
  }

  /**
   * Serves a read, blocking as described on the class. `signal` (in-process callers only; an
   * `AbortSignal` or a lighter {@link ReadCancel}) stops a blocked read early: it then answers
   * with the last result, like a timeout.
   */
  read<Q extends CatalogQuery>(req: CatalogReadRequest<Q>, signal?: ReadCancel): Promise<CatalogReadResponse<CatalogQueryValue<Q>>> {
    let filter: ((v: unknown) => boolean) | undefined;
    if (req.filter !== undefined && req.filter !== '') {
      try {
        filter = compileFilter(req.filter);
      } catch (e) {
        if (e instanceof FilterError) {
          return Promise.reject(new CatalogError('bad-request', `Failed to create boolean expression evaluator: ${e.message}`, { cause: e }));
        }
        return Promise.reject(e);
      }
    }
    const run = (): ReadResult<unknown> => this.execute(req.query, filter);
    const key = JSON.stringify([req.query, req.filter ?? '']);
    const rerun = (): ReadResult<unknown> => {
      // Every change to the state moves lastIndex, so reads at one index are equal.
      if (this.wakeReadsAt !== this.store.lastIndex) {
        this.wakeReads.clear();
        this.wakeReadsAt = this.store.lastIndex;
      }
      let r = this.wakeReads.get(key);
      if (r === undefined) this.wakeReads.set(key, (r = run()));
      return r;
    };
    const answer = (r: ReadResult<unknown>): CatalogReadResponse<CatalogQueryValue<Q>> => {
      const s = this.status();
      return { value: r.value as CatalogQueryValue<Q>, index: Math.max(1, r.index), knownLeader: s.knownLeader, lastContactMs: s.lastContactMs };
    };

    let first: ReadResult<unknown>;
    try {
      first = run();
    } catch (e) {
      return Promise.reject(e);
    }
    const minIndex = req.minIndex;
    const fresh = (r: ReadResult<unknown>): boolean => minIndex <= 0 || r.index > minIndex || this.store.lastIndex < minIndex;
    if (fresh(first) || signal?.aborted) return Promise.resolve(answer(first));

    const waitMs = Math.max(0, req.waitMs);
    const timeoutMs = waitMs + this.rng() * (waitMs / JITTER_FRACTION);
    return new Promise((resolve, reject) => {
      let last = first;
      let cancelWatch: (() => void) | undefined;
      let done = false;
      const finish = (err?: unknown): void => {
        if (done) return;
        done = true;
        cancelWatch?.();
        cancelWatch = undefined;
        this.timers.clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (err !== undefined) reject(err);
        else resolve(answer(last));
      };
      const onAbort = (): void => finish();
      const arm = (): void => {
        // The watch fires synchronously inside an apply; re-read after it returns.
        cancelWatch = this.store.watch(last.watch, () => {
          cancelWatch = undefined;
          this.enqueueWake(wake);
        });
      };
      const wake = (): void => {
        if (done) return;
        try {
          last = rerun();
        } catch (e) {
          finish(e);
          return;
        }
        if (fresh(last)) finish();
        else arm();
      };
      const timer = this.timers.setTimeout(() => {
        if (done) return;
        try {
          last = run();
        } catch (e) {
          finish(e);
          return;
        }
        finish();
      }, timeoutMs);
      signal?.addEventListener('abort', onAbort);
      arm();
    });
  }

  /** One read of the store, with the filter applied to the answer's elements. */
  private execute(q: CatalogQuery, filter: ((v: unknown) => boolean) | undefined): ReadResult<unknown> {
    const s = this.store;
    const list = <T>(r: ReadResult<T[]>): ReadResult<T[]> => (filter ? { ...r, value: r.value.filter(filter) } : r);
    switch (q.op) {
      case 'nodes':
        return list(s.nodes());
      case 'node': {
        const r = s.node(q.node);
        if (!filter || r.value === null) return r;
        const Services = Object.fromEntries(Object.entries(r.value.Services).filter(([, v]) => filter(v)));
        return { ...r, value: { ...r.value, Services } };
      }
      case 'nodeServices': {
        const r = s.nodeServices(q.node);
        if (!filter || r.value === null) return r;
        return { ...r, value: { ...r.value, Services: r.value.Services.filter(filter) } };
      }
      case 'services': {
        if (!filter) return s.services();
        const r = s.allServiceNodes();
        const tags = new Map<string, Set<string>>();
        for (const inst of r.value) {
          if (!filter(inst)) continue;
          let set = tags.get(inst.ServiceName);
          if (set === undefined) tags.set(inst.ServiceName, (set = new Set()));
          for (const t of inst.ServiceTags) set.add(t);
        }
        const value: Record<string, string[]> = {};
        for (const name of [...tags.keys()].sort()) value[name] = [...tags.get(name)!].sort();
        return { ...r, value };
      }
      case 'serviceNodes':
        return list(s.serviceNodes(q.service, { tags: q.tags ?? [] }));
      case 'checkServiceNodes':
        return list(s.checkServiceNodes(q.service, { tags: q.tags ?? [], passingOnly: q.passingOnly ?? false }));
      case 'nodeChecks':
        return list(s.nodeChecks(q.node));
      case 'serviceChecks':
        return list(s.serviceChecks(q.service));
      case 'checksInState':
        try {
          return list(s.checksInState(q.state as HealthStatus | 'any'));
        } catch (e) {
          if (e instanceof StateError) throw new CatalogError('bad-request', `Invalid check state "${q.state}"`, { cause: e });
          throw e;
        }
      case 'kvGet':
        return s.kvGet(q.key);
      case 'kvList':
        return list(s.kvList(q.prefix));
      case 'kvKeys':
        return s.kvKeys(q.prefix, q.separator ?? '');
      case 'sessionGet':
        return s.sessionGet(q.id);
      case 'sessionList':
        return list(s.sessionList());
      case 'nodeSessions':
        return list(s.nodeSessions(q.node));
      case 'txnRead':
        try {
          return s.txnRead(q.ops);
        } catch (e) {
          if (e instanceof StateError) throw new CatalogError('bad-request', e.message, { cause: e });
          throw e;
        }
      case 'snapshot':
        return { value: { data: s.snapshot(), index: s.lastIndex }, index: s.lastIndex, watch: [] };
      default:
        throw new CatalogError('bad-request', `catalog: unknown read "${(q as { op: unknown }).op}"`);
    }
  }
}
