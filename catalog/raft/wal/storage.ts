/**
 * {@link FileStorage}: the durable {@link RaftStorage} of a server — a segmented write-ahead
 * log (`<dataDir>/wal/`), a snapshot store (`<dataDir>/snapshots/`) and a metadata file
 * naming the owning node (`<dataDir>/meta.json`). Format and recovery rules are described
 * in docs/raft-storage.md and in record.ts / snapshot-file.ts.
 *
 * Invariants:
 * - Every method resolves only after its effect is fsynced. `save()` issues exactly one
 *   durable write for its batch (plus the creation of a new segment, itself fsynced, when
 *   the current one is full): the tail segment is opened with `O_DSYNC`, so a write returns
 *   only once its data (and the file size) is on disk — the guarantee of write + fdatasync
 *   in one system call and one trip through libuv's thread pool instead of two. Where the
 *   platform has no `O_DSYNC`, the write is followed by an fdatasync.
 * - Segments are numbered consecutively; each starts with a header naming the index the
 *   log would take next, followed by a record of the hard state at that moment, so the
 *   latest hard state always survives head truncation.
 * - Only a torn tail of the LAST segment is repaired (truncated) at start-up; any other
 *   damage is a {@link WalCorruptError} naming the file and offset.
 * - After an I/O error the instance is failed: every later call rejects (fail-stop; the
 *   process must restart and recover from disk).
 *
 * Memory: after start-up only an index is kept, about four numbers per live entry (term,
 * segment, offset, length), never entry payloads. `load()` materializes the live entries
 * once, as the {@link RaftStorage} contract requires; {@link FileStorage.entries} reads
 * ranges back from disk.
 */
import { constants as fsConstants } from 'node:fs';
import { mkdir, open, readdir, readFile, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import {
  emptyHardState,
  type Entry,
  type HardState,
  type PersistedState,
  type RaftStorage,
  type Snapshot,
  type SnapshotMeta,
} from '../types.js';
import { crc32c } from './crc32c.js';
import { SnapshotCorruptError, WalCorruptError, WalError } from './errors.js';
import { fsyncDir, writeFileDurable } from './fsutil.js';
import { lockDataDir } from './lock.js';
import { ensureMeta } from './meta.js';
import {
  RECORD_HEADER_SIZE,
  RecordBatch,
  RecordType,
  SEGMENT_HEADER_SIZE,
  decodePayload,
  decodeSegmentHeader,
  encodeSegmentHeader,
  scanRecords,
} from './record.js';
import { SnapshotStore } from './snapshot-file.js';

export const DEFAULT_SEGMENT_SIZE = 64 * 1024 * 1024;
const MIN_SEGMENT_SIZE = 1024;
const SEGMENT_NAME_RE = /^([0-9a-f]{16})-([0-9a-f]{16})\.wal$/;
/** `O_DSYNC` where the platform has it (Linux, macOS), else undefined (then: write + fdatasync). */
const O_DSYNC: number | undefined = fsConstants.O_DSYNC;
/** How the tail segment is opened for appends: read-write, and synchronous data writes where supported. */
const TAIL_FLAGS = fsConstants.O_RDWR | (O_DSYNC ?? 0);

export function segmentFileName(seq: number, firstIndex: number): string {
  return `${seq.toString(16).padStart(16, '0')}-${firstIndex.toString(16).padStart(16, '0')}.wal`;
}

export interface FileStorageOptions {
  /** Id of the node that owns the data dir; a dir created for another id is refused. */
  nodeId: string;
  /** A new segment is started before a batch once the current one holds this many bytes. Default 64 MiB. */
  segmentSize?: number;
  /** Snapshot files kept after a save (newest first). Default 2. */
  snapshotsToKeep?: number;
  logger?: Logger;
}

/** What start-up repaired; empty when the data dir was clean. */
export interface RecoveryReport {
  tornTail?: { file: string; offset: number; droppedBytes: number; reason: string };
  /** Set when the newest snapshot was corrupt and an older one was used instead. */
  skippedSnapshot?: { file: string; reason: string };
}

export interface StorageStats {
  segments: number;
  fsyncs: number;
  bytesWritten: number;
}

interface Segment {
  seq: number;
  /** From the header: the log's next index when the segment was created. */
  firstIndex: number;
  path: string;
  /** Bytes of valid data (the append position). */
  size: number;
  /** Highest index of a live entry stored here; 0 when none. Drives head truncation. */
  maxIndex: number;
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

export class FileStorage implements RaftStorage {
  readonly walDir: string;
  readonly recovery: RecoveryReport = {};
  private readonly logger: Logger;
  private readonly segmentSize: number;
  private readonly snapshots: SnapshotStore;
  private segments: Segment[] = [];
  private tail: FileHandle | undefined;
  // Index of live entries [first, first + terms.length): parallel arrays.
  private first = 1;
  private terms: number[] = [];
  private segs: number[] = [];
  private offs: number[] = [];
  private lens: number[] = [];
  private hs: HardState = emptyHardState();
  private snap: SnapshotMeta | undefined;
  private snapPath: string | undefined;
  /** The snapshot read (and verified) at open, handed over by the first load(). */
  private openedSnapshot: Snapshot | undefined;
  private failure: Error | undefined;
  private closed = false;
  private unlock: (() => Promise<void>) | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private fsyncs = 0;
  private bytesWritten = 0;

  private constructor(
    readonly dir: string,
    private readonly opts: FileStorageOptions,
  ) {
    this.walDir = join(dir, 'wal');
    this.logger = (opts.logger ?? pino({ level: 'silent' })).child({ component: 'raft-wal' });
    this.segmentSize = opts.segmentSize ?? DEFAULT_SEGMENT_SIZE;
    if (!Number.isSafeInteger(this.segmentSize) || this.segmentSize < MIN_SEGMENT_SIZE) {
      throw new WalError(`raft: wal: segmentSize must be an integer >= ${MIN_SEGMENT_SIZE}, got ${this.segmentSize}`);
    }
    this.snapshots = new SnapshotStore(join(dir, 'snapshots'), this.logger, opts.snapshotsToKeep ?? 2);
  }

  /**
   * Opens (creating if needed) the data dir `dir` for node `opts.nodeId`, verifies every
   * segment and picks the snapshot, repairing only a torn tail of the last segment.
   * @throws NodeIdMismatchError, WalCorruptError, SnapshotCorruptError, WalError
   */
  static async open(dir: string, opts: FileStorageOptions): Promise<FileStorage> {
    if (!opts.nodeId) throw new WalError('raft: wal: nodeId is required');
    const s = new FileStorage(dir, opts);
    try {
      await s.init();
    } catch (err) {
      await s.tail?.close().catch(() => undefined);
      await s.unlock?.();
      throw err;
    }
    return s;
  }

  // ---- RaftStorage ------------------------------------------------------------------

  load(): Promise<PersistedState> {
    return this.serial(async () => {
      const snapshot = this.openedSnapshot ?? (this.snapPath ? await this.snapshots.read(this.snapPath) : undefined);
      this.openedSnapshot = undefined;
      const lo = Math.max(this.first, (this.snap?.index ?? 0) + 1);
      const entries = await this.readRange(lo, this.next);
      return { hardState: { ...this.hs }, snapshot, entries };
    });
  }

  save(hardState: HardState | undefined, entries: Entry[]): Promise<void> {
    return this.serial(async () => {
      const batch = new RecordBatch();
      const f = entries[0]?.index ?? 0;
      if (entries.length > 0) {
        entries.forEach((e, k) => {
          if (e.index !== f + k) throw new WalError(`raft: wal: save() entries must have consecutive indexes (${f + k} expected, got ${e.index})`);
          if (!Number.isSafeInteger(e.index) || e.index < 1 || !Number.isSafeInteger(e.term) || e.term < 0 || !(e.data instanceof Uint8Array)) {
            throw new WalError(`raft: wal: malformed entry at position ${k} (index ${e.index}, term ${e.term})`);
          }
        });
        if (this.snap && f <= this.snap.index) {
          throw new WalError(`raft: wal: cannot append entry ${f}: at or below the snapshot index ${this.snap.index}`);
        }
        if (f < this.first) throw new WalError(`raft: wal: cannot append entry ${f}: entries before ${this.first} are compacted`);
        if (f > this.next) throw new WalError(`raft: wal: cannot append entry ${f}: the log ends at ${this.next - 1}`);
        if (f < this.next) batch.truncate(f);
        for (const e of entries) batch.entry(e);
      }
      const newHs = hardState && !sameHardState(hardState, this.hs) ? { ...hardState } : undefined;
      if (newHs) batch.hardState(newHs);
      if (batch.empty) return;
      const { seg, offset } = await this.append(batch.toBuffer());
      if (entries.length > 0) {
        if (f < this.next) this.truncateFrom(f);
        entries.forEach((e, k) => {
          const [rel, len] = batch.entryPositions[k] as [number, number];
          this.push(e.index, e.term, seg.seq, offset + rel, len);
        });
        seg.maxIndex = this.next - 1;
      }
      if (newHs) this.hs = newHs;
    });
  }

  saveSnapshot(snapshot: Snapshot): Promise<void> {
    return this.serial(async () => {
      const meta = snapshot.meta;
      if (!Number.isSafeInteger(meta.index) || meta.index < 1 || !Number.isSafeInteger(meta.term) || meta.term < 0) {
        throw new WalError(`raft: snapshot: bad snapshot index/term ${meta.index}/${meta.term}`);
      }
      if (this.snap && meta.index < this.snap.index) {
        throw new WalError(`raft: snapshot: refusing to save snapshot at index ${meta.index}, older than the stored one at ${this.snap.index}`);
      }
      const path = await this.io(() => this.snapshots.save(snapshot));
      this.snap = { index: meta.index, term: meta.term, conf: { voters: [...meta.conf.voters], learners: [...meta.conf.learners] } };
      this.snapPath = path;
      this.openedSnapshot = undefined;
      await this.reconcileWithSnapshot(this.snap);
      await this.compactLocked(meta.index);
    });
  }

  compact(upTo: number): Promise<void> {
    return this.serial(() => this.compactLocked(upTo));
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    const p = this.queue.then(async () => {
      this.closed = true;
      await this.tail?.close();
      this.tail = undefined;
      await this.unlock?.();
      this.unlock = undefined;
    });
    this.queue = p.catch(() => undefined);
    return p;
  }

  // ---- extras for the driver and tests ---------------------------------------------

  /** Index of the first entry held in the log (equals lastIndex()+1 when empty). */
  firstIndex(): number {
    return this.first;
  }

  lastIndex(): number {
    return this.next - 1;
  }

  /** Term of the live entry at `index`, or undefined outside [firstIndex, lastIndex]. */
  term(index: number): number | undefined {
    return index >= this.first && index < this.next ? this.terms[index - this.first] : undefined;
  }

  hardState(): HardState {
    return { ...this.hs };
  }

  snapshotMeta(): SnapshotMeta | undefined {
    return this.snap;
  }

  /** Reads live entries [lo, hi) back from disk. */
  entries(lo: number, hi: number): Promise<Entry[]> {
    return this.serial(() => this.readRange(lo, hi));
  }

  stats(): StorageStats {
    return { segments: this.segments.length, fsyncs: this.fsyncs, bytesWritten: this.bytesWritten };
  }

  // ---- start-up ---------------------------------------------------------------------

  private get next(): number {
    return this.first + this.terms.length;
  }

  private async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    this.unlock = await lockDataDir(this.dir);
    await ensureMeta(this.dir, this.opts.nodeId);
    await mkdir(this.walDir, { recursive: true });
    await this.snapshots.init();
    await fsyncDir(this.dir); // makes newly created wal/ and snapshots/ entries durable
    const names: Array<{ name: string; seq: number; firstIndex: number }> = [];
    let removedTmp = false;
    for (const name of await readdir(this.walDir)) {
      if (name.endsWith('.tmp')) {
        await unlink(join(this.walDir, name));
        removedTmp = true;
        continue;
      }
      const m = SEGMENT_NAME_RE.exec(name);
      if (m) names.push({ name, seq: parseInt(m[1] as string, 16), firstIndex: parseInt(m[2] as string, 16) });
    }
    if (removedTmp) await fsyncDir(this.walDir);
    names.sort((a, b) => a.seq - b.seq);
    if (names.length === 0) {
      if ((await this.snapshots.list()).length > 0) {
        throw new WalError(`raft: wal: ${this.walDir} has no segments but snapshots exist; refusing to start from a lost log`);
      }
      await this.createSegment(0, 1);
    } else {
      for (let i = 0; i < names.length; i++) {
        const n = names[i] as { name: string; seq: number; firstIndex: number };
        await this.scanSegment(join(this.walDir, n.name), n.seq, n.firstIndex, i === names.length - 1);
      }
      this.tail = await open((this.segments[this.segments.length - 1] as Segment).path, TAIL_FLAGS);
    }
    await this.chooseSnapshot();
    if (this.snap) await this.reconcileWithSnapshot(this.snap);
  }

  private async scanSegment(path: string, seq: number, firstIndex: number, isLast: boolean): Promise<void> {
    const buf = await readFile(path);
    const hdr = decodeSegmentHeader(buf);
    if (typeof hdr === 'string') throw new WalCorruptError(path, 0, hdr);
    if (hdr.seq !== seq || hdr.firstIndex !== firstIndex) throw new WalCorruptError(path, 0, 'segment header does not match the file name');
    const prev = this.segments[this.segments.length - 1];
    if (prev) {
      if (seq !== prev.seq + 1) throw new WalCorruptError(path, 0, `segment sequence gap: expected segment ${prev.seq + 1}, found ${seq}`);
      if (firstIndex !== this.next) {
        throw new WalCorruptError(path, 0, `segment starts at index ${firstIndex} but the log before it ends at ${this.next - 1}`);
      }
    } else {
      this.first = firstIndex;
    }
    const seg: Segment = { seq, firstIndex, path, size: buf.length, maxIndex: 0 };
    this.segments.push(seg);
    const { records, stop } = scanRecords(buf, SEGMENT_HEADER_SIZE);
    for (const { offset, length, record } of records) {
      switch (record.type) {
        case RecordType.Entry:
          if (record.index !== this.next) {
            throw new WalCorruptError(path, offset, `entry index ${record.index} out of sequence (expected ${this.next})`);
          }
          this.push(record.index, record.term, seq, offset, length);
          seg.maxIndex = record.index;
          break;
        case RecordType.HardState:
          this.hs = record.hardState;
          break;
        case RecordType.Truncate:
          if (record.index > this.next) throw new WalCorruptError(path, offset, `truncate at ${record.index} beyond the log end ${this.next - 1}`);
          this.truncateFrom(record.index);
          break;
        case RecordType.Reset:
          this.resetTo(record.index);
          break;
      }
    }
    if (!stop) return;
    if (!isLast || !stop.tornTail) {
      throw new WalCorruptError(path, stop.offset, isLast ? stop.reason : `${stop.reason} (in sealed segment)`);
    }
    const droppedBytes = buf.length - stop.offset;
    const fh = await open(path, 'r+');
    try {
      await fh.truncate(stop.offset);
      await fh.datasync();
    } finally {
      await fh.close();
    }
    seg.size = stop.offset;
    this.recovery.tornTail = { file: path, offset: stop.offset, droppedBytes, reason: stop.reason };
    this.logger.warn(this.recovery.tornTail, 'raft: wal: truncated a torn record at the end of the last segment');
  }

  /**
   * Picks the newest snapshot that verifies and that the log continues from. Policy: a
   * corrupt newest snapshot is skipped (logged, reported in {@link recovery}) only when an
   * older valid snapshot exists AND the log still holds every entry after it; otherwise the
   * corrupt file's {@link SnapshotCorruptError} stops start-up.
   */
  private async chooseSnapshot(): Promise<void> {
    let corrupt: SnapshotCorruptError | undefined;
    let uncovered: SnapshotMeta | undefined;
    for (const f of await this.snapshots.list()) {
      let s: Snapshot;
      try {
        s = await this.snapshots.read(f.path);
        if (s.meta.index !== f.index || s.meta.term !== f.term) throw new SnapshotCorruptError(f.path, 'meta does not match the file name');
      } catch (err) {
        if (!(err instanceof SnapshotCorruptError)) throw err;
        corrupt ??= err;
        this.logger.warn({ file: f.path, err: err.message }, 'raft: snapshot: corrupt snapshot file');
        continue;
      }
      if (this.first > s.meta.index + 1) {
        uncovered = s.meta;
        break;
      }
      this.snap = s.meta;
      this.snapPath = f.path;
      this.openedSnapshot = s;
      if (corrupt) {
        this.recovery.skippedSnapshot = { file: corrupt.file, reason: corrupt.reason };
        this.logger.warn({ skipped: corrupt.file, using: f.path }, 'raft: snapshot: newest snapshot corrupt, using an older one');
      }
      return;
    }
    if (corrupt) throw corrupt;
    if (this.first > 1) {
      const covered = uncovered ? `the newest snapshot ends at ${uncovered.index}` : 'there is no snapshot';
      throw new WalError(`raft: wal: ${this.walDir}: log starts at index ${this.first} but ${covered}; entries are missing`);
    }
  }

  // ---- writing ------------------------------------------------------------------------

  /**
   * Raft §7: if the log holds the snapshot's last entry with the same term, the suffix is
   * kept; otherwise (different term, or the log ends before the snapshot) the whole log is
   * discarded and the next entry is meta.index + 1. Recorded as a Reset record. Also run
   * at start-up, which completes a saveSnapshot() interrupted between its two steps.
   */
  private async reconcileWithSnapshot(meta: SnapshotMeta): Promise<void> {
    if (this.first === meta.index + 1 && this.terms.length === 0) return;
    const t = this.term(meta.index);
    if (meta.index < this.next && (t === undefined || t === meta.term)) return;
    await this.append(new RecordBatch().reset(meta.index + 1).toBuffer());
    this.resetTo(meta.index + 1);
  }

  private async compactLocked(upTo: number): Promise<void> {
    const limit = Math.min(upTo, this.snap?.index ?? 0);
    let n = 0;
    while (n < this.segments.length - 1 && (this.segments[n] as Segment).maxIndex <= limit) n++;
    if (n === 0) return;
    const doomed = this.segments.slice(0, n);
    await this.io(async () => {
      for (const d of doomed) await unlink(d.path);
      await fsyncDir(this.walDir);
    });
    this.segments = this.segments.slice(n);
    const lastSeq = (doomed[n - 1] as Segment).seq;
    let k = 0;
    while (k < this.segs.length && (this.segs[k] as number) <= lastSeq) k++;
    if (k > 0) {
      this.terms.splice(0, k);
      this.segs.splice(0, k);
      this.offs.splice(0, k);
      this.lens.splice(0, k);
      this.first += k;
    }
    this.logger.debug({ upTo: limit, removedSegments: n, first: this.first }, 'raft: wal: compacted');
  }

  /** Appends `buf` to the tail segment (rolling over first when full) with one durable (`O_DSYNC`) write, or write + fdatasync. */
  private async append(buf: Buffer): Promise<{ seg: Segment; offset: number }> {
    return this.io(async () => {
      if ((this.segments[this.segments.length - 1] as Segment).size >= this.segmentSize) await this.rollover();
      const seg = this.segments[this.segments.length - 1] as Segment;
      const fh = this.tail as FileHandle;
      let done = 0;
      while (done < buf.length) {
        const { bytesWritten } = await fh.write(buf, done, buf.length - done, seg.size + done);
        done += bytesWritten;
      }
      if (O_DSYNC === undefined) await fh.datasync();
      const offset = seg.size;
      seg.size += buf.length;
      this.fsyncs++;
      this.bytesWritten += buf.length;
      return { seg, offset };
    });
  }

  private async rollover(): Promise<void> {
    const prev = this.segments[this.segments.length - 1] as Segment;
    await this.tail?.close();
    this.tail = undefined;
    await this.createSegment(prev.seq + 1, this.next);
  }

  /** Creates segment `seq` durably (temp file, fsync, rename, dir fsync) and makes it the tail. */
  private async createSegment(seq: number, firstIndex: number): Promise<void> {
    const path = join(this.walDir, segmentFileName(seq, firstIndex));
    const header = encodeSegmentHeader({ seq, firstIndex });
    const hs = new RecordBatch().hardState(this.hs).toBuffer();
    await writeFileDurable(path, this.walDir, [header, hs]);
    this.segments.push({ seq, firstIndex, path, size: header.length + hs.length, maxIndex: 0 });
    this.tail = await open(path, TAIL_FLAGS);
    this.logger.debug({ file: path }, 'raft: wal: new segment');
  }

  // ---- in-memory index ------------------------------------------------------------------

  private push(index: number, term: number, seq: number, offset: number, length: number): void {
    if (index !== this.next) throw new Error(`raft: wal: invariant broken: pushing entry ${index} at ${this.next}`);
    this.terms.push(term);
    this.segs.push(seq);
    this.offs.push(offset);
    this.lens.push(length);
  }

  /** Applies a Truncate record: entries >= t (t <= next) are gone and t is the next index. */
  private truncateFrom(t: number): void {
    if (t <= this.first) {
      this.resetTo(t);
      return;
    }
    const keep = t - this.first;
    this.terms.length = keep;
    this.segs.length = keep;
    this.offs.length = keep;
    this.lens.length = keep;
    for (const s of this.segments) s.maxIndex = Math.min(s.maxIndex, t - 1);
  }

  /** Applies a Reset record: the log is empty and `next` is the next index. */
  private resetTo(next: number): void {
    this.terms.length = 0;
    this.segs.length = 0;
    this.offs.length = 0;
    this.lens.length = 0;
    this.first = next;
    for (const s of this.segments) s.maxIndex = 0;
  }

  private async readRange(lo: number, hi: number): Promise<Entry[]> {
    if (lo < this.first || hi > this.next || lo > hi) {
      throw new WalError(`raft: wal: entries [${lo}, ${hi}) outside the log [${this.first}, ${this.next})`);
    }
    const out: Entry[] = [];
    let i = lo;
    while (i < hi) {
      const seq = this.segs[i - this.first] as number;
      let j = i;
      while (j < hi && this.segs[j - this.first] === seq) j++;
      const seg = this.segments.find((s) => s.seq === seq);
      if (!seg) throw new Error(`raft: wal: invariant broken: entry ${i} in missing segment ${seq}`);
      const start = this.offs[i - this.first] as number;
      const end = (this.offs[j - 1 - this.first] as number) + (this.lens[j - 1 - this.first] as number);
      const buf = await this.readAt(seg, start, end - start);
      for (let k = i; k < j; k++) {
        const off = (this.offs[k - this.first] as number) - start;
        const len = this.lens[k - this.first] as number;
        const crc = crc32c(buf, crc32c(buf, 0, off + 8, off + 9), off + RECORD_HEADER_SIZE, off + len);
        const d =
          crc === buf.readUInt32LE(off + 4)
            ? decodePayload(buf.readUInt8(off + 8), buf.subarray(off + RECORD_HEADER_SIZE, off + len))
            : 'checksum mismatch on read';
        if (typeof d === 'string' || d.type !== RecordType.Entry || d.index !== k) {
          throw new WalCorruptError(seg.path, start + off, typeof d === 'string' ? d : `expected entry ${k}`);
        }
        out.push({ index: d.index, term: d.term, type: d.entryType, data: new Uint8Array(d.data) });
      }
      i = j;
    }
    return out;
  }

  private async readAt(seg: Segment, position: number, length: number): Promise<Buffer> {
    const last = this.segments[this.segments.length - 1];
    const fh = seg === last && this.tail ? this.tail : await open(seg.path, 'r');
    try {
      const buf = Buffer.allocUnsafe(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await fh.read(buf, done, length - done, position + done);
        if (bytesRead === 0) throw new WalCorruptError(seg.path, position + done, 'unexpected end of file on read');
        done += bytesRead;
      }
      return buf;
    } finally {
      if (fh !== this.tail) await fh.close();
    }
  }

  // ---- plumbing -------------------------------------------------------------------------

  /** Runs calls one at a time, in call order, refusing work once closed or failed. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.queue.then(() => {
      if (this.closed) throw new WalError('raft: wal: storage is closed');
      if (this.failure) throw new WalError('raft: wal: storage failed earlier; restart to recover from disk', { cause: this.failure });
      return fn();
    });
    this.queue = p.catch(() => undefined);
    return p;
  }

  /** Runs an I/O step; an error leaves the on-disk state unknown, so it fails the instance. */
  private async io<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      this.failure ??= err as Error;
      throw err;
    }
  }
}
