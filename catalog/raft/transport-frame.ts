/**
 * Wire format of the Raft TCP transport. Each frame:
 *
 *   length u32 BE (bytes after this field) | version u8 | kind u8 | body (msgpack)
 *
 * The first frame a dialer sends is a Hello naming its node id; every later frame is one
 * Raft message. Bodies are standard msgpack maps (no msgpackr record extension), so any
 * msgpack implementation can speak the protocol. Binary fields are `bin` and decode to
 * plain `Uint8Array`s.
 */
import { Packr, Unpackr } from 'msgpackr';

export const FRAME_VERSION = 1;
export const FRAME_PREFIX = 4;
export const FRAME_OVERHEAD = FRAME_PREFIX + 2;

export const enum FrameKind {
  Hello = 1,
  Message = 2,
}

export interface Hello {
  nodeId: string;
}

const packr = new Packr({ useRecords: false, encodeUndefinedAsNil: false });
// 'auto': a 64-bit integer within 2^53 − 1 decodes as a number, a larger one as an exact bigint
// (KV flags are uint64; see catalog/state/flags.ts), never as a rounded number.
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'auto' as 'number' }); // msgpackr's typings lag its runtime, which supports 'auto'

/** Encodes one frame; throws if the value cannot be encoded. */
export function encodeFrame(kind: FrameKind, body: unknown, version = FRAME_VERSION): Buffer {
  const payload = packr.pack(body);
  const b = Buffer.allocUnsafe(FRAME_OVERHEAD + payload.length);
  b.writeUInt32BE(payload.length + 2, 0);
  b.writeUInt8(version, 4);
  b.writeUInt8(kind, 5);
  b.set(payload, FRAME_OVERHEAD);
  return b;
}

/** Copies every binary value in a decoded body into a fresh plain Uint8Array (no Buffer, no shared memory). */
function normalize(v: unknown, depth: number): unknown {
  if (depth > 64) throw new Error('nesting too deep');
  if (v instanceof Uint8Array) return new Uint8Array(v);
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = normalize(v[i], depth + 1);
    return v;
  }
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) o[k] = normalize(o[k], depth + 1);
  }
  return v;
}

export type FrameEvent =
  | { type: 'frame'; kind: number; body: unknown }
  | { type: 'error'; reason: 'oversize' | 'version' | 'malformed'; detail: string };

/**
 * Incremental frame decoder for one connection. After the first error it yields nothing
 * more: the caller must drop the connection, since the stream position is then unknown.
 */
export class FrameParser {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private failed = false;

  constructor(private readonly maxFrameSize: number) {}

  push(chunk: Buffer): FrameEvent[] {
    if (this.failed) return [];
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const out: FrameEvent[] = [];
    while (this.buffered >= FRAME_PREFIX) {
      const head = this.peek(FRAME_OVERHEAD);
      const len = head.readUInt32BE(0);
      if (len > this.maxFrameSize) return this.fail(out, 'oversize', `frame of ${len} bytes exceeds the limit of ${this.maxFrameSize}`);
      if (len < 2) return this.fail(out, 'malformed', `frame length ${len} too small`);
      if (head.length >= 5 && head.readUInt8(4) !== FRAME_VERSION) {
        return this.fail(out, 'version', `unknown frame version ${head.readUInt8(4)}`);
      }
      if (this.buffered < FRAME_PREFIX + len) break;
      const frame = this.take(FRAME_PREFIX + len);
      const kind = frame.readUInt8(5);
      let body: unknown;
      try {
        body = normalize(unpackr.unpack(frame.subarray(FRAME_OVERHEAD)), 0);
      } catch (err) {
        return this.fail(out, 'malformed', `undecodable body: ${(err as Error).message}`);
      }
      out.push({ type: 'frame', kind, body });
    }
    return out;
  }

  private fail(out: FrameEvent[], reason: 'oversize' | 'version' | 'malformed', detail: string): FrameEvent[] {
    this.failed = true;
    this.chunks = [];
    this.buffered = 0;
    out.push({ type: 'error', reason, detail });
    return out;
  }

  /** Up to `n` leading bytes without consuming them. */
  private peek(n: number): Buffer {
    const first = this.chunks[0] as Buffer;
    if (first.length >= n || this.chunks.length === 1) return first.subarray(0, n);
    return Buffer.concat(this.chunks).subarray(0, n);
  }

  private take(n: number): Buffer {
    const all = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks, this.buffered);
    const frame = all.subarray(0, n);
    const rest = all.subarray(n);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.buffered = rest.length;
    return frame;
  }
}
