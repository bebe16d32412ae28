import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { FrameParser, encodeFrame, type FrameKind } from '../../catalog/raft/transport-frame.js';
import { RpcError, type RpcErrorCode } from './errors.js';

/** Frame kinds of the RPC protocol (the Raft transport uses 1 and 2 on its own connections). */
export const RPC_REQUEST = 16 as FrameKind;
export const RPC_RESPONSE = 17 as FrameKind;

export interface RpcRequest {
  id: number;
  method: string;
  args: unknown;
}

export interface RpcResponse {
  id: number;
  result?: unknown;
  error?: { code: RpcErrorCode; message: string };
}

/** The id of keepalive responses; calls are numbered from 1. */
export const KEEPALIVE_ID = 0;
export const KEEPALIVE_INTERVAL_MS = 500;
const KEEPALIVE = encodeFrame(RPC_RESPONSE, { id: KEEPALIVE_ID });

export type RpcHandler = (args: unknown) => Promise<unknown>;

/**
 * Server side of agent↔server RPC: length-prefixed msgpack frames (the Raft transport's
 * frame format), requests multiplexed by id on one connection and answered as they finish.
 * A protocol violation closes the connection; a handler's failure is an error response.
 *
 * Keepalive: a response with id {@link KEEPALIVE_ID} is sent as soon as a connection is
 * accepted and then every {@link KEEPALIVE_INTERVAL_MS} while requests are in flight, so a
 * client can tell a slow call on a live connection from a dead path (see RpcClient).
 * Clients that do not know it ignore it (no call has id 0).
 */
export class RpcServer {
  private readonly methods = new Map<string, RpcHandler>();
  private readonly conns = new Set<Socket>();
  private readonly log: Logger;

  constructor(
    logger: Logger,
    private readonly maxFrameSize = 16 * 1024 * 1024,
  ) {
    this.log = logger.child({ component: 'rpc' });
  }

  register(method: string, handler: RpcHandler): void {
    this.methods.set(method, handler);
  }

  /** Serves one inbound connection (its protocol byte already consumed by the mux). */
  handleConnection(socket: Socket): void {
    this.conns.add(socket);
    const parser = new FrameParser(this.maxFrameSize);
    let inflight = 0;
    let keepalive: NodeJS.Timeout | undefined;
    const stopKeepalive = (): void => {
      clearInterval(keepalive);
      keepalive = undefined;
    };
    socket.write(KEEPALIVE);
    socket.on('close', () => {
      stopKeepalive();
      this.conns.delete(socket);
    });
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      for (const ev of parser.push(chunk)) {
        if (ev.type === 'error') {
          this.log.debug({ reason: ev.reason, detail: ev.detail }, 'bad RPC frame; closing connection');
          socket.destroy();
          return;
        }
        const req = ev.body as Partial<RpcRequest> | null;
        if (ev.kind !== RPC_REQUEST || !req || typeof req.id !== 'number' || typeof req.method !== 'string') {
          socket.destroy();
          return;
        }
        if (inflight++ === 0 && !keepalive) {
          keepalive = setInterval(() => {
            if (!socket.destroyed) socket.write(KEEPALIVE);
          }, KEEPALIVE_INTERVAL_MS);
          keepalive.unref();
        }
        void this.dispatch(req as RpcRequest).then((res) => {
          if (--inflight === 0) stopKeepalive();
          if (!socket.destroyed) socket.write(encodeFrame(RPC_RESPONSE, res));
        });
      }
    });
  }

  private async dispatch(req: RpcRequest): Promise<RpcResponse> {
    const handler = this.methods.get(req.method);
    if (!handler) return { id: req.id, error: { code: 'UnknownMethod', message: `rpc: unknown method ${req.method}` } };
    try {
      return { id: req.id, result: await handler(req.args) };
    } catch (e) {
      if (e instanceof RpcError) return { id: req.id, error: { code: e.code, message: e.message } };
      const code = (e as { rpcCode?: RpcErrorCode }).rpcCode ?? 'Internal';
      if (code === 'Internal') this.log.error({ err: e, method: req.method }, 'RPC handler failed');
      return { id: req.id, error: { code, message: e instanceof Error ? e.message : String(e) } };
    }
  }

  close(): void {
    for (const s of this.conns) s.destroy();
    this.conns.clear();
  }
}
