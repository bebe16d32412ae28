/**
 * Consul's CLI takes long flags with one dash (`-dev`, `-bootstrap-expect=3`); commander
 * wants two. Every token that looks like a single-dash long flag is rewritten to the
 * double-dash form, up to a `--` terminator, after which tokens pass through untouched.
 * One-letter flags (`-h`) and negative numbers are left alone.
 *
 * `lock` runs a child command whose own flags must reach it unchanged:
 * `herald lock [lock flags] prefix command args...`. Conversion stops at the first positional
 * after `lock`'s flags (the prefix), and a `--` is inserted after the prefix (unless one is
 * already there) so that commander passes everything after it to the child.
 */
const SINGLE_DASH_LONG = /^-[a-zA-Z][a-zA-Z0-9-]*[a-zA-Z0-9](=[\s\S]*)?$/;

/** Flags (without dashes) that take a separate value token, at the top level and on `lock`. */
const VALUE_FLAGS = new Set(['http-addr', 'n', 'timeout', 'name', 'monitor-retry', 'lock-delay', 'token']);

const isFlag = (tok: string): boolean => tok.startsWith('-') && tok !== '-' && !/^-\d/.test(tok);
const takesValue = (tok: string): boolean => !tok.includes('=') && VALUE_FLAGS.has(tok.replace(/^-+/, ''));

export function normalizeArgs(argv: readonly string[]): string[] {
  const out: string[] = [];
  let converting = true;
  let state: 'top' | 'lock' | 'other' = 'top';
  let expectValue = false;
  for (let i = 0; i < argv.length; i++) {
    const tok = argv[i]!;
    if (!converting) {
      out.push(tok);
      continue;
    }
    if (tok === '--') {
      converting = false;
      out.push(tok);
      continue;
    }
    if (expectValue) {
      expectValue = false;
      out.push(tok);
      continue;
    }
    if (isFlag(tok)) {
      if (state !== 'other') expectValue = takesValue(tok);
      out.push(SINGLE_DASH_LONG.test(tok) ? `-${tok}` : tok);
      continue;
    }
    if (state === 'top') {
      state = tok === 'lock' ? 'lock' : 'other';
      out.push(tok);
      continue;
    }
    if (state === 'lock') {
      // The prefix: the child's command line follows, untouched.
      out.push(tok);
      if (argv[i + 1] !== '--') out.push('--');
      converting = false;
      continue;
    }
    out.push(tok);
  }
  return out;
}
