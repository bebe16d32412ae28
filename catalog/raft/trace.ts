/**
 * Opt-in latency tracing of the write path (HTTP request → propose → Ready → persist →
 * follower acknowledgement → apply → answer), for finding where a write's time goes under
 * load. Enabled by the environment variable `HERALD_TRACE_KV=<file>`; when it is unset every
 * hook is one boolean test. The summary (percentiles per phase, Ready batch sizes and cycle
 * times, event-loop delay) is written as JSON to `<file>.<pid>.json` on SIGUSR2.
 *
 * Not a metrics API: the numbers exist for benchmarking sessions only.
 */
import { monitorEventLoopDelay, performance, PerformanceObserver, type IntervalHistogram } from 'node:perf_hooks';
import { writeFileSync } from 'node:fs';

/** Timestamps (performance.now(), ms) of one traced write; 0 = not reached. */
export interface WriteTrace {
  /** The HTTP request event (headers parsed). */
  http: number;
  /** Gap since this connection's previous answer finished (wrk's turnaround + our read delay). */
  gap: number;
  /** Body read, route about to propose. */
  body: number;
  /** RaftNode.propose called. */
  propose: number;
  /** The proposal reached the core (index assigned). */
  step: number;
  /** The Ready carrying the entry was taken from the core. */
  ready: number;
  /** That Ready's storage write finished. */
  persisted: number;
  /** First follower acknowledgement covering the entry. */
  ack: number;
  /** Applied to the state machine (proposal resolved). */
  applied: number;
  /** The route resumed and wrote its answer. */
  respond: number;
  /** The answer was handed to the socket ('finish'). */
  finish: number;
  /** Size (entries) of the Ready that carried it. */
  batch: number;
  index: number;
}

/** One Ready's timings. */
export interface ReadyTrace {
  start: number;
  end: number;
  persistMs: number;
  entries: number;
  committed: number;
  idleBeforeMs: number;
}

class Tracer {
  readonly enabled: boolean;
  private readonly file: string;
  /** The write whose synchronous call chain is running (set by the HTTP route, taken by propose). */
  current: WriteTrace | undefined;
  private readonly byIndex = new Map<number, WriteTrace>();
  private readonly done: WriteTrace[] = [];
  private readonly readies: ReadyTrace[] = [];
  private lastReadyEnd = 0;
  private elu: IntervalHistogram | undefined;

  constructor() {
    const f = typeof process !== 'undefined' ? process.env['HERALD_TRACE_KV'] : undefined;
    this.enabled = !!f;
    this.file = f ?? '';
    if (this.enabled) {
      this.elu = monitorEventLoopDelay({ resolution: 1 });
      this.elu.enable();
      const obs = new PerformanceObserver((list) => {
        for (const e of list.getEntries()) if (this.gcs.length < 100_000) this.gcs.push([e.startTime, e.duration, ((e as unknown as { detail?: { kind?: number } }).detail?.kind ?? 0)]);
      });
      obs.observe({ entryTypes: ['gc'] });
      process.on('SIGUSR2', () => this.dump());
    }
  }

  now(): number {
    return performance.now();
  }

  /** Traced HTTP requests by their request object. */
  readonly requests = new WeakMap<object, WriteTrace>();
  private readonly lastFinish = new WeakMap<object, number>();

  /** Starts tracing an HTTP request on `socket`; `finished` is called by the caller on 'finish'. */
  httpRequest(req: object, socket: object): WriteTrace {
    const now = this.now();
    const prev = this.lastFinish.get(socket);
    const t = this.newWrite(now, prev === undefined ? NaN : now - prev);
    this.requests.set(req, t);
    return t;
  }

  httpFinished(t: WriteTrace, socket: object): void {
    this.finished(t);
    this.lastFinish.set(socket, t.finish);
  }

  newWrite(http: number, gap: number): WriteTrace {
    return { http, gap, body: 0, propose: 0, step: 0, ready: 0, persisted: 0, ack: 0, applied: 0, respond: 0, finish: 0, batch: 0, index: 0 };
  }

  stepped(t: WriteTrace, index: number): void {
    t.step = this.now();
    t.index = index;
    this.byIndex.set(index, t);
  }

  readyTaken(first: number, last: number, committed: number): ReadyTrace {
    const now = this.now();
    const n = last >= first ? last - first + 1 : 0;
    for (let i = first; i <= last; i++) {
      const t = this.byIndex.get(i);
      if (t) (t.ready = now), (t.batch = n);
    }
    const r: ReadyTrace = { start: now, end: 0, persistMs: 0, entries: n, committed, idleBeforeMs: this.lastReadyEnd ? now - this.lastReadyEnd : 0 };
    return r;
  }

  persisted(r: ReadyTrace, first: number, last: number): void {
    const now = this.now();
    r.persistMs = now - r.start;
    for (let i = first; i <= last; i++) {
      const t = this.byIndex.get(i);
      if (t) t.persisted = now;
    }
  }

  readyDone(r: ReadyTrace): void {
    r.end = this.lastReadyEnd = this.now();
    if (this.readies.length < 1_000_000) this.readies.push(r);
  }

  acked(index: number): void {
    const now = this.now();
    for (const [i, t] of this.byIndex) if (i <= index && t.ack === 0) t.ack = now;
  }

  applied(index: number): void {
    const t = this.byIndex.get(index);
    if (!t) return;
    t.applied = this.now();
    this.byIndex.delete(index);
  }

  private readonly snapshots: number[] = [];
  /** [start, duration, kind] of each GC pause. */
  private readonly gcs: [number, number, number][] = [];

  snapshotTaken(ms: number): void {
    this.snapshots.push(ms);
  }

  finished(t: WriteTrace): void {
    t.finish = this.now();
    if (this.done.length < 1_000_000) this.done.push(t);
  }

  /**
   * Per `ms`-wide window of finish times: [window start (ms since the first), writes, mean and max
   * server time, GC ms, then the means of step→ready, ready→persisted, ready→ack, applied→finish].
   */
  private windows(ws: WriteTrace[], ms: number): number[][] {
    if (ws.length === 0) return [];
    const t0 = ws[0]!.finish;
    const out: number[][] = [];
    for (const t of ws) {
      const i = Math.floor((t.finish - t0) / ms);
      while (out.length <= i) out.push([out.length * ms, 0, 0, 0, 0, 0, 0, 0, 0]);
      const w = out[i]!;
      const d = t.finish - t.http;
      w[1]! += 1;
      w[2]! += d;
      w[3] = Math.max(w[3]!, d);
      w[5]! += t.ready - t.step;
      w[6]! += t.persisted - t.ready;
      w[7]! += t.ack - t.ready;
      w[8]! += t.finish - t.applied;
    }
    for (const [st, d] of this.gcs) {
      const i = Math.floor((st - t0) / ms);
      if (i >= 0 && i < out.length) out[i]![4]! += d;
    }
    const r = (x: number): number => Math.round(x * 100) / 100;
    return out.map((w) => {
      const n = Math.max(1, w[1]!);
      return [w[0]!, w[1]!, r(w[2]! / n), r(w[3]!), r(w[4]!), r(w[5]! / n), r(w[6]! / n), r(w[7]! / n), r(w[8]! / n)];
    });
  }

  private slowBySecond(ws: WriteTrace[]): number[] {
    if (ws.length === 0) return [];
    const total = (t: WriteTrace): number => (Number.isFinite(t.gap) ? t.gap : 0) + t.finish - t.http;
    const sorted = ws.map(total).sort((a, b) => a - b);
    const p99 = sorted[Math.floor(sorted.length * 0.99)]!;
    const out: number[] = [];
    for (const t of ws) {
      const i = Math.floor((t.finish - ws[0]!.finish) / 1000);
      while (out.length <= i) out.push(0);
      if (total(t) > p99) out[i]!++;
    }
    return out;
  }

  /** Mean of each phase over the slowest 1% of writes (gap + server time), against all writes. */
  private tailBreakdown(ws: WriteTrace[]): Record<string, [number, number]> {
    const total = (t: WriteTrace): number => (Number.isFinite(t.gap) ? t.gap : 0) + t.finish - t.http;
    const sorted = [...ws].sort((a, b) => total(a) - total(b));
    const slow = sorted.slice(Math.floor(sorted.length * 0.99));
    const steps: [string, (t: WriteTrace) => number][] = [
      ['gap', (t) => (Number.isFinite(t.gap) ? t.gap : 0)],
      ['http->propose', (t) => t.propose - t.http],
      ['propose->ready', (t) => t.ready - t.propose],
      ['ready->persisted', (t) => t.persisted - t.ready],
      ['ready->ack', (t) => t.ack - t.ready],
      ['ready->applied', (t) => t.applied - t.ready],
      ['applied->finish', (t) => t.finish - t.applied],
      ['total', total],
      ['batch', (t) => t.batch],
    ];
    const mean = (xs: WriteTrace[], f: (t: WriteTrace) => number): number => Math.round((xs.reduce((a, t) => a + f(t), 0) / Math.max(1, xs.length)) * 1000) / 1000;
    // GC time inside each write's [http, finish] window.
    const gcIn = (t: WriteTrace): number => {
      let sum = 0;
      for (const [st, d] of this.gcs) {
        if (st > t.finish) break;
        const a = Math.max(st, t.http);
        const b = Math.min(st + d, t.finish);
        if (b > a) sum += b - a;
      }
      return sum;
    };
    steps.push(['gc inside', gcIn]);
    const out: Record<string, [number, number]> = {};
    for (const [name, f] of steps) out[name] = [mean(slow, f), mean(ws.length > 5000 ? ws.filter((_, i) => i % Math.ceil(ws.length / 5000) === 0) : ws, f)];
    return out;
  }

  private dump(): void {
    const pct = (xs: number[]): Record<string, number> => {
      const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
      const q = (p: number): number => (s.length ? Math.round(s[Math.min(s.length - 1, Math.floor(p * s.length))]! * 1000) / 1000 : NaN);
      return { n: s.length, p50: q(0.5), p90: q(0.9), p99: q(0.99), p999: q(0.999), max: s.length ? Math.round(s[s.length - 1]! * 1000) / 1000 : NaN };
    };
    const ws = this.done.filter((t) => t.applied > 0 && t.respond > 0);
    const d = (a: keyof WriteTrace, b: keyof WriteTrace): Record<string, number> => pct(ws.filter((t) => t[a] > 0 && t[b] > 0).map((t) => (t[b] as number) - (t[a] as number)));
    const out = {
      writes: ws.length,
      phases: {
        'gap (prev finish -> http)': pct(ws.map((t) => t.gap)),
        'http -> body': d('http', 'body'),
        'body -> propose': d('body', 'propose'),
        'propose -> step': d('propose', 'step'),
        'step -> ready': d('step', 'ready'),
        'ready -> persisted': d('ready', 'persisted'),
        'ready -> ack': d('ready', 'ack'),
        'ready -> applied': d('ready', 'applied'),
        'persisted -> applied': d('persisted', 'applied'),
        'ack -> applied': d('ack', 'applied'),
        'applied -> respond': d('applied', 'respond'),
        'respond -> finish': d('respond', 'finish'),
        'http -> finish (server total)': d('http', 'finish'),
        'gap + server total': pct(ws.map((t) => t.gap + t.finish - t.http)),
        'gap + server total, after the first second': pct(ws.filter((t) => t.finish - ws[0]!.finish > 1000).map((t) => t.gap + t.finish - t.http)),
        'gap + server total, after 2 s': pct(ws.filter((t) => t.finish - ws[0]!.finish > 2000).map((t) => t.gap + t.finish - t.http)),
      },
      tail: this.tailBreakdown(ws),
      windows: this.windows(ws, 20),
      // Per second of the run: how many writes were slower (gap + server total) than the run's p99.
      slowerThanP99BySecond: this.slowBySecond(ws),
      batch: pct(ws.map((t) => t.batch)),
      readies: {
        n: this.readies.length,
        entries: pct(this.readies.map((r) => r.entries)),
        entriesNonEmpty: pct(this.readies.filter((r) => r.entries > 0).map((r) => r.entries)),
        committed: pct(this.readies.map((r) => r.committed)),
        cycleMs: pct(this.readies.map((r) => r.end - r.start)),
        persistMs: pct(this.readies.filter((r) => r.entries > 0).map((r) => r.persistMs)),
        idleBeforeMs: pct(this.readies.map((r) => r.idleBeforeMs)),
      },
      gc: {
        n: this.gcs.length,
        totalMs: Math.round(this.gcs.reduce((a, g) => a + g[1], 0) * 100) / 100,
        byKind: Object.fromEntries([...new Set(this.gcs.map((g) => g[2]))].map((k) => [k, pct(this.gcs.filter((g) => g[2] === k).map((g) => g[1]))])),
      },
      // Mark-compact pauses (kind 4): [ms since the first traced answer, duration ms].
      majorGcs: this.gcs.filter((g) => g[2] === 4).map((g) => [Math.round(g[0] - (ws[0]?.finish ?? 0)), Math.round(g[1] * 100) / 100]),
      snapshotsMs: this.snapshots.map((x) => Math.round(x * 100) / 100),
      eventLoopDelayMs: this.elu
        ? { p50: this.elu.percentile(50) / 1e6, p90: this.elu.percentile(90) / 1e6, p99: this.elu.percentile(99) / 1e6, max: this.elu.max / 1e6, count: this.elu.count }
        : undefined,
    };
    writeFileSync(`${this.file}.${process.pid}.json`, JSON.stringify(out, null, 1));
    this.done.length = 0;
    this.readies.length = 0;
    this.snapshots.length = 0;
    this.gcs.length = 0;
    this.elu?.reset();
  }
}

/** The process-wide write tracer; {@link Tracer.enabled} is false unless `HERALD_TRACE_KV` is set. */
export const writeTracer = new Tracer();
