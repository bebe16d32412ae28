/**
 * {@link TcpTransport}: the {@link RaftTransport} between servers. Frames are described in
 * transport-frame.ts.
 *
 * Contract:
 * - One outbound connection per peer, dialled when the peer is set and redialled after it
 *   drops, with capped exponential backoff (with jitter). Inbound connections (peers
 *   dialling us) only carry messages towards this node.
 * - `send()` never throws and never blocks: a message is queued for its peer; a full queue
 *   drops its oldest message (Raft retransmits). Messages to unknown peers, messages that
 *   cannot be encoded, messages not from this node and messages larger than `maxFrameSize`
 *   are dropped. Every drop is counted in {@link TcpTransport.stats}.
 * - Any inbound protocol violation (unknown frame version, frame larger than
 *   `maxFrameSize`, undecodable body, no Hello first, a message whose `from` is not the
 *   Hello's node id or whose `to` is not this node) is counted and closes that
 *   connection. Garbage never throws out of the transport.
 * - Delivery is at most once and in order per connection; nothing is retried once
 *   written to a socket.
 * - Liveness of an outbound connection: the receiving side acknowledges what it reads with
 *   one ack byte: at once when it has not acked within the last `ackIntervalMs`, else once
 *   at the end of that interval (so at most one ack per interval, and data read is acked
 *   within `ackIntervalMs`; an ack is a system call and wakes the sender, which under load
 *   would otherwise cost two per batch of Raft messages). A connection that does not connect within `connectTimeoutMs`, or
 *   whose peer has acked before but has acked nothing for `stallTimeoutMs` while data was
 *   outstanding, is closed and redialled. Without this a silently dropped path (a partition,
 *   a pulled cable) keeps a connection "open" while the kernel backs its retransmissions off
 *   for minutes, so the leader would not reach a follower long after the path heals. Peers
 *   that never ack (older versions) are not held to the stall rule.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { pino, type Logger } from 'pino';
import type { RaftTransport } from './types.js';
import { FrameKind, FrameParser, encodeFrame, FRAME_PREFIX, type Hello } from './transport-frame.js';

/** A timer handle; structurally the `TimerHandle` of agent/runtime/clock.ts. */
export interface TransportTimerHandle {
  readonly id: number;
}

/**
 * The part of a Clock the transport uses. `agent/runtime` `Clock` satisfies it
 * structurally (catalog/ does not import agent/), so the agent injects its clock.
 */
export interface TransportTimers {
  setTimeout(fn: () => void, ms: number): TransportTimerHandle;
  clearTimeout(handle: TransportTimerHandle | undefined): void;
}

/** Node's timers behind {@link TransportTimers}; the default. */
function realTimers(): TransportTimers {
  const live = new Map<number, NodeJS.Timeout>();
  let next = 0;
  return {
    setTimeout(fn, ms) {
      const id = ++next;
      live.set(id, setTimeout(() => {
        live.delete(id);
        fn();
      }, Math.max(0, ms)));
      return { id };
    },
    clearTimeout(handle) {
      if (!handle) return;
      clearTimeout(live.get(handle.id));
      live.delete(handle.id);
    },
  };
}

export class TransportError extends Error {
  override name = 'TransportError';
}

export interface TcpTransportOptions {
  /** This node's id: sent in the Hello and required as `to` of inbound messages. */
  nodeId: string;
  /** Listen address, default 127.0.0.1; port default 0 (any free port). */
  host?: string;
  port?: number;
  /** Largest accepted frame, bytes after the length prefix. Default 64 MiB (snapshots travel in one message). */
  maxFrameSize?: number;
  /** Messages queued per peer while disconnected or backpressured. Default 1024. */
  sendQueueLimit?: number;
  /** Reconnect backoff: first delay and cap, ms. Defaults 50 and 1000. */
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  /** An outbound dial that has not connected within this time is abandoned (and retried). Default 1000 ms. */
  connectTimeoutMs?: number;
  /** An outbound connection with data unacknowledged this long is closed (and redialled). Default 2000 ms. */
  stallTimeoutMs?: number;
  /**
   * Acks on an inbound connection are at most this far apart while data flows, and data is
   * acked at most this long after it was read. Must stay well below the peers'
   * `stallTimeoutMs`. Default 50 ms.
   */
  ackIntervalMs?: number;
  /** An inbound connection that has not sent its Hello within this time is closed. Default 5000 ms. */
  handshakeTimeoutMs?: number;
  /**
   * Bytes written first on every outbound connection, before the Hello: the protocol byte
   * when servers share one port between Raft and RPC (see agent/rpc/mux.ts). Default none.
   */
  connectPreamble?: Uint8Array;
  /** Inbound connections allowed at once. Default 256. */
  maxInboundConnections?: number;
  /** Timer source for redial and handshake timeouts; default Node timers. */
  clock?: TransportTimers;
  /** Jitter source in [0, 1) (e.g. a seeded `Rng`); default Math.random. */
  rng?: { next(): number };
  logger?: Logger;
}

export interface TransportStats {
  sent: number;
  received: number;
  droppedQueueFull: number;
  droppedUnknownPeer: number;
  /** `send()` of a message whose `from` is not this node (the receiver would reject it). */
  droppedBadSender: number;
  droppedUnencodable: number;
  droppedOversize: number;
  rejectedVersion: number;
  rejectedOversize: number;
  rejectedMalformed: number;
  rejectedMisaddressed: number;
  connects: number;
  connectFailures: number;
  /** Dials abandoned after `connectTimeoutMs`. */
  connectTimeouts: number;
  /** Outbound connections closed because the peer stopped acknowledging. */
  stalls: number;
}

interface Peer {
  id: string;
  host: string;
  port: number;
  queue: Buffer[];
  socket: Socket | undefined;
  connected: boolean;
  blocked: boolean;
  backoffMs: number;
  timer: TransportTimerHandle | undefined;
  connectTimer: TransportTimerHandle | undefined;
  /** Ack bytes received from this peer (any connection); `ackSeen` once it ever acked. */
  acks: number;
  ackSeen: boolean;
  /** Data written since the last ack. */
  unacked: boolean;
  /** A flush is queued as a microtask: messages sent in one synchronous run leave in one write. */
  flushQueued: boolean;
  stallTimer: TransportTimerHandle | undefined;
  stallMark: number;
}

const ACK = Buffer.of(0);

/** Splits "host:port" or "[v6]:port". */
export function parseAddress(address: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(address);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port < 1 || port > 65535) throw new TransportError(`raft: transport: bad address "${address}", want host:port`);
  return { host: (m[1] ?? m[2]) as string, port };
}

function isMessageShape(v: unknown): v is { from: string; to: string } {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && typeof (v as { from?: unknown }).from === 'string' && typeof (v as { to?: unknown }).to === 'string';
}

export class TcpTransport<M extends { from: string; to: string }> implements RaftTransport<M> {
  private readonly peers = new Map<string, Peer>();
  private readonly inbound = new Set<Socket>();
  private handler: ((msg: M) => void) | undefined;
  private closed = false;
  private readonly clock: TransportTimers;
  private readonly rng: { next(): number };
  private readonly logger: Logger;
  private readonly maxFrameSize: number;
  private readonly queueLimit: number;
  private readonly backoffInitial: number;
  private readonly backoffMax: number;
  private readonly counters: TransportStats = {
    sent: 0,
    received: 0,
    droppedQueueFull: 0,
    droppedUnknownPeer: 0,
    droppedBadSender: 0,
    droppedUnencodable: 0,
    droppedOversize: 0,
    rejectedVersion: 0,
    rejectedOversize: 0,
    rejectedMalformed: 0,
    rejectedMisaddressed: 0,
    connects: 0,
    connectFailures: 0,
    connectTimeouts: 0,
    stalls: 0,
  };

  private constructor(
    private readonly opts: TcpTransportOptions,
    private readonly server: Server | undefined,
  ) {
    this.clock = opts.clock ?? realTimers();
    this.rng = opts.rng ?? { next: Math.random };
    this.logger = (opts.logger ?? pino({ level: 'silent' })).child({ component: 'raft-transport' });
    this.maxFrameSize = opts.maxFrameSize ?? 64 * 1024 * 1024;
    this.queueLimit = opts.sendQueueLimit ?? 1024;
    this.backoffInitial = opts.backoffInitialMs ?? 50;
    this.backoffMax = opts.backoffMaxMs ?? 1000;
    server?.on('connection', (s) => this.accept(s));
    server?.on('error', (err) => this.logger.error({ err }, 'raft: transport: listener error'));
  }

  /**
   * A transport without a listener of its own: inbound connections are handed to
   * {@link acceptConnection} by whoever owns the port (the server port multiplexer).
   */
  static detached<M extends { from: string; to: string }>(opts: TcpTransportOptions): TcpTransport<M> {
    if (!opts.nodeId) throw new TransportError('raft: transport: nodeId is required');
    return new TcpTransport<M>(opts, undefined);
  }

  /** Takes over an inbound connection whose protocol byte (if any) was already consumed. */
  acceptConnection(socket: Socket): void {
    this.accept(socket);
  }

  /** Starts listening; resolves once bound. */
  static async listen<M extends { from: string; to: string }>(opts: TcpTransportOptions): Promise<TcpTransport<M>> {
    if (!opts.nodeId) throw new TransportError('raft: transport: nodeId is required');
    const server = createServer({ noDelay: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    return new TcpTransport<M>(opts, server);
  }

  /** The bound listen address as "host:port". */
  get address(): string {
    const a = this.server?.address();
    if (!a || typeof a === 'string') throw new TransportError('raft: transport: not listening');
    return a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
  }

  get nodeId(): string {
    return this.opts.nodeId;
  }

  stats(): TransportStats {
    return { ...this.counters };
  }

  onMessage(handler: (msg: M) => void): void {
    this.handler = handler;
  }

  send(msg: M): void {
    if (this.closed) return;
    if (msg.from !== this.opts.nodeId) {
      this.counters.droppedBadSender++;
      return;
    }
    const peer = this.peers.get(msg.to);
    if (!peer) {
      this.counters.droppedUnknownPeer++;
      return;
    }
    let frame: Buffer;
    try {
      frame = encodeFrame(FrameKind.Message, msg);
    } catch (err) {
      this.counters.droppedUnencodable++;
      this.logger.warn({ err, to: msg.to }, 'raft: transport: cannot encode message, dropped');
      return;
    }
    if (frame.length - FRAME_PREFIX > this.maxFrameSize) {
      this.counters.droppedOversize++;
      this.logger.warn({ to: msg.to, bytes: frame.length }, 'raft: transport: message larger than maxFrameSize, dropped');
      return;
    }
    peer.queue.push(frame);
    if (peer.queue.length > this.queueLimit) {
      peer.queue.shift();
      this.counters.droppedQueueFull++;
    }
    if (!peer.flushQueued) {
      peer.flushQueued = true;
      queueMicrotask(() => {
        peer.flushQueued = false;
        this.flush(peer);
      });
    }
  }

  setPeer(id: string, address: string): void {
    if (this.closed) return;
    const { host, port } = parseAddress(address);
    const existing = this.peers.get(id);
    if (existing) {
      if (existing.host === host && existing.port === port) return;
      existing.host = host;
      existing.port = port;
      this.disconnect(existing);
      existing.backoffMs = this.backoffInitial;
      this.dial(existing);
      return;
    }
    const peer: Peer = {
      id, host, port, queue: [], socket: undefined, connected: false, blocked: false, backoffMs: this.backoffInitial, timer: undefined,
      connectTimer: undefined, acks: 0, ackSeen: false, unacked: false, flushQueued: false, stallTimer: undefined, stallMark: 0,
    };
    this.peers.set(id, peer);
    this.dial(peer);
  }

  removePeer(id: string): void {
    const peer = this.peers.get(id);
    if (!peer) return;
    this.peers.delete(id);
    this.disconnect(peer);
    peer.queue = [];
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.peers.values()) this.disconnect(p);
    this.peers.clear();
    for (const s of this.inbound) s.destroy();
    this.inbound.clear();
    const server = this.server;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  // ---- outbound ---------------------------------------------------------------------

  private dial(peer: Peer): void {
    if (this.closed || this.peers.get(peer.id) !== peer || peer.socket) return;
    const socket = connect({ host: peer.host, port: peer.port, noDelay: true });
    peer.socket = socket;
    socket.setKeepAlive(true, 10_000);
    peer.connectTimer = this.clock.setTimeout(() => {
      peer.connectTimer = undefined;
      if (peer.socket !== socket || peer.connected) return;
      this.counters.connectTimeouts++;
      this.logger.debug({ peer: peer.id }, 'raft: transport: connect timed out');
      socket.destroy();
    }, this.opts.connectTimeoutMs ?? 1000);
    socket.on('connect', () => {
      this.clock.clearTimeout(peer.connectTimer);
      peer.connectTimer = undefined;
      this.counters.connects++;
      peer.connected = true;
      peer.backoffMs = this.backoffInitial;
      const hello: Hello = { nodeId: this.opts.nodeId };
      if (this.opts.connectPreamble) socket.write(this.opts.connectPreamble);
      socket.write(encodeFrame(FrameKind.Hello, hello));
      this.logger.debug({ peer: peer.id }, 'raft: transport: connected');
      this.flush(peer);
    });
    socket.on('data', () => {
      // Only ack bytes come back on an outbound connection.
      peer.acks++;
      peer.ackSeen = true;
      peer.unacked = false;
    });
    socket.on('error', (err) => this.logger.debug({ peer: peer.id, err: err.message }, 'raft: transport: connection error'));
    socket.on('close', () => {
      if (peer.socket !== socket) return;
      if (!peer.connected) this.counters.connectFailures++;
      this.clearLiveness(peer);
      peer.socket = undefined;
      peer.connected = false;
      peer.blocked = false;
      this.scheduleRedial(peer);
    });
  }

  private clearLiveness(peer: Peer): void {
    this.clock.clearTimeout(peer.connectTimer);
    this.clock.clearTimeout(peer.stallTimer);
    peer.connectTimer = undefined;
    peer.stallTimer = undefined;
    peer.unacked = false;
  }

  /** Arms the stall check for data just written on `socket` (see the liveness contract). */
  private watchAcks(peer: Peer, socket: Socket): void {
    peer.unacked = true;
    if (peer.stallTimer) return;
    peer.stallMark = peer.acks;
    peer.stallTimer = this.clock.setTimeout(() => {
      peer.stallTimer = undefined;
      if (peer.socket !== socket || !peer.unacked) return;
      if (peer.acks !== peer.stallMark) {
        this.watchAcks(peer, socket); // acked meanwhile; newer data is outstanding
        return;
      }
      if (!peer.ackSeen) return; // a peer that never acks is not held to the rule
      this.counters.stalls++;
      this.logger.warn({ peer: peer.id, ms: this.opts.stallTimeoutMs ?? 2000 }, 'raft: transport: peer stopped acknowledging; reconnecting');
      this.disconnect(peer);
      this.scheduleRedial(peer);
    }, this.opts.stallTimeoutMs ?? 2000);
  }

  private scheduleRedial(peer: Peer): void {
    if (this.closed || this.peers.get(peer.id) !== peer || peer.timer) return;
    const delay = peer.backoffMs / 2 + this.rng.next() * (peer.backoffMs / 2);
    peer.backoffMs = Math.min(peer.backoffMs * 2, this.backoffMax);
    peer.timer = this.clock.setTimeout(() => {
      peer.timer = undefined;
      this.dial(peer);
    }, delay);
  }

  private disconnect(peer: Peer): void {
    this.clock.clearTimeout(peer.timer);
    peer.timer = undefined;
    this.clearLiveness(peer);
    const s = peer.socket;
    peer.socket = undefined;
    peer.connected = false;
    peer.blocked = false;
    s?.destroy();
  }

  private flush(peer: Peer): void {
    const socket = peer.socket;
    if (!socket || !peer.connected || peer.blocked) return;
    if (peer.queue.length > 0) this.watchAcks(peer, socket);
    while (peer.queue.length > 0) {
      // Everything queued goes out in one write (one syscall), up to the first refusal.
      const frames = peer.queue.splice(0, peer.queue.length);
      this.counters.sent += frames.length;
      if (!socket.write(frames.length === 1 ? frames[0]! : Buffer.concat(frames))) {
        peer.blocked = true;
        socket.once('drain', () => {
          if (peer.socket !== socket) return;
          peer.blocked = false;
          this.flush(peer);
        });
        return;
      }
    }
  }

  // ---- inbound ----------------------------------------------------------------------

  private accept(socket: Socket): void {
    if (this.closed || this.inbound.size >= (this.opts.maxInboundConnections ?? 256)) {
      socket.destroy();
      return;
    }
    this.inbound.add(socket);
    const parser = new FrameParser(this.maxFrameSize);
    let peerId: string | undefined;
    const handshake = this.clock.setTimeout(() => {
      if (peerId === undefined) this.reject(socket, 'rejectedMalformed', 'no hello before the handshake timeout');
    }, this.opts.handshakeTimeoutMs ?? 5000);
    // Ack pacing (see the liveness contract): while `ackTimer` runs, reads only mark an ack as owed.
    let ackTimer: TransportTimerHandle | undefined;
    let ackOwed = false;
    const ackInterval = this.opts.ackIntervalMs ?? 50;
    const ackQuietly = (): void => {
      ackTimer = this.clock.setTimeout(() => {
        ackTimer = undefined;
        if (!ackOwed || socket.destroyed) return;
        ackOwed = false;
        socket.write(ACK);
        ackQuietly();
      }, ackInterval);
    };
    const ack = (): void => {
      if (ackTimer) {
        ackOwed = true;
        return;
      }
      socket.write(ACK);
      ackQuietly();
    };
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.clock.clearTimeout(handshake);
      this.clock.clearTimeout(ackTimer);
      ackTimer = undefined;
      this.inbound.delete(socket);
    });
    socket.on('data', (chunk: Buffer) => {
      for (const ev of parser.push(chunk)) {
        if (socket.destroyed) return;
        if (ev.type === 'error') {
          const counter = ev.reason === 'version' ? 'rejectedVersion' : ev.reason === 'oversize' ? 'rejectedOversize' : 'rejectedMalformed';
          this.reject(socket, counter, ev.detail);
          return;
        }
        if (peerId === undefined) {
          const hello = ev.body as Partial<Hello> | null;
          if (ev.kind !== FrameKind.Hello || !hello || typeof hello !== 'object' || typeof hello.nodeId !== 'string' || !hello.nodeId) {
            this.reject(socket, 'rejectedMalformed', 'first frame is not a valid hello');
            return;
          }
          peerId = hello.nodeId;
          this.clock.clearTimeout(handshake);
          continue;
        }
        if (ev.kind !== FrameKind.Message || !isMessageShape(ev.body)) {
          this.reject(socket, 'rejectedMalformed', `frame of kind ${ev.kind} is not a message`);
          return;
        }
        if (ev.body.from !== peerId || ev.body.to !== this.opts.nodeId) {
          this.reject(socket, 'rejectedMisaddressed', `message from "${ev.body.from}" to "${ev.body.to}" on the connection of "${peerId}"`);
          return;
        }
        this.counters.received++;
        this.handler?.(ev.body as M);
      }
      if (peerId !== undefined && !socket.destroyed) ack();
    });
  }

  private reject(socket: Socket, counter: keyof TransportStats, detail: string): void {
    this.counters[counter]++;
    this.logger.warn({ remote: `${socket.remoteAddress}:${socket.remotePort}`, detail }, 'raft: transport: dropping inbound connection');
    socket.destroy();
  }
}
