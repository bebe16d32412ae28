import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { Packr, Unpackr } from 'msgpackr';
import {
  MAX_UDP_PACKET,
  MAX_EVENT_BYTES,
  MAX_NAME_BYTES,
  MAX_TAGS_BYTES,
  MsgType,
  WireStatus,
  tagsSize,
  type Message,
  type NodeState,
  type Packet,
  type Tags,
  type WireStatusValue,
} from './core/messages.js';

/**
 * Binary encoding of gossip packets: one version byte (the packet's protocol version)
 * followed by a msgpack array of messages, each an array `[type, ...fields]` in a fixed
 * order. Decoding is total: any input yields either a validated packet or an error value;
 * nothing throws out of the codec, and input longer than the caller's limit is refused
 * before it is parsed, so allocation is bounded by the limit.
 *
 * A datagram may instead carry `[[11, bytes]]`: the msgpack message array deflated (raw
 * DEFLATE, RFC 1951), like memberlist's compress message. The decoder inflates it with the
 * same byte limit on the output and then validates the messages as usual.
 */

/** Largest datagram accepted (UDP payload limit). */
export const MAX_DATAGRAM_BYTES = 65_507;
/** Largest TCP frame accepted (a push-pull of 20 000 members fits). */
export const MAX_FRAME_BYTES = 4 * 1024 * 1024;
/** Largest number of messages in one packet. */
export const MAX_MESSAGES = 1024;
/** Largest number of member states in one push-pull. */
export const MAX_STATES = 20_000;

/**
 * Largest plain datagram {@link encodeDatagrams} emits: {@link MAX_UDP_PACKET} less room for
 * the keyring's seal (29 bytes), so a sealed datagram still fits memberlist's UDP buffer size.
 */
export const MAX_PLAIN_DATAGRAM = MAX_UDP_PACKET - 32;
/** Packets smaller than this are sent as they are: deflate would not pay for its CPU. */
const COMPRESS_MIN_BYTES = 128;

export type DecodeResult = { ok: true; packet: Packet } | { ok: false; error: string };

const packr = new Packr({ useRecords: false, variableMapSize: true });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });

/** Encodes a packet. Throws only on a programming error (a message that is not well formed). */
export function encodePacket(p: Packet): Uint8Array {
  const body = packr.pack(p.msgs.map(toWire));
  const out = new Uint8Array(body.length + 1);
  out[0] = p.v & 0xff;
  out.set(body, 1);
  return out;
}

/**
 * Encodes a packet as one or more datagrams of at most `maxBytes` each (the packet's first
 * message, e.g. a ping or ack, always in the first). With `compress`, a packet of at least
 * 128 bytes is deflated when that makes it smaller. A datagram still over `maxBytes` is split
 * between its messages, halving until each part fits or is a single message. Deterministic:
 * equal packets give equal bytes.
 */
export function encodeDatagrams(p: Packet, compress: boolean, maxBytes = MAX_PLAIN_DATAGRAM): Uint8Array[] {
  const plain = encodePacket(p);
  let out = plain;
  if (compress && plain.length >= COMPRESS_MIN_BYTES) {
    const wrapped = packr.pack([[MsgType.Compressed, deflateRawSync(plain.subarray(1))]]);
    if (wrapped.length + 1 < plain.length) {
      out = new Uint8Array(wrapped.length + 1);
      out[0] = p.v & 0xff;
      out.set(wrapped, 1);
    }
  }
  if (out.length <= maxBytes || p.msgs.length < 2) return [out];
  const half = Math.ceil(p.msgs.length / 2);
  return [
    ...encodeDatagrams({ v: p.v, msgs: p.msgs.slice(0, half) }, compress, maxBytes),
    ...encodeDatagrams({ v: p.v, msgs: p.msgs.slice(half) }, compress, maxBytes),
  ];
}

/** Decodes and validates. Never throws. */
export function decodePacket(buf: Uint8Array, maxBytes = MAX_DATAGRAM_BYTES): DecodeResult {
  try {
    if (!(buf instanceof Uint8Array)) return fail('not a byte array');
    if (buf.length < 2) return fail('packet too short');
    if (buf.length > maxBytes) return fail(`packet of ${buf.length} bytes exceeds ${maxBytes}`);
    const v = buf[0] as number;
    if (v === 0) return fail('bad version byte 0');
    let raw: unknown;
    try {
      raw = unpackr.unpack(buf.subarray(1));
    } catch (err) {
      return fail(`malformed msgpack: ${(err as Error)?.message ?? String(err)}`);
    }
    if (!Array.isArray(raw)) return fail('body is not an array');
    if (raw.length === 1 && isArr(raw[0]) && raw[0][0] === MsgType.Compressed) {
      const w = raw[0] as unknown[];
      if (w.length !== 2 || !(w[1] instanceof Uint8Array)) return fail('malformed compressed message');
      let body: Uint8Array;
      try {
        body = inflateRawSync(w[1], { maxOutputLength: maxBytes });
      } catch (err) {
        return fail(`bad compressed body: ${(err as Error)?.message ?? String(err)}`);
      }
      try {
        raw = unpackr.unpack(body);
      } catch (err) {
        return fail(`malformed msgpack: ${(err as Error)?.message ?? String(err)}`);
      }
      if (!Array.isArray(raw)) return fail('body is not an array');
    }
    if (raw.length === 0 || raw.length > MAX_MESSAGES) return fail(`bad message count ${raw.length}`);
    const msgs: Message[] = [];
    for (const w of raw) {
      const m = fromWire(w);
      if (typeof m === 'string') return fail(m);
      msgs.push(m);
    }
    return { ok: true, packet: { v, msgs } };
  } catch (err) {
    return fail(`decode failed: ${String(err)}`);
  }
}

function fail(error: string): DecodeResult {
  return { ok: false, error: `swim: codec: ${error}` };
}

function toWire(m: Message): unknown[] {
  switch (m.t) {
    case MsgType.Ping:
      return [m.t, m.seq, m.target, m.from];
    case MsgType.PingReq:
      return [m.t, m.seq, m.target, m.addr, m.port, m.nack, m.from];
    case MsgType.Ack:
    case MsgType.Nack:
      return [m.t, m.seq];
    case MsgType.Suspect:
      return [m.t, m.node, m.inc, m.from];
    case MsgType.Dead:
      return m.prune ? [m.t, m.node, m.inc, m.from, true] : [m.t, m.node, m.inc, m.from];
    case MsgType.Alive:
      return [m.t, m.node, m.inc, m.addr, m.port, m.tags, m.vsn];
    case MsgType.PushPull:
      return [m.t, m.from, m.join, m.reply, m.eventClock, m.states.map((s) => [s.node, s.addr, s.port, s.tags, s.inc, s.status, s.vsn])];
    case MsgType.UserEvent:
      return [m.t, m.ltime, m.name, m.payload, m.coalesce];
    case MsgType.KeyringOp:
      return [m.t, m.id, m.op, m.key, m.origin, m.addr, m.port];
    case MsgType.KeyringAck:
      return [m.t, m.id, m.node, m.ok, m.error];
  }
}

const isArr = Array.isArray;
const u = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
const port = (x: unknown): x is number => u(x) && x <= 65535;
const str = (x: unknown, max: number, allowEmpty = false): x is string =>
  typeof x === 'string' && x.length <= max && (allowEmpty || x.length > 0);
const name = (x: unknown): x is string => str(x, MAX_NAME_BYTES);
const addr = (x: unknown): x is string => str(x, 256);
const bool = (x: unknown): x is boolean => typeof x === 'boolean';

function tags(x: unknown): Tags | undefined {
  if (typeof x !== 'object' || x === null || isArr(x) || x instanceof Uint8Array) return undefined;
  const out: Tags = {};
  const entries = Object.entries(x as Record<string, unknown>);
  if (entries.length > 64) return undefined;
  for (const [k, v] of entries) {
    if (typeof v !== 'string' || k === '__proto__') return undefined;
    out[k] = v;
  }
  return tagsSize(out) <= MAX_TAGS_BYTES ? out : undefined;
}

function vsn(x: unknown): [number, number, number] | undefined {
  if (!isArr(x) || x.length !== 3 || !x.every((n) => u(n) && n < 256)) return undefined;
  return [x[0], x[1], x[2]];
}

function fromWire(w: unknown): Message | string {
  if (!isArr(w) || w.length === 0) return 'message is not an array';
  const [t] = w;
  switch (t) {
    case MsgType.Ping:
      if (w.length === 4 && u(w[1]) && name(w[2]) && name(w[3])) return { t, seq: w[1], target: w[2], from: w[3] };
      break;
    case MsgType.PingReq:
      if (w.length === 7 && u(w[1]) && name(w[2]) && addr(w[3]) && port(w[4]) && bool(w[5]) && name(w[6])) {
        return { t, seq: w[1], target: w[2], addr: w[3], port: w[4], nack: w[5], from: w[6] };
      }
      break;
    case MsgType.Ack:
    case MsgType.Nack:
      if (w.length === 2 && u(w[1])) return { t, seq: w[1] };
      break;
    case MsgType.Suspect:
      if (w.length === 4 && name(w[1]) && u(w[2]) && name(w[3])) return { t, node: w[1], inc: w[2], from: w[3] };
      break;
    case MsgType.Dead:
      if ((w.length === 4 || (w.length === 5 && w[4] === true)) && name(w[1]) && u(w[2]) && name(w[3])) {
        return w.length === 5 ? { t, node: w[1], inc: w[2], from: w[3], prune: true } : { t, node: w[1], inc: w[2], from: w[3] };
      }
      break;
    case MsgType.Alive: {
      if (w.length !== 7 || !name(w[1]) || !u(w[2]) || !addr(w[3]) || !port(w[4])) break;
      const tg = tags(w[5]);
      const vs = vsn(w[6]);
      if (tg && vs) return { t, node: w[1], inc: w[2], addr: w[3], port: w[4], tags: tg, vsn: vs };
      break;
    }
    case MsgType.PushPull: {
      if (w.length !== 6 || !name(w[1]) || !bool(w[2]) || !bool(w[3]) || !u(w[4]) || !isArr(w[5]) || w[5].length > MAX_STATES) break;
      const states: NodeState[] = [];
      for (const s of w[5] as unknown[]) {
        if (!isArr(s) || s.length !== 7 || !name(s[0]) || !addr(s[1]) || !port(s[2]) || !u(s[4])) return 'bad push-pull state';
        const tg = tags(s[3]);
        const vs = vsn(s[6]);
        const st = s[5];
        if (!tg || !vs || !(st === WireStatus.Alive || st === WireStatus.Suspect || st === WireStatus.Dead || st === WireStatus.Left)) {
          return 'bad push-pull state';
        }
        states.push({ node: s[0], addr: s[1], port: s[2], tags: tg, inc: s[4], status: st as WireStatusValue, vsn: vs });
      }
      return { t, from: w[1], join: w[2], reply: w[3], eventClock: w[4], states };
    }
    case MsgType.UserEvent:
      if (w.length === 5 && u(w[1]) && str(w[2], MAX_EVENT_BYTES) && w[3] instanceof Uint8Array && w[3].length <= MAX_EVENT_BYTES && bool(w[4])) {
        return { t, ltime: w[1], name: w[2], payload: new Uint8Array(w[3]), coalesce: w[4] };
      }
      break;
    case MsgType.KeyringOp:
      if (w.length === 7 && str(w[1], 256) && (w[2] === 'install' || w[2] === 'use' || w[2] === 'remove') && str(w[3], 128) && name(w[4]) && addr(w[5]) && port(w[6])) {
        return { t, id: w[1], op: w[2], key: w[3], origin: w[4], addr: w[5], port: w[6] };
      }
      break;
    case MsgType.KeyringAck:
      if (w.length === 5 && str(w[1], 256) && name(w[2]) && bool(w[3]) && str(w[4], 1024, true)) {
        return { t, id: w[1], node: w[2], ok: w[3], error: w[4] };
      }
      break;
    default:
      return `unknown message type ${String(t)}`;
  }
  return `malformed message of type ${String(t)}`;
}
