/**
 * Gossip protocol messages. Plain data only; every message survives a codec round trip
 * unchanged. Message type numbers are append-only: never renumber or reuse one.
 */

/** Wire protocol version carried by every packet. Bump on incompatible changes. */
export const PROTOCOL_VERSION = 1;
/** Oldest wire protocol version this build understands. */
export const PROTOCOL_MIN = 1;
/** Newest wire protocol version this build understands. */
export const PROTOCOL_MAX = 1;

/** Node tags (memberlist "meta"): small string map such as role, dc, ports, version. */
export type Tags = Record<string, string>;

/** `host:port`, with IPv6 hosts in brackets: `[::1]:7946`. */
export type Address = string;

export const MsgType = {
  Ping: 0,
  PingReq: 1,
  Ack: 2,
  Nack: 3,
  Suspect: 4,
  Alive: 5,
  Dead: 6,
  PushPull: 7,
  UserEvent: 8,
  KeyringOp: 9,
  KeyringAck: 10,
  /**
   * Wire only, never a {@link Message}: the codec's wrapper `[11, deflated body]` for a
   * compressed datagram (memberlist's compress message); the decoder unwraps it.
   */
  Compressed: 11,
} as const;

/** Direct probe. `target` is the name the sender believes lives at the address. */
export interface PingMsg {
  t: typeof MsgType.Ping;
  seq: number;
  target: string;
  from: string;
}

/** Indirect probe request: "ping `target` at `addr:port` for me and forward the ack". */
export interface PingReqMsg {
  t: typeof MsgType.PingReq;
  seq: number;
  target: string;
  addr: string;
  port: number;
  /** The requester wants a nack if the target does not answer in time (Lifeguard). */
  nack: boolean;
  from: string;
}

export interface AckMsg {
  t: typeof MsgType.Ack;
  seq: number;
}

/** Sent by an indirect prober whose own ping to the target went unanswered. */
export interface NackMsg {
  t: typeof MsgType.Nack;
  seq: number;
}

export interface SuspectMsg {
  t: typeof MsgType.Suspect;
  node: string;
  inc: number;
  from: string;
}

export interface AliveMsg {
  t: typeof MsgType.Alive;
  node: string;
  inc: number;
  addr: string;
  port: number;
  tags: Tags;
  /** [protocolMin, protocolMax, protocolCur]. */
  vsn: [number, number, number];
}

/** `from === node` means a graceful leave (recorded as `left`); otherwise a failure verdict. */
export interface DeadMsg {
  t: typeof MsgType.Dead;
  node: string;
  inc: number;
  from: string;
  /** Force-leave with prune: receivers drop the member from their lists at once. */
  prune?: boolean;
}

/** Wire status of a member in push-pull state. Append-only. */
export const WireStatus = { Alive: 0, Suspect: 1, Dead: 2, Left: 3 } as const;
export type WireStatusValue = (typeof WireStatus)[keyof typeof WireStatus];

export interface NodeState {
  node: string;
  addr: string;
  port: number;
  tags: Tags;
  inc: number;
  status: WireStatusValue;
  vsn: [number, number, number];
}

/** Full state exchange, carried over TCP. `reply` is set on the answer so it is not answered again. */
export interface PushPullMsg {
  t: typeof MsgType.PushPull;
  /** Sender's name: suspicions learned from its state are attributed to it, not to the receiver. */
  from: string;
  join: boolean;
  reply: boolean;
  states: NodeState[];
  /** Sender's user-event Lamport clock. */
  eventClock: number;
}

/** Serf-style user event, ordered by Lamport time. */
export interface UserEventMsg {
  t: typeof MsgType.UserEvent;
  ltime: number;
  name: string;
  payload: Uint8Array;
  coalesce: boolean;
}

export type KeyringOpKind = 'install' | 'use' | 'remove';

/** Cluster-wide keyring change; every member applies it and answers the origin with a KeyringAck. */
export interface KeyringOpMsg {
  t: typeof MsgType.KeyringOp;
  id: string;
  op: KeyringOpKind;
  key: string;
  origin: string;
  addr: string;
  port: number;
}

export interface KeyringAckMsg {
  t: typeof MsgType.KeyringAck;
  id: string;
  node: string;
  ok: boolean;
  error: string;
}

export type Message =
  | PingMsg
  | PingReqMsg
  | AckMsg
  | NackMsg
  | SuspectMsg
  | AliveMsg
  | DeadMsg
  | PushPullMsg
  | UserEventMsg
  | KeyringOpMsg
  | KeyringAckMsg;

/** Unit of transmission: one UDP datagram or one TCP frame. Carries the protocol version. */
export interface Packet {
  v: number;
  msgs: Message[];
}

/** Largest UDP payload the core builds (memberlist's UDPBufferSize), before encryption. */
export const MAX_UDP_PACKET = 1400;
/** Bytes reserved per packet for version, framing and encryption overhead. */
export const PACKET_OVERHEAD = 64;
/**
 * With compression on, the core fills a packet with up to this many bytes of (uncompressed)
 * messages; the codec deflates it into one datagram of at most {@link MAX_UDP_PACKET} bytes
 * or, when it does not compress that well, splits it into as many as needed.
 */
export const COMPRESSED_PACKET_BYTES = 4 * MAX_UDP_PACKET;
/** Largest encoded tags (memberlist's MetaMaxSize). */
export const MAX_TAGS_BYTES = 512;
/** Largest user event payload plus name (Serf's UserEventSizeLimit). */
export const MAX_EVENT_BYTES = 512;
/** Longest node name accepted. */
export const MAX_NAME_BYTES = 128;

/**
 * Bytes of `s` encoded as UTF-8, as TextEncoder encodes it (a lone surrogate becomes U+FFFD,
 * 3 bytes), counted without encoding: it runs for every message sized into a datagram.
 */
export function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) {
      n += 1;
    } else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 2; // a surrogate pair: two UTF-16 units, four bytes
      i++;
    } else {
      n += 2;
    }
  }
  return n;
}

/** Size of tags as counted against {@link MAX_TAGS_BYTES}: key and value bytes plus 2 per entry. */
export function tagsSize(tags: Tags): number {
  let n = 0;
  for (const [k, v] of Object.entries(tags)) n += utf8Length(k) + utf8Length(v) + 2;
  return n;
}

/** Encoded bytes of a string: UTF-8 length plus the msgpack str header. */
function strSize(x: string): number {
  const n = utf8Length(x);
  return n + (n < 0x20 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : 5);
}

/** Encoded bytes of a number: msgpack's smallest unsigned form (fixint up to 127), else 9. */
function numSize(x: number): number {
  if (!Number.isInteger(x) || x < 0) return 9;
  return x < 0x80 ? 1 : x < 0x100 ? 2 : x < 0x10000 ? 3 : x <= 0xffffffff ? 5 : 9;
}

/** Header bytes of a msgpack array or map with `n` entries. */
function headerSize(n: number): number {
  return n < 16 ? 1 : n < 0x10000 ? 3 : 5;
}

function tagsEncodedSize(tags: Tags): number {
  const entries = Object.entries(tags);
  let n = headerSize(entries.length);
  for (const [k, v] of entries) n += strSize(k) + strSize(v);
  return n;
}

function vsnSize(v: readonly number[]): number {
  let n = headerSize(v.length);
  for (const x of v) n += numSize(x);
  return n;
}

/**
 * Encoded size in bytes of one message inside a packet's message array, exactly as the codec
 * writes it (`[type, ...fields]` in msgpack, smallest integer and string forms). Used to fill
 * packets up to their byte budget without encoding twice; the codec tests hold it equal to
 * the encoder's output, so a packet filled by it never exceeds the budget.
 */
export function estimateSize(m: Message): number {
  const b = 1; // fixint type number
  switch (m.t) {
    case MsgType.Ping:
      return 1 + b + numSize(m.seq) + strSize(m.target) + strSize(m.from);
    case MsgType.PingReq:
      return 1 + b + numSize(m.seq) + strSize(m.target) + strSize(m.addr) + numSize(m.port) + 1 + strSize(m.from);
    case MsgType.Ack:
    case MsgType.Nack:
      return 1 + b + numSize(m.seq);
    case MsgType.Suspect:
      return 1 + b + strSize(m.node) + numSize(m.inc) + strSize(m.from);
    case MsgType.Dead:
      return 1 + b + strSize(m.node) + numSize(m.inc) + strSize(m.from) + (m.prune ? 1 : 0);
    case MsgType.Alive:
      return 1 + b + strSize(m.node) + numSize(m.inc) + strSize(m.addr) + numSize(m.port) + tagsEncodedSize(m.tags) + vsnSize(m.vsn);
    case MsgType.PushPull: {
      let n = 1 + b + strSize(m.from) + 1 + 1 + numSize(m.eventClock) + headerSize(m.states.length);
      for (const st of m.states) {
        n += 1 + strSize(st.node) + strSize(st.addr) + numSize(st.port) + tagsEncodedSize(st.tags) + numSize(st.inc) + 1 + vsnSize(st.vsn);
      }
      return n;
    }
    case MsgType.UserEvent: {
      const p = m.payload.length;
      return 1 + b + numSize(m.ltime) + strSize(m.name) + p + (p < 0x100 ? 2 : p < 0x10000 ? 3 : 5) + 1;
    }
    case MsgType.KeyringOp:
      return 1 + b + strSize(m.id) + strSize(m.op) + strSize(m.key) + strSize(m.origin) + strSize(m.addr) + numSize(m.port);
    case MsgType.KeyringAck:
      return 1 + b + strSize(m.id) + strSize(m.node) + 1 + strSize(m.error);
  }
}

export function formatAddress(host: string, port: number): Address {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Inverse of {@link formatAddress}; undefined for malformed input. A bare host gets `defaultPort`. */
export function parseAddress(a: string, defaultPort?: number): { host: string; port: number } | undefined {
  let host: string;
  let portStr: string | undefined;
  const m6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(a);
  if (m6) {
    host = m6[1] as string;
    portStr = m6[2];
  } else {
    const i = a.lastIndexOf(':');
    if (i >= 0 && a.indexOf(':') === i) {
      host = a.slice(0, i);
      portStr = a.slice(i + 1);
    } else if (i < 0) {
      host = a;
    } else {
      host = a; // bare IPv6 without port
    }
  }
  if (!host) return undefined;
  const port = portStr === undefined ? defaultPort : Number(portStr);
  if (port === undefined || !Number.isInteger(port) || port < 0 || port > 65535) return undefined;
  return { host, port };
}
