/**
 * On-disk layout of WAL segments. All integers are little-endian.
 *
 * Segment header (32 bytes, once at offset 0):
 *   magic "HWAL" (4) | version u16 | reserved u16 | seq u64 | firstIndex u64 |
 *   crc32c of bytes 0..23 (u32) | reserved u32 (zero)
 *
 * Record (9-byte header + payload), repeated until end of file:
 *   length u32 (payload bytes) | crc32c u32 over type+payload | type u8 | payload
 *
 * Payloads:
 *   Entry      index u64 | term u64 | entryType u8 | data
 *   HardState  term u64 | commit u64 | vote (UTF-8, rest of payload)
 *   Truncate   index u64 — entries with index >= `index` are gone; the next entry is `index`
 *   Reset      index u64 — every entry is gone (a snapshot replaced the log); the next
 *              entry is `index`
 *
 * Type 0 is never written, so a zero-filled region never decodes as a record.
 */
import type { Entry, EntryType, HardState } from '../types.js';
import { crc32c } from './crc32c.js';

export const SEGMENT_MAGIC = 0x4c415748; // "HWAL" read as u32 LE
export const SEGMENT_VERSION = 1;
export const SEGMENT_HEADER_SIZE = 32;
export const RECORD_HEADER_SIZE = 9;
/** Upper bound on one record's payload; a larger length field is treated as damage. */
export const MAX_RECORD_PAYLOAD = 256 * 1024 * 1024;

export const enum RecordType {
  Entry = 1,
  HardState = 2,
  Truncate = 3,
  Reset = 4,
}

export interface SegmentHeader {
  seq: number;
  firstIndex: number;
}

const TWO32 = 0x1_0000_0000;

export function writeU64(buf: Buffer, off: number, n: number): void {
  buf.writeUInt32LE(n % TWO32, off);
  buf.writeUInt32LE(Math.floor(n / TWO32), off + 4);
}

/** Reads a u64 that must fit in a JS safe integer; returns -1 otherwise. */
export function readU64(buf: Buffer, off: number): number {
  const hi = buf.readUInt32LE(off + 4);
  if (hi > 0x1fffff) return -1;
  return hi * TWO32 + buf.readUInt32LE(off);
}

export function encodeSegmentHeader(h: SegmentHeader): Buffer {
  const b = Buffer.alloc(SEGMENT_HEADER_SIZE);
  b.writeUInt32LE(SEGMENT_MAGIC, 0);
  b.writeUInt16LE(SEGMENT_VERSION, 4);
  writeU64(b, 8, h.seq);
  writeU64(b, 16, h.firstIndex);
  b.writeUInt32LE(crc32c(b, 0, 0, 24), 24);
  return b;
}

/** Returns the header, or a reason string when it is damaged or of an unknown version. */
export function decodeSegmentHeader(b: Buffer): SegmentHeader | string {
  if (b.length < SEGMENT_HEADER_SIZE) return `segment header is ${b.length} bytes, need ${SEGMENT_HEADER_SIZE}`;
  if (b.readUInt32LE(0) !== SEGMENT_MAGIC) return 'bad segment magic';
  if (b.readUInt32LE(24) !== crc32c(b, 0, 0, 24)) return 'segment header checksum mismatch';
  const version = b.readUInt16LE(4);
  if (version !== SEGMENT_VERSION) return `unsupported segment format version ${version}`;
  const seq = readU64(b, 8);
  const firstIndex = readU64(b, 16);
  if (seq < 0 || firstIndex < 1) return 'segment header fields out of range';
  return { seq, firstIndex };
}

/**
 * Builds records into one contiguous buffer so a whole batch goes to disk with one write.
 */
export class RecordBatch {
  private readonly parts: Buffer[] = [];
  private size = 0;
  /** [offset within the batch, record length] of each entry record, in order. */
  readonly entryPositions: Array<[number, number]> = [];

  get byteLength(): number {
    return this.size;
  }

  get empty(): boolean {
    return this.size === 0;
  }

  entry(e: Entry): this {
    const p = Buffer.allocUnsafe(17 + e.data.length);
    writeU64(p, 0, e.index);
    writeU64(p, 8, e.term);
    p.writeUInt8(e.type, 16);
    p.set(e.data, 17);
    this.entryPositions.push([this.size, RECORD_HEADER_SIZE + p.length]);
    return this.push(RecordType.Entry, p);
  }

  hardState(hs: HardState): this {
    const vote = Buffer.from(hs.vote, 'utf8');
    const p = Buffer.allocUnsafe(16 + vote.length);
    writeU64(p, 0, hs.term);
    writeU64(p, 8, hs.commit);
    p.set(vote, 16);
    return this.push(RecordType.HardState, p);
  }

  truncate(index: number): this {
    const p = Buffer.allocUnsafe(8);
    writeU64(p, 0, index);
    return this.push(RecordType.Truncate, p);
  }

  reset(next: number): this {
    const p = Buffer.allocUnsafe(8);
    writeU64(p, 0, next);
    return this.push(RecordType.Reset, p);
  }

  /** One buffer holding every record added so far, in order. */
  toBuffer(): Buffer {
    return Buffer.concat(this.parts, this.size);
  }

  private push(type: RecordType, payload: Buffer): this {
    const h = Buffer.allocUnsafe(RECORD_HEADER_SIZE);
    h.writeUInt32LE(payload.length, 0);
    h.writeUInt8(type, 8);
    let crc = crc32c(h, 0, 8, 9);
    crc = crc32c(payload, crc);
    h.writeUInt32LE(crc, 4);
    this.parts.push(h, payload);
    this.size += RECORD_HEADER_SIZE + payload.length;
    return this;
  }
}

export type DecodedRecord =
  | { type: RecordType.Entry; index: number; term: number; entryType: EntryType; data: Buffer }
  | { type: RecordType.HardState; hardState: HardState }
  | { type: RecordType.Truncate | RecordType.Reset; index: number };

/** Decodes a CRC-checked payload; returns a reason string when its shape is wrong. */
export function decodePayload(type: number, p: Buffer): DecodedRecord | string {
  switch (type) {
    case RecordType.Entry: {
      if (p.length < 17) return `entry payload of ${p.length} bytes is too short`;
      const index = readU64(p, 0);
      const term = readU64(p, 8);
      if (index < 1 || term < 0) return 'entry index/term out of range';
      return { type, index, term, entryType: p.readUInt8(16) as EntryType, data: p.subarray(17) };
    }
    case RecordType.HardState: {
      if (p.length < 16) return `hard state payload of ${p.length} bytes is too short`;
      const term = readU64(p, 0);
      const commit = readU64(p, 8);
      if (term < 0 || commit < 0) return 'hard state fields out of range';
      return { type, hardState: { term, commit, vote: p.toString('utf8', 16) } };
    }
    case RecordType.Truncate:
    case RecordType.Reset: {
      if (p.length !== 8) return `truncate/reset payload of ${p.length} bytes, expected 8`;
      const index = readU64(p, 0);
      if (index < 1) return 'truncate/reset index out of range';
      return { type, index };
    }
    default:
      return `unknown record type ${type}`;
  }
}

/** A record found by {@link scanRecords}: decoded, with its position in the segment. */
export interface ScannedRecord {
  offset: number;
  length: number;
  record: DecodedRecord;
}

/** Where and why a scan stopped before the end of the buffer. */
export interface ScanStop {
  offset: number;
  reason: string;
  /**
   * True when the damage can only be an interrupted final write: the bad record is the
   * last thing in the file (incomplete header, length past end of file, or checksum
   * mismatch on a record that ends exactly at end of file), or everything from it to end
   * of file is zero bytes.
   */
  tornTail: boolean;
}

function allZero(b: Buffer, from: number): boolean {
  for (let i = from; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

/**
 * Decodes records from `buf[start..]` and stops at the first damaged one. Payloads in the
 * result are views into `buf`.
 */
export function scanRecords(buf: Buffer, start: number): { records: ScannedRecord[]; stop: ScanStop | undefined } {
  const records: ScannedRecord[] = [];
  let off = start;
  while (off < buf.length) {
    const remaining = buf.length - off;
    if (remaining < RECORD_HEADER_SIZE) {
      return { records, stop: { offset: off, reason: `incomplete record header (${remaining} bytes)`, tornTail: true } };
    }
    const len = buf.readUInt32LE(off);
    const crc = buf.readUInt32LE(off + 4);
    const type = buf.readUInt8(off + 8);
    const end = off + RECORD_HEADER_SIZE + len;
    if (len > MAX_RECORD_PAYLOAD) {
      return { records, stop: { offset: off, reason: `record length ${len} exceeds the maximum`, tornTail: allZero(buf, off) } };
    }
    if (end > buf.length) {
      return { records, stop: { offset: off, reason: `record of ${len} bytes runs past end of file`, tornTail: true } };
    }
    const actual = crc32c(buf, crc32c(buf, 0, off + 8, off + 9), off + RECORD_HEADER_SIZE, end);
    if (actual !== crc) {
      const reason = `checksum mismatch (stored ${crc.toString(16)}, computed ${actual.toString(16)})`;
      return { records, stop: { offset: off, reason, tornTail: end === buf.length || allZero(buf, off) } };
    }
    const rec = decodePayload(type, buf.subarray(off + RECORD_HEADER_SIZE, end));
    if (typeof rec === 'string') return { records, stop: { offset: off, reason: rec, tornTail: false } };
    records.push({ offset: off, length: end - off, record: rec });
    off = end;
  }
  return { records, stop: undefined };
}
