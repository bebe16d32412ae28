/**
 * Consul's CLI takes long flags with one dash (`-dev`, `-bootstrap-expect=3`); commander
 * wants two. Every token that looks like a single-dash long flag is rewritten to the
 * double-dash form, up to a `--` terminator, after which tokens pass through untouched.
 * One-letter flags (`-h`) and negative numbers are left alone.
 */
const SINGLE_DASH_LONG = /^-[a-zA-Z][a-zA-Z0-9-]*[a-zA-Z0-9](=[\s\S]*)?$/;

export function normalizeArgs(argv: readonly string[]): string[] {
  const out: string[] = [];
  let converting = true;
  for (const tok of argv) {
    if (converting && tok === '--') converting = false;
    out.push(converting && SINGLE_DASH_LONG.test(tok) ? `-${tok}` : tok);
  }
  return out;
}
