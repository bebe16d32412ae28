/**
 * `<dataDir>/meta.json`: which node owns a data dir and which storage format it uses.
 * Written once when the dir is first used (temp file, fsync, rename); checked on every
 * open so that a dir copied from, or mixed up with, another node is refused.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NodeIdMismatchError, WalError } from './errors.js';
import { writeFileDurable } from './fsutil.js';

export const META_FILE = 'meta.json';
export const STORAGE_FORMAT = 1;

interface MetaFile {
  format: number;
  nodeId: string;
}

/** Creates the metadata file for `nodeId`, or verifies that the existing one names it. */
export async function ensureMeta(dir: string, nodeId: string): Promise<void> {
  const path = join(dir, META_FILE);
  let text: string | undefined;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (text === undefined) {
    const meta: MetaFile = { format: STORAGE_FORMAT, nodeId };
    await writeFileDurable(path, dir, Buffer.from(JSON.stringify(meta) + '\n'));
    return;
  }
  let meta: Partial<MetaFile>;
  try {
    meta = JSON.parse(text) as Partial<MetaFile>;
  } catch (err) {
    throw new WalError(`raft: wal: ${path} is not valid JSON`, { cause: err });
  }
  if (meta.format !== STORAGE_FORMAT) {
    throw new WalError(`raft: wal: ${path} has unsupported storage format ${String(meta.format)} (this build reads ${STORAGE_FORMAT})`);
  }
  if (typeof meta.nodeId !== 'string') throw new WalError(`raft: wal: ${path} has no nodeId`);
  if (meta.nodeId !== nodeId) throw new NodeIdMismatchError(dir, meta.nodeId, nodeId);
}
