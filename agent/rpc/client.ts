import { connect, type Socket } from 'node:net';
import type { Clock, TimerHandle } from '../runtime/clock.js';
import { FrameParser, encodeFrame } from '../../catalog/raft/transport-frame.js';
import { RpcError } from './errors.js';
import { Protocol } from './mux.js';
import { KEEPALIVE_ID, RPC_REQUEST, RPC_RESPONSE, type RpcResponse } from './server.js';

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: TimerHandle;
  /** The request was written to the socket: if the connection fails now, its outcome is unknown. */
  sent: boolean;
}

interface Conn {
  socket: Socket;
  ready: Promise<void>;
  pending: Map<number, Pending>;
  /** Chunks received so far: a call that times out with this unchanged heard nothing at all. */
  rx: number;
  /** When the last chunk arrived (clock.monotonic()). */
  lastRx: number;
  /** The server sends keepalives (see RpcServer), so silence while calls are pending means a dead path. */
  keepalives: boolean;
  watchdog: TimerHandle | undefined;
}

/**
 * Client side of agent↔server RPC: one connection per server address, opened on first use
 * and reopened after it drops; many calls in flight on it at once. Every call has a
 * deadline, which covers connecting too. A call that failed before its request was written
 * is `Unavailable` (the server never saw it: safe to try another server); once written, any
 * failure is `Timeout` (outcome unknown: only idempotent calls may be repeated). A call that times out while nothing at all arrived on its
 * connection since it was sent closes that connection: the path is presumed dead (a
 * partition silently drops packets, and the kernel would otherwise keep the connection
 * "open" and back its retransmissions off for minutes), and the next call dials afresh.
 * Quicker still, with servers that send keepalives: a connection that does not connect
 * within `stallMs`, or that stays silent for `stallMs` while calls are pending, is closed
 * and its calls fail as `Unavailable` (so the pool can try another server).
 */
export class RpcClient {
  private readonly conns = new Map<string, Conn>();
  private nextId = 1;
  private closed = false;

  constructor(
    private readonly clock: Clock,
    private readonly maxFrameSize = 16 * 1024 * 1024,
    /** Silence that condemns a connection; keep it well above KEEPALIVE_INTERVAL_MS (500). */
    private readonly stallMs = 2000,
  ) {}

  /** Closes `conn` when it has not connected, or has gone silent with calls pending, for `stallMs`. */
  private watch(conn: Conn): void {
    if (conn.watchdog || conn.socket.destroyed) return;
    conn.watchdog = this.clock.setTimeout(() => {
      conn.watchdog = undefined;
      if (conn.socket.destroyed || conn.pending.size === 0) return;
      const silent = this.clock.monotonic() - conn.lastRx >= this.stallMs;
      if (silent && (conn.keepalives || conn.socket.connecting)) {
        conn.socket.destroy(new Error(conn.socket.connecting ? 'connect timed out' : `no answer or keepalive for ${this.stallMs} ms`));
        return;
      }
      this.watch(conn);
    }, this.stallMs / 2);
  }

  /** Calls `method` on the server at `address` ("host:port"). */
  async call<T>(address: string, method: string, args: unknown, timeoutMs = 30_000): Promise<T> {
    if (this.closed) throw new RpcError('Unavailable', 'rpc: client closed');
    const conn = this.connection(address);
    const id = this.nextId++;
    const frame = encodeFrame(RPC_REQUEST, { id, method, args });
    return new Promise<T>((resolve, reject) => {
      const rxAtCall = conn.rx;
      const timer = this.clock.setTimeout(() => {
        conn.pending.delete(id);
        if (conn.rx === rxAtCall) conn.socket.destroy();
        reject(new RpcError('Timeout', `rpc: ${method} to ${address} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      const entry: Pending = { resolve: resolve as (v: unknown) => void, reject, timer, sent: false };
      conn.pending.set(id, entry);
      if (conn.pending.size === 1) conn.lastRx = Math.max(conn.lastRx, this.clock.monotonic());
      this.watch(conn);
      // A failed connect rejects every pending call (fail()), this one included.
      conn.ready.then(
        () => {
          if (!conn.pending.has(id)) return;
          entry.sent = true;
          conn.socket.write(frame);
        },
        () => undefined,
      );
    });
  }

  private connection(address: string): Conn {
    const existing = this.conns.get(address);
    if (existing && !existing.socket.destroyed) return existing;
    const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(address);
    if (!m) throw new RpcError('BadRequest', `rpc: bad server address "${address}"`);
    const socket = connect({ host: m[1] ?? m[2], port: Number(m[3]), noDelay: true });
    const pending = new Map<number, Pending>();
    const parser = new FrameParser(this.maxFrameSize);
    const fail = (err: Error): void => {
      for (const p of pending.values()) {
        this.clock.clearTimeout(p.timer);
        // Unavailable promises the server never saw the request; past the write we cannot know.
        p.reject(p.sent ? new RpcError('Timeout', `${err.message}; the request was sent, its outcome is unknown`) : err);
      }
      pending.clear();
      if (this.conns.get(address)?.socket === socket) this.conns.delete(address);
    };
    const ready = new Promise<void>((resolve, reject) => {
      socket.once('connect', () => {
        socket.write(Buffer.from([Protocol.Rpc]));
        resolve();
      });
      socket.once('error', (e: NodeJS.ErrnoException) => {
        const err = new RpcError('Unavailable', `rpc: cannot reach server ${address}: ${e.code ?? e.message}`);
        reject(err);
        fail(err);
      });
    });
    ready.catch(() => undefined);
    socket.on('error', () => undefined); // every error also closes the socket; 'close' fails the calls
    socket.on('close', () => fail(new RpcError('Unavailable', `rpc: connection to ${address} closed`)));
    socket.on('data', (chunk: Buffer) => {
      conn.rx++;
      conn.lastRx = this.clock.monotonic();
      for (const ev of parser.push(chunk)) {
        if (ev.type === 'error' || ev.kind !== RPC_RESPONSE) {
          socket.destroy();
          return;
        }
        const res = ev.body as RpcResponse;
        if (res.id === KEEPALIVE_ID) {
          conn.keepalives = true;
          continue;
        }
        const p = pending.get(res.id);
        if (!p) continue;
        pending.delete(res.id);
        this.clock.clearTimeout(p.timer);
        if (res.error) p.reject(new RpcError(res.error.code, res.error.message));
        else p.resolve(res.result);
      }
    });
    const conn: Conn = { socket, ready, pending, rx: 0, lastRx: this.clock.monotonic(), keepalives: false, watchdog: undefined };
    this.conns.set(address, conn);
    return conn;
  }

  close(): void {
    this.closed = true;
    for (const c of this.conns.values()) c.socket.destroy();
    this.conns.clear();
  }
}
