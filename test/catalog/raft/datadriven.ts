/**
 * A small data-driven test format in the style of cockroachdb/datadriven (used by
 * etcd-raft's interaction tests). A file is a sequence of blocks:
 *
 *     # comments and blank lines between blocks are kept as they are
 *     command arg1 arg2 key=value
 *     ----
 *     expected output (no blank lines)
 *
 * `runDataDriven` runs every block through a handler and compares the output; with
 * `rewrite` it writes the actual outputs back into the file instead.
 */
import { readFileSync, writeFileSync } from 'node:fs';

export interface Directive {
  cmd: string;
  args: string[];
  kv: Map<string, string>;
  line: number;
}

interface Block {
  pre: string[];
  input: string;
  expected: string;
  directive: Directive;
}

function parseDirective(input: string, line: number): Directive {
  const parts = input.trim().split(/\s+/);
  const cmd = parts.shift() ?? '';
  const args: string[] = [];
  const kv = new Map<string, string>();
  for (const p of parts) {
    const eq = p.indexOf('=');
    if (eq > 0) kv.set(p.slice(0, eq), p.slice(eq + 1));
    else args.push(p);
  }
  return { cmd, args, kv, line };
}

function parse(text: string): { blocks: Block[]; tail: string[] } {
  const lines = text.split('\n');
  const blocks: Block[] = [];
  let pre: string[] = [];
  let i = 0;
  while (i < lines.length) {
    const l = lines[i] as string;
    if (l.trim() === '' || l.startsWith('#')) {
      pre.push(l);
      i++;
      continue;
    }
    const lineNo = i + 1;
    const input = l;
    i++;
    if (lines[i] !== '----') throw new Error(`datadriven: line ${i + 1}: expected ---- after "${input}"`);
    i++;
    const out: string[] = [];
    while (i < lines.length && (lines[i] as string).trim() !== '') out.push(lines[i++] as string);
    blocks.push({ pre, input, expected: out.join('\n'), directive: parseDirective(input, lineNo) });
    pre = [];
  }
  return { blocks, tail: pre };
}

export interface Mismatch {
  line: number;
  input: string;
  expected: string;
  actual: string;
}

/** Runs `file`; returns the mismatches (empty when all blocks match or when rewriting). */
export function runDataDriven(file: string, handler: (d: Directive) => string, rewrite: boolean): Mismatch[] {
  const { blocks, tail } = parse(readFileSync(file, 'utf8'));
  const mismatches: Mismatch[] = [];
  const out: string[] = [];
  for (const b of blocks) {
    let actual: string;
    try {
      actual = handler(b.directive).replace(/\n+$/, '');
    } catch (e) {
      actual = `error: ${(e as Error).message}`;
    }
    if (actual === '') actual = 'ok';
    if (!rewrite && actual !== b.expected) mismatches.push({ line: b.directive.line, input: b.input, expected: b.expected, actual });
    out.push(...b.pre, b.input, '----', actual);
  }
  out.push(...tail);
  if (rewrite) {
    // Exactly one blank line between blocks and a final newline.
    writeFileSync(file, `${out.join('\n').replace(/\n*$/, '')}\n`);
  }
  return mismatches;
}
