/**
 * The snapshot archive that `GET /v1/snapshot` serves and `PUT /v1/snapshot` restores, shaped
 * like Consul's: a gzipped tar holding `meta.json`, `state.bin` (the encoded state machine,
 * `StateStore.snapshot()`) and `SHA256SUMS` (a SHA-256 line per file).
 *
 * {@link unpackSnapshotArchive} verifies everything before anything is used: gzip integrity
 * (its CRC catches truncation and most alterations), the tar header checksums, the presence
 * of the three files and both SHA-256 sums. Any failure is a {@link SnapshotArchiveError}
 * whose message says what is wrong.
 */
import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';

export interface SnapshotArchiveMeta {
  /** Archive format version. */
  Version: 1;
  /** Raft index the state covers. */
  Index: number;
  /** State encoding version (catalog/state SNAPSHOT_VERSION). */
  StateVersion: number;
  /** Bytes of state.bin. */
  Size: number;
  /** RFC 3339 time the snapshot was taken. */
  Created: string;
  Datacenter: string;
}

export class SnapshotArchiveError extends Error {
  override name = 'SnapshotArchiveError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(`snapshot: ${message}`, options);
  }
}

const BLOCK = 512;
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

function tarHeader(name: string, size: number, mtimeSec: number): Buffer {
  const h = Buffer.alloc(BLOCK);
  h.write(name, 0, 100, 'utf8');
  h.write('0000644\0', 100, 8, 'ascii');
  h.write('0000000\0', 108, 8, 'ascii');
  h.write('0000000\0', 116, 8, 'ascii');
  h.write(`${size.toString(8).padStart(11, '0')}\0`, 124, 12, 'ascii');
  h.write(`${mtimeSec.toString(8).padStart(11, '0')}\0`, 136, 12, 'ascii');
  h.write('        ', 148, 8, 'ascii');
  h.write('0', 156, 1, 'ascii');
  h.write('ustar\0', 257, 6, 'ascii');
  h.write('00', 263, 2, 'ascii');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
  return h;
}

/** Builds the archive. `createdMs` is the wall-clock time to record. */
export function packSnapshotArchive(state: Uint8Array, meta: Omit<SnapshotArchiveMeta, 'Version' | 'Size' | 'Created'>, createdMs: number): Buffer {
  const full: SnapshotArchiveMeta = { Version: 1, ...meta, Size: state.length, Created: new Date(createdMs).toISOString() };
  const metaBytes = Buffer.from(`${JSON.stringify(full, null, 2)}\n`);
  const stateBytes = Buffer.from(state.buffer, state.byteOffset, state.byteLength);
  const sums = Buffer.from(`${sha256(metaBytes)}  meta.json\n${sha256(stateBytes)}  state.bin\n`);
  const mtime = Math.floor(createdMs / 1000);
  const parts: Buffer[] = [];
  for (const [name, data] of [['meta.json', metaBytes], ['state.bin', stateBytes], ['SHA256SUMS', sums]] as const) {
    parts.push(tarHeader(name, data.length, mtime), data, Buffer.alloc((BLOCK - (data.length % BLOCK)) % BLOCK));
  }
  parts.push(Buffer.alloc(2 * BLOCK));
  return gzipSync(Buffer.concat(parts));
}

function untar(tar: Buffer): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  let off = 0;
  for (;;) {
    if (off + BLOCK > tar.length) throw new SnapshotArchiveError('archive is truncated (tar ends inside a header)');
    const h = tar.subarray(off, off + BLOCK);
    if (h.every((b) => b === 0)) break;
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : h[i]!;
    const want = parseInt(h.subarray(148, 156).toString('ascii').replace(/[\0 ]+/g, ''), 8);
    if (sum !== want) throw new SnapshotArchiveError(`archive is corrupt (tar header checksum mismatch at byte ${off})`);
    const name = h.subarray(0, 100).toString('utf8').replace(/\0.*$/s, '');
    const size = parseInt(h.subarray(124, 136).toString('ascii').replace(/[\0 ]+/g, ''), 8);
    if (!Number.isSafeInteger(size) || size < 0) throw new SnapshotArchiveError(`archive is corrupt (bad size for ${name})`);
    off += BLOCK;
    if (off + size > tar.length) throw new SnapshotArchiveError(`archive is truncated (${name} is cut short)`);
    files.set(name, tar.subarray(off, off + size));
    off += size + ((BLOCK - (size % BLOCK)) % BLOCK);
  }
  return files;
}

/** Verifies and opens an archive; throws {@link SnapshotArchiveError} on any problem. */
export function unpackSnapshotArchive(archive: Uint8Array): { meta: SnapshotArchiveMeta; state: Buffer } {
  if (archive.length === 0) throw new SnapshotArchiveError('archive is empty');
  let tar: Buffer;
  try {
    tar = gunzipSync(archive);
  } catch (e) {
    const msg = (e as Error).message;
    const why = /unexpected end/i.test(msg) ? 'archive is truncated' : 'archive is corrupt';
    throw new SnapshotArchiveError(`${why} (gzip: ${msg})`, { cause: e });
  }
  const files = untar(tar);
  for (const f of ['meta.json', 'state.bin', 'SHA256SUMS']) if (!files.has(f)) throw new SnapshotArchiveError(`archive has no ${f}`);
  const sums = new Map<string, string>();
  for (const line of files.get('SHA256SUMS')!.toString('utf8').split('\n')) {
    const m = /^([0-9a-f]{64}) {2}(.+)$/.exec(line);
    if (m) sums.set(m[2]!, m[1]!);
  }
  for (const f of ['meta.json', 'state.bin']) {
    const want = sums.get(f);
    if (want === undefined) throw new SnapshotArchiveError(`SHA256SUMS has no line for ${f}`);
    if (sha256(files.get(f)!) !== want) throw new SnapshotArchiveError(`checksum mismatch for ${f}: the file was altered or damaged`);
  }
  let meta: SnapshotArchiveMeta;
  try {
    meta = JSON.parse(files.get('meta.json')!.toString('utf8')) as SnapshotArchiveMeta;
  } catch (e) {
    throw new SnapshotArchiveError(`meta.json is not JSON (${(e as Error).message})`, { cause: e });
  }
  if (meta.Version !== 1) throw new SnapshotArchiveError(`unsupported archive version ${String(meta.Version)}`);
  const state = files.get('state.bin')!;
  if (meta.Size !== state.length) throw new SnapshotArchiveError(`state.bin has ${state.length} bytes, meta.json says ${meta.Size}`);
  return { meta, state };
}
