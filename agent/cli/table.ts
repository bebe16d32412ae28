/**
 * Aligns rows into columns the way Consul's CLI output does (ryanuber/columnize defaults):
 * cells left-aligned, columns separated by two spaces, no trailing padding.
 */
export function columns(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows
    .map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd())
    .join('\n');
}

/** `k1=v1, k2=v2` with keys sorted, as Consul prints maps in tables. */
export function formatMap(m: Record<string, string> | undefined): string {
  return Object.keys(m ?? {})
    .sort()
    .map((k) => `${k}=${m![k]}`)
    .join(', ');
}
