import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';

/**
 * The server port (default 8300) carries two protocols, like Consul's: the first byte a
 * client writes selects the protocol, and the connection is then handed, with every byte
 * after that first one still unread, to that protocol's handler.
 */
export const enum Protocol {
  Rpc = 0x00,
  Raft = 0x01,
}

export interface MuxOptions {
  host: string;
  port: number;
  logger: Logger;
  /** A connection that sends no protocol byte within this time is closed. Default 5000 ms. */
  firstByteTimeoutMs?: number;
  /** Connections allowed at once, all protocols together. Default 1024. */
  maxConnections?: number;
}

export class ServerPortMux {
  private readonly handlers = new Map<number, (socket: Socket) => void>();
  private readonly log: Logger;
  private readonly sockets = new Set<Socket>();
  /** Connections closed for an unknown protocol byte or no byte in time. */
  rejected = 0;

  private constructor(
    private readonly server: Server,
    private readonly opts: MuxOptions,
  ) {
    this.log = opts.logger.child({ component: 'server-port' });
    server.on('connection', (s) => this.accept(s));
    server.on('error', (err) => this.log.error({ err }, 'server port listener error'));
  }

  /** Binds the port; rejects with a clear message when it is in use. */
  static async listen(opts: MuxOptions): Promise<ServerPortMux> {
    const server = createServer({ noDelay: true, pauseOnConnect: true });
    server.maxConnections = opts.maxConnections ?? 1024;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) =>
        reject(
          new Error(
            e.code === 'EADDRINUSE' ? `rpc: server port ${opts.port} on ${opts.host} is already in use (set -server-port or ports.server)` : `rpc: cannot listen on ${opts.host}:${opts.port}: ${e.message}`,
            { cause: e },
          ),
        ),
      );
      server.listen(opts.port, opts.host, () => resolve());
    });
    return new ServerPortMux(server, opts);
  }

  /** The port actually bound (useful with port 0). */
  get port(): number {
    const a = this.server.address();
    return a && typeof a !== 'string' ? a.port : 0;
  }

  /** Routes connections whose first byte is `protocol` to `handler`. */
  handle(protocol: Protocol, handler: (socket: Socket) => void): void {
    this.handlers.set(protocol, handler);
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    const timer = setTimeout(() => {
      this.rejected++;
      socket.destroy();
    }, this.opts.firstByteTimeoutMs ?? 5000);
    const onReadable = (): void => {
      const first = socket.read(1) as Buffer | null;
      if (first === null) return;
      socket.off('readable', onReadable);
      clearTimeout(timer);
      const handler = this.handlers.get(first[0] as number);
      if (!handler) {
        this.rejected++;
        this.log.debug({ byte: first[0], remote: socket.remoteAddress }, 'unknown protocol byte; closing');
        socket.destroy();
        return;
      }
      handler(socket);
      // A 'readable' listener left the stream in paused mode; the handler's 'data' listener needs it flowing.
      socket.resume();
    };
    socket.on('readable', onReadable);
    socket.on('close', () => clearTimeout(timer));
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
