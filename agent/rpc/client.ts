import { connect, type Socket } from 'node:net';
import type { Clock, TimerHandle } from '../runtime/clock.js';
import { FrameParser, encodeFrame } from '../../catalog/raft/transport-frame.js';
import { RpcError } from './errors.js';
import { Protocol } from './mux.js';
import { RPC_REQUEST, RPC_RESPONSE, type RpcResponse } from './server.js';

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: TimerHandle;
}

interface Conn {
  socket: Socket;
  ready: Promise<void>;
  pending: Map<number, Pending>;
}

/**
 * Client side of agent↔server RPC: one connection per server address, opened on first use
 * and reopened after it drops; many calls in flight on it at once. Every call has a
 * deadline. Connection failures are `Unavailable` RpcErrors, so callers can try another server.
 */
export class RpcClient {
  private readonly conns = new Map<string, Conn>();
  private nextId = 1;
  private closed = false;

  constructor(
    private readonly clock: Clock,
    private readonly maxFrameSize = 16 * 1024 * 1024,
  ) {}

  /** Calls `method` on the server at `address` ("host:port"). */
  async call<T>(address: string, method: string, args: unknown, timeoutMs = 30_000): Promise<T> {
    if (this.closed) throw new RpcError('Unavailable', 'rpc: client closed');
    const conn = this.connection(address);
    await conn.ready;
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = this.clock.setTimeout(() => {
        conn.pending.delete(id);
        reject(new RpcError('Timeout', `rpc: ${method} to ${address} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      conn.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      conn.socket.write(encodeFrame(RPC_REQUEST, { id, method, args }));
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
        p.reject(err);
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
    socket.on('close', () => fail(new RpcError('Unavailable', `rpc: connection to ${address} closed`)));
    socket.on('data', (chunk: Buffer) => {
      for (const ev of parser.push(chunk)) {
        if (ev.type === 'error' || ev.kind !== RPC_RESPONSE) {
          socket.destroy();
          return;
        }
        const res = ev.body as RpcResponse;
        const p = pending.get(res.id);
        if (!p) continue;
        pending.delete(res.id);
        this.clock.clearTimeout(p.timer);
        if (res.error) p.reject(new RpcError(res.error.code, res.error.message));
        else p.resolve(res.result);
      }
    });
    const conn = { socket, ready, pending };
    this.conns.set(address, conn);
    return conn;
  }

  close(): void {
    this.closed = true;
    for (const c of this.conns.values()) c.socket.destroy();
    this.conns.clear();
  }
}
