/**
 * Durable storage of local services and checks: one JSON file per entry under
 * `<dataDir>/services/` and `<dataDir>/checks/`, named by a hash of the ID (IDs may hold any
 * character). Every write goes to a temp file, is fsynced, renamed over the old file and the
 * directory fsynced, so a crash leaves either the old or the new file, never a torn one.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';

export type EntryKind = 'services' | 'checks';

export class FileStore {
  constructor(private readonly dir: string) {
    for (const k of ['services', 'checks'] as const) mkdirSync(join(dir, k), { recursive: true, mode: 0o700 });
  }

  private path(kind: EntryKind, id: string): string {
    return join(this.dir, kind, `${createHash('sha256').update(id).digest('hex').slice(0, 32)}.json`);
  }

  /** Writes the entry atomically and durably. */
  write(kind: EntryKind, id: string, value: unknown): void {
    const file = this.path(kind, id);
    const tmp = `${file}.tmp`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, JSON.stringify(value));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
    this.syncDir(kind);
  }

  remove(kind: EntryKind, id: string): void {
    rmSync(this.path(kind, id), { force: true });
    this.syncDir(kind);
  }

  /** Every stored entry of `kind`, parsed; unreadable files are reported to `bad` and skipped. */
  readAll(kind: EntryKind, bad: (file: string, err: Error) => void): unknown[] {
    const out: unknown[] = [];
    const d = join(this.dir, kind);
    for (const name of readdirSync(d).sort()) {
      const file = join(d, name);
      if (name.endsWith('.tmp')) {
        rmSync(file, { force: true });
        continue;
      }
      if (!name.endsWith('.json')) continue;
      try {
        out.push(JSON.parse(readFileSync(file, 'utf8')));
      } catch (e) {
        bad(file, e as Error);
      }
    }
    return out;
  }

  private syncDir(kind: EntryKind): void {
    const fd = openSync(join(this.dir, kind), 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
}
