/**
 * `<dataDir>/LOCK`: keeps two live processes (or two FileStorage instances in one process)
 * from writing the same WAL. The file holds the owner's pid; a lock whose pid no longer
 * runs (the owner was killed) is taken over. Advisory only: Node has no flock(2).
 */
import { open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { WalError } from './errors.js';

export const LOCK_FILE = 'LOCK';

const heldInProcess = new Set<string>();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the lock of `dir`; resolves to a release function. @throws WalError when held. */
export async function lockDataDir(dir: string): Promise<() => Promise<void>> {
  const path = join(dir, LOCK_FILE);
  if (heldInProcess.has(path)) throw new WalError(`raft: wal: data dir ${dir} is already open in this process`);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(path, 'wx');
      await fh.writeFile(`${process.pid}\n`);
      await fh.close();
      heldInProcess.add(path);
      return async () => {
        heldInProcess.delete(path);
        await unlink(path).catch(() => undefined);
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const pid = Number((await readFile(path, 'utf8').catch(() => '')).trim());
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
      throw new WalError(`raft: wal: data dir ${dir} is locked by running process ${pid} (${path})`);
    }
    await unlink(path).catch(() => undefined); // stale: its owner is gone
  }
  throw new WalError(`raft: wal: could not lock data dir ${dir} (${path})`);
}
