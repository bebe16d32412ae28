/**
 * Go-style durations ("500ms", "10s", "1m30s", "72h"), the form Consul's config and API use.
 * Returns milliseconds; throws {@link DurationError} on anything else.
 */
export class DurationError extends Error {
  override name = 'DurationError';
}

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  'µs': 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

const PART = /(\d+(?:\.\d+)?|\.\d+)(ns|us|µs|ms|s|m|h)/y;

export function parseDuration(input: string): number {
  const s = input.trim();
  if (s === '0') return 0;
  if (s === '') throw new DurationError('empty duration');
  let i = 0;
  let sign = 1;
  if (s[0] === '-' || s[0] === '+') {
    sign = s[0] === '-' ? -1 : 1;
    i = 1;
  }
  let total = 0;
  let parts = 0;
  while (i < s.length) {
    PART.lastIndex = i;
    const m = PART.exec(s);
    if (!m) throw new DurationError(`invalid duration "${input}" (use a number with a unit: ns, us, ms, s, m, h; e.g. "10s", "1m30s")`);
    total += Number(m[1]) * (UNIT_MS[m[2] as string] as number);
    i = PART.lastIndex;
    parts++;
  }
  if (parts === 0) throw new DurationError(`invalid duration "${input}"`);
  return sign * total;
}

/** Formats milliseconds the way Go's time.Duration.String does (e.g. 90000 → "1m30s"). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  const neg = ms < 0;
  let rest = Math.abs(ms);
  let out = '';
  if (rest < 1000) {
    out = `${+rest.toFixed(6)}ms`;
  } else {
    const h = Math.floor(rest / 3_600_000);
    rest -= h * 3_600_000;
    const m = Math.floor(rest / 60_000);
    rest -= m * 60_000;
    const sec = +(rest / 1000).toFixed(9);
    if (h) out += `${h}h`;
    if (h || m) out += `${m}m`;
    out += `${sec}s`;
  }
  return neg ? `-${out}` : out;
}
