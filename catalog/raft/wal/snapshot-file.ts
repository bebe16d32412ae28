/**
 * Snapshot files: `<dataDir>/snapshots/<term>-<index>.snap`, term and index as 16 hex
 * digits so names sort by age. Written as `<name>.tmp`, fsynced, renamed, directory
 * fsynced. Layout (integers little-endian):
 *
 *   magic "HSNP" (4) | version u16 | reserved u16 | metaLen u32 | dataLen u64 |
 *   dataCrc u32 (crc32c of data) | headerCrc u32 (crc32c of bytes 0..23 + meta) |
 *   meta (metaLen bytes, JSON of SnapshotMeta) | data (dataLen bytes)
 *
 * A file whose size differs from 28 + metaLen + dataLen is damaged, not "partially valid".
 */
import { mkdir, readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Snapshot, SnapshotMeta } from '../types.js';
import { crc32c } from './crc32c.js';
import { SnapshotCorruptError } from './errors.js';
import { fsyncDir, writeFileDurable } from './fsutil.js';
import { readU64, writeU64 } from './record.js';

const SNAP_MAGIC = 0x504e5348; // "HSNP" read as u32 LE
const SNAP_VERSION = 1;
const SNAP_HEADER_SIZE = 28;
const NAME_RE = /^([0-9a-f]{16})-([0-9a-f]{16})\.snap$/;

export function snapshotFileName(term: number, index: number): string {
  return `${term.toString(16).padStart(16, '0')}-${index.toString(16).padStart(16, '0')}.snap`;
}

export function encodeSnapshot(s: Snapshot): Buffer[] {
  const meta = Buffer.from(JSON.stringify({ index: s.meta.index, term: s.meta.term, conf: s.meta.conf }), 'utf8');
  const h = Buffer.alloc(SNAP_HEADER_SIZE);
  h.writeUInt32LE(SNAP_MAGIC, 0);
  h.writeUInt16LE(SNAP_VERSION, 4);
  h.writeUInt32LE(meta.length, 8);
  writeU64(h, 12, s.data.length);
  h.writeUInt32LE(crc32c(s.data), 20);
  h.writeUInt32LE(crc32c(meta, crc32c(h, 0, 0, 24)), 24);
  return [h, meta, Buffer.from(s.data.buffer, s.data.byteOffset, s.data.byteLength)];
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

/** Decodes and verifies a snapshot file's bytes; `file` only names it in errors. */
export function decodeSnapshot(file: string, b: Buffer): Snapshot {
  if (b.length < SNAP_HEADER_SIZE) throw new SnapshotCorruptError(file, `file is ${b.length} bytes, shorter than the header`);
  if (b.readUInt32LE(0) !== SNAP_MAGIC) throw new SnapshotCorruptError(file, 'bad magic');
  const version = b.readUInt16LE(4);
  if (version !== SNAP_VERSION) throw new SnapshotCorruptError(file, `unsupported format version ${version}`);
  const metaLen = b.readUInt32LE(8);
  const dataLen = readU64(b, 12);
  if (dataLen < 0 || SNAP_HEADER_SIZE + metaLen + dataLen !== b.length) {
    throw new SnapshotCorruptError(file, `size ${b.length} does not match header (meta ${metaLen}, data ${dataLen})`);
  }
  const metaEnd = SNAP_HEADER_SIZE + metaLen;
  if (crc32c(b, crc32c(b, 0, 0, 24), SNAP_HEADER_SIZE, metaEnd) !== b.readUInt32LE(24)) {
    throw new SnapshotCorruptError(file, 'header checksum mismatch');
  }
  if (crc32c(b, 0, metaEnd, b.length) !== b.readUInt32LE(20)) throw new SnapshotCorruptError(file, 'data checksum mismatch');
  let meta: SnapshotMeta;
  try {
    const m = JSON.parse(b.toString('utf8', SNAP_HEADER_SIZE, metaEnd)) as Partial<SnapshotMeta>;
    if (
      !Number.isSafeInteger(m.index) ||
      !Number.isSafeInteger(m.term) ||
      !m.conf ||
      !isStringArray(m.conf.voters) ||
      !isStringArray(m.conf.learners)
    ) {
      throw new Error('missing or mistyped fields');
    }
    meta = { index: m.index as number, term: m.term as number, conf: { voters: m.conf.voters, learners: m.conf.learners } };
  } catch (err) {
    throw new SnapshotCorruptError(file, `bad meta: ${(err as Error).message}`);
  }
  return { meta, data: new Uint8Array(b.subarray(metaEnd)) };
}

export interface SnapshotFileInfo {
  path: string;
  term: number;
  index: number;
}

/** The snapshot directory of one data dir. Not safe for concurrent use. */
export class SnapshotStore {
  constructor(
    readonly dir: string,
    private readonly logger: Logger,
    private readonly keep = 2,
  ) {}

  /** Creates the directory and removes `.tmp` leftovers of interrupted saves. */
  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    let removed = false;
    for (const name of await readdir(this.dir)) {
      if (name.endsWith('.tmp')) {
        await unlink(join(this.dir, name));
        this.logger.warn({ file: join(this.dir, name) }, 'removed leftover temporary snapshot file');
        removed = true;
      }
    }
    if (removed) await fsyncDir(this.dir);
  }

  /** Snapshot files, newest (highest index, then term) first. Unrelated names are ignored. */
  async list(): Promise<SnapshotFileInfo[]> {
    const out: SnapshotFileInfo[] = [];
    for (const name of await readdir(this.dir)) {
      const m = NAME_RE.exec(name);
      if (!m) continue;
      out.push({ path: join(this.dir, name), term: parseInt(m[1] as string, 16), index: parseInt(m[2] as string, 16) });
    }
    return out.sort((a, b) => b.index - a.index || b.term - a.term);
  }

  /** Reads and verifies one snapshot file; throws {@link SnapshotCorruptError}. */
  async read(path: string): Promise<Snapshot> {
    return decodeSnapshot(path, await readFile(path));
  }

  /** Durably writes `s`, then deletes all but the newest `keep` snapshot files. */
  async save(s: Snapshot): Promise<string> {
    const path = join(this.dir, snapshotFileName(s.meta.term, s.meta.index));
    await writeFileDurable(path, this.dir, encodeSnapshot(s));
    const files = await this.list();
    const old = files.slice(this.keep);
    for (const f of old) await unlink(f.path);
    if (old.length > 0) await fsyncDir(this.dir);
    return path;
  }
}
