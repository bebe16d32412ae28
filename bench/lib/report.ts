/** Small helpers shared by the benchmarks: quantiles, load average, Markdown tables. */
import { loadavg } from 'node:os';

/** The q-quantile (0..1) of already sorted numbers by nearest rank; NaN when empty. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}

export function median(xs: readonly number[]): number {
  return quantile([...xs].sort((a, b) => a - b), 0.5);
}

/** "load average 1.23 0.98 0.75 (2 cores)" as of now. */
export function loadLine(cores: number): string {
  return `load average ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')} (${cores} cores)`;
}

/** A GitHub-flavoured Markdown table. */
export function markdownTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** `a / b` with two decimals, or "n/a" when either is missing or b is 0. */
export function ratio(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return 'n/a';
  return (a / b).toFixed(2);
}
