import { Writable } from 'node:stream';
import type { CliIO } from '../../agent/cli/io.js';

/** A CliIO that captures what a command prints. */
export function captureIO(env: NodeJS.ProcessEnv = {}): CliIO & { out: () => string; err: () => string } {
  const chunks = { out: [] as string[], err: [] as string[] };
  const sink = (into: string[]): Writable =>
    new Writable({
      write(chunk, _enc, cb) {
        into.push(String(chunk));
        cb();
      },
    });
  return {
    stdout: sink(chunks.out),
    stderr: sink(chunks.err),
    env,
    out: () => chunks.out.join(''),
    err: () => chunks.err.join(''),
  };
}
