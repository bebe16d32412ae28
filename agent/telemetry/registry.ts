/**
 * A small metrics registry with Consul's two renderings: the JSON of
 * `GET /v1/agent/metrics` (go-metrics' in-memory sink: Timestamp, Gauges, Points, Counters,
 * Samples) and the Prometheus text exposition format (`?format=prometheus`).
 *
 * Contract:
 * - A metric is a name plus labels; the same name must keep one kind (counter, gauge or
 *   sample) — using it as another kind throws, a broken invariant.
 * - Counters and samples aggregate since the registry was created (Count, Sum, Min, Max,
 *   Mean, Stddev; Rate is Sum per second since then). Samples also keep the last
 *   {@link RESERVOIR} values for the Prometheus summary quantiles.
 * - Collectors run at each render and set gauges computed on scrape (catalog sizes, gossip
 *   state); a collector that throws is skipped, it never breaks a scrape.
 * - Time comes from an injected `now` (ms).
 */

/** Values kept per sample series for quantiles. */
export const RESERVOIR = 1024;
const QUANTILES = [0.5, 0.9, 0.99];

export type Labels = Record<string, string>;
type Kind = 'counter' | 'gauge' | 'sample';

interface Agg {
  labels: Labels;
  count: number;
  sum: number;
  sumSq: number;
  min: number;
  max: number;
  /** The last {@link RESERVOIR} values, as a ring: `next` is where the next one goes once it is full. */
  recent: number[];
  next: number;
}

interface Series {
  kind: Kind;
  byLabels: Map<string, Agg | { labels: Labels; value: number }>;
}

/** One counter or sample in Consul's JSON. */
export interface AggregateJson {
  Name: string;
  Count: number;
  Rate: number;
  Sum: number;
  Min: number;
  Max: number;
  Mean: number;
  Stddev: number;
  Labels: Labels;
}

export interface MetricsJson {
  Timestamp: string;
  Gauges: Array<{ Name: string; Value: number; Labels: Labels }>;
  Points: unknown[];
  Counters: AggregateJson[];
  Samples: AggregateJson[];
}

export class Telemetry {
  private readonly series = new Map<string, Series>();
  private readonly collectors: Array<(t: Telemetry) => void> = [];
  private readonly startMs: number;

  constructor(private readonly now: () => number = Date.now) {
    this.startMs = now();
  }

  /** Adds `value` (default 1) to counter `name`. */
  counter(name: string, labels: Labels = {}, value = 1): void {
    this.aggregate('counter', name, labels, value);
  }

  /**
   * Sets counter `name` to a running total kept elsewhere (e.g. gossip packet counts): Sum
   * and Count become `total`.
   */
  counterTotal(name: string, total: number, labels: Labels = {}): void {
    const s = this.seriesOf(name, 'counter');
    s.byLabels.set(labelKey(labels), { labels: { ...labels }, count: total, sum: total, sumSq: total, min: 1, max: 1, recent: [], next: 0 });
  }

  /** Records one observation (e.g. a duration in ms) of sample `name`. */
  sample(name: string, value: number, labels: Labels = {}): void {
    this.aggregate('sample', name, labels, value);
  }

  /**
   * A recorder for one series of sample `name`: the same as calling {@link sample} with these
   * labels, without finding the series again on every call (for per-request paths); the
   * series is created at the first call.
   */
  sampler(name: string, labels: Labels = {}): (value: number) => void {
    let a: Agg | undefined;
    return (value) => record((a ??= this.aggOf('sample', name, labels)), true, value);
  }

  /**
   * A recorder for one series of counter `name` (adds its argument, default 1): the same as
   * {@link counter} with these labels; the series is created at the first call.
   */
  counterOf(name: string, labels: Labels = {}): (value?: number) => void {
    let a: Agg | undefined;
    return (value = 1) => record((a ??= this.aggOf('counter', name, labels)), false, value);
  }

  /**
   * A timer for one series of sample `name`: times each call of the returned function's
   * argument (ms, by the injected clock) into it, failures too; the series is created at the
   * first sample.
   */
  timer(name: string, labels: Labels = {}): <T>(fn: () => Promise<T>) => Promise<T> {
    let a: Agg | undefined;
    return async (fn) => {
      const t0 = this.now();
      try {
        return await fn();
      } finally {
        record((a ??= this.aggOf('sample', name, labels)), true, this.now() - t0);
      }
    };
  }

  /** Sets gauge `name` to `value`. */
  gauge(name: string, value: number, labels: Labels = {}): void {
    const s = this.seriesOf(name, 'gauge');
    s.byLabels.set(labelKey(labels), { labels: { ...labels }, value });
  }

  /** Drops every value of gauge `name` (a collector that recomputes a labelled family). */
  resetGauge(name: string): void {
    const s = this.series.get(name);
    if (s?.kind === 'gauge') s.byLabels.clear();
  }

  /** Runs `fn` before every render; it sets gauges from current state. */
  addCollector(fn: (t: Telemetry) => void): void {
    this.collectors.push(fn);
  }

  /** Consul's JSON form. */
  json(): MetricsJson {
    this.collect();
    const out: MetricsJson = { Timestamp: goTimestamp(this.now()), Gauges: [], Points: [], Counters: [], Samples: [] };
    const secs = Math.max((this.now() - this.startMs) / 1000, 1);
    for (const [name, s] of [...this.series].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      for (const v of s.byLabels.values()) {
        if (s.kind === 'gauge') {
          const g = v as { labels: Labels; value: number };
          out.Gauges.push({ Name: name, Value: g.value, Labels: g.labels });
          continue;
        }
        const a = v as Agg;
        const mean = a.count ? a.sum / a.count : 0;
        const variance = a.count > 1 ? Math.max((a.sumSq - a.count * mean * mean) / (a.count - 1), 0) : 0;
        const entry: AggregateJson = {
          Name: name, Count: a.count, Rate: a.sum / secs, Sum: a.sum, Min: a.min, Max: a.max, Mean: mean, Stddev: Math.sqrt(variance), Labels: a.labels,
        };
        (s.kind === 'counter' ? out.Counters : out.Samples).push(entry);
      }
    }
    return out;
  }

  /** Prometheus text exposition format (version 0.0.4). */
  prometheus(): string {
    this.collect();
    const lines: string[] = [];
    for (const [name, s] of [...this.series].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      if (s.byLabels.size === 0) continue;
      const n = promName(name);
      const type = s.kind === 'sample' ? 'summary' : s.kind;
      lines.push(`# HELP ${n} ${name}`, `# TYPE ${n} ${type}`);
      for (const v of s.byLabels.values()) {
        if (s.kind === 'gauge') {
          const g = v as { labels: Labels; value: number };
          lines.push(`${n}${promLabels(g.labels)} ${promNum(g.value)}`);
        } else if (s.kind === 'counter') {
          const a = v as Agg;
          lines.push(`${n}${promLabels(a.labels)} ${promNum(a.sum)}`);
        } else {
          const a = v as Agg;
          const sorted = [...a.recent].sort((x, y) => x - y);
          for (const q of QUANTILES) {
            const val = sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! : NaN;
            lines.push(`${n}${promLabels({ ...a.labels, quantile: String(q) })} ${promNum(val)}`);
          }
          lines.push(`${n}_sum${promLabels(a.labels)} ${promNum(a.sum)}`, `${n}_count${promLabels(a.labels)} ${a.count}`);
        }
      }
    }
    return lines.length ? `${lines.join('\n')}\n` : '';
  }

  private collect(): void {
    for (const fn of this.collectors) {
      try {
        fn(this);
      } catch {
        // A failing collector only leaves its gauges stale.
      }
    }
  }

  private seriesOf(name: string, kind: Kind): Series {
    let s = this.series.get(name);
    if (!s) this.series.set(name, (s = { kind, byLabels: new Map() }));
    if (s.kind !== kind) throw new Error(`telemetry: metric "${name}" is a ${s.kind}, not a ${kind}`);
    return s;
  }

  private aggOf(kind: Kind, name: string, labels: Labels): Agg {
    const s = this.seriesOf(name, kind);
    const key = labelKey(labels);
    let a = s.byLabels.get(key) as Agg | undefined;
    if (!a) s.byLabels.set(key, (a = { labels: { ...labels }, count: 0, sum: 0, sumSq: 0, min: Infinity, max: -Infinity, recent: [], next: 0 }));
    return a;
  }

  private aggregate(kind: Kind, name: string, labels: Labels, value: number): void {
    record(this.aggOf(kind, name, labels), kind === 'sample', value);
  }
}

function record(a: Agg, keep: boolean, value: number): void {
  a.count++;
  a.sum += value;
  a.sumSq += value * value;
  if (value < a.min) a.min = value;
  if (value > a.max) a.max = value;
  if (keep) {
    if (a.recent.length < RESERVOIR) a.recent.push(value);
    else {
      a.recent[a.next] = value;
      a.next = (a.next + 1) % RESERVOIR;
    }
  }
}

/** An unambiguous key for a label set (length-prefixed, sorted by name); on every request's path, so cheap. */
function labelKey(labels: Labels): string {
  const keys = Object.keys(labels);
  if (keys.length > 1) keys.sort();
  let out = '';
  for (const k of keys) {
    const v = labels[k]!;
    out += `${k.length}:${k}${v.length}:${v}`;
  }
  return out;
}

/** Prometheus metric names allow [a-zA-Z0-9_:]; Consul's sink turns every other character into '_'. */
export function promName(name: string): string {
  const n = name.replace(/[^a-zA-Z0-9_:]/g, '_');
  return /^[0-9]/.test(n) ? `_${n}` : n;
}

function promLabels(labels: Labels): string {
  const keys = Object.keys(labels).sort();
  if (keys.length === 0) return '';
  const esc = (v: string): string => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
  return `{${keys.map((k) => `${promName(k)}="${esc(labels[k]!)}"`).join(',')}}`;
}

function promNum(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/** Go's time.Time String() form that Consul's JSON carries, e.g. "2017-08-08 02:55:10 +0000 UTC". */
function goTimestamp(ms: number): string {
  return `${new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, '')} +0000 UTC`;
}
