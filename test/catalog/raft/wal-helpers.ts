/** Shared helpers for the WAL tests: temp dirs and deterministic entries. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { EntryType, type Entry, type Snapshot } from '../../../catalog/raft/types.js';

export async function makeTempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `herald-${prefix}-`));
}

export async function removeDir(dir: string | undefined): Promise<void> {
  if (dir) await rm(dir, { recursive: true, force: true });
}

/** Payload of entry `index`: deterministic, 1..(maxLen) bytes, so a reader can verify it. */
export function payloadFor(index: number, term: number, maxLen = 64): Uint8Array {
  const len = 1 + ((index * 7919 + term * 31) % maxLen);
  const b = new Uint8Array(len);
  for (let i = 0; i < len; i++) b[i] = (index * 31 + term * 17 + i * 13) & 0xff;
  return b;
}

export function entry(index: number, term: number, maxLen?: number): Entry {
  return { index, term, type: EntryType.Normal, data: payloadFor(index, term, maxLen) };
}

export function entries(from: number, to: number, term: number, maxLen?: number): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push(entry(i, term, maxLen));
  return out;
}

export function snapshot(index: number, term: number, size = 100): Snapshot {
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = (index + i) & 0xff;
  return { meta: { index, term, conf: { voters: ['a', 'b', 'c'], learners: [] } }, data };
}

/** A pino logger whose JSON lines are collected in `lines`. */
export function capturingLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString('utf8').split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}
