/** Durable file-system helpers shared by the WAL, snapshot store and metadata file. */
import { open, rename, unlink } from 'node:fs/promises';

/** fsyncs a directory so that creations, renames and unlinks in it survive a crash. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Writes `data` to `path` atomically and durably: `<path>.tmp` is written and fsynced,
 * renamed over `path`, and the directory is fsynced. After a crash `path` holds either
 * the old or the new content, never a mix; a stray `.tmp` may remain.
 */
export async function writeFileDurable(path: string, dir: string, data: Uint8Array | Uint8Array[]): Promise<void> {
  const tmp = `${path}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    const parts = Array.isArray(data) ? data : [data];
    for (const p of parts) {
      let off = 0;
      while (off < p.length) {
        const { bytesWritten } = await fh.write(p, off, p.length - off);
        off += bytesWritten;
      }
    }
    await fh.sync();
  } catch (err) {
    await fh.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await fh.close();
  await rename(tmp, path);
  await fsyncDir(dir);
}
