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
/** Largest encoded tags (memberlist's MetaMaxSize). */
export const MAX_TAGS_BYTES = 512;
/** Largest user event payload plus name (Serf's UserEventSizeLimit). */
export const MAX_EVENT_BYTES = 512;
/** Longest node name accepted. */
export const MAX_NAME_BYTES = 128;

const enc = new TextEncoder();

export function utf8Length(s: string): number {
  return enc.encode(s).length;
}

/** Size of tags as counted against {@link MAX_TAGS_BYTES}: key and value bytes plus 2 per entry. */
export function tagsSize(tags: Tags): number {
  let n = 0;
  for (const [k, v] of Object.entries(tags)) n += utf8Length(k) + utf8Length(v) + 2;
  return n;
}

/**
 * Upper bound on a message's encoded size, used to fill packets without encoding twice.
 * Over-estimates (strings counted at 3 bytes per UTF-16 unit worst case is avoided by using
 * `length * 3` only for non-ASCII); never under-estimates the msgpack encoding.
 */
export function estimateSize(m: Message): number {
  const s = (x: string): number => x.length * 3 + 5;
  const num = 9;
  switch (m.t) {
    case MsgType.Ping:
      return 16 + num + s(m.target) + s(m.from);
    case MsgType.PingReq:
      return 32 + 2 * num + s(m.target) + s(m.addr) + s(m.from);
    case MsgType.Ack:
    case MsgType.Nack:
      return 12 + num;
    case MsgType.Suspect:
    case MsgType.Dead:
      return 20 + num + s(m.node) + s(m.from);
    case MsgType.Alive: {
      let n = 40 + 5 * num + s(m.node) + s(m.addr);
      for (const [k, v] of Object.entries(m.tags)) n += s(k) + s(v);
      return n;
    }
    case MsgType.PushPull: {
      let n = 32 + num + s(m.from);
      for (const st of m.states) {
        n += 48 + 6 * num + s(st.node) + s(st.addr);
        for (const [k, v] of Object.entries(st.tags)) n += s(k) + s(v);
      }
      return n;
    }
    case MsgType.UserEvent:
      return 24 + num + s(m.name) + m.payload.length + 5;
    case MsgType.KeyringOp:
      return 40 + num + s(m.id) + s(m.op) + s(m.key) + s(m.origin) + s(m.addr);
    case MsgType.KeyringAck:
      return 24 + s(m.id) + s(m.node) + s(m.error);
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
