import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { SwimError } from './core/errors.js';
import { formatAddress, parseAddress, type Address } from './core/messages.js';

/**
 * Gossip transport: one UDP socket and one TCP listener on the same address and port.
 * TCP carries one request frame and one reply frame per connection, each prefixed by a
 * 4-byte big-endian length. Frames above `maxFrameBytes`, slow peers, and excess
 * connections are cut off; no input can throw out of the transport.
 */
export interface TransportOptions {
  bindAddr: string;
  /** 0 picks a free port (the same one for UDP and TCP). */
  bindPort: number;
  maxFrameBytes: number;
  /** Idle/overall limit for one inbound TCP connection. */
  streamTimeoutMs: number;
  maxConnections?: number;
  onPacket: (from: Address, data: Uint8Array) => void;
  /** Handles an inbound request frame; the returned frame, if any, is written back. */
  onStream: (from: Address, frame: Uint8Array) => Uint8Array | undefined;
  onError?: (err: Error) => void;
}

export class Transport {
  private udp: UdpSocket | undefined;
  private tcp: Server | undefined;
  private readonly conns = new Set<Socket>();
  private closed = false;
  private pendingSends = 0;
  private readonly drainWaiters: (() => void)[] = [];
  port = 0;

  constructor(private readonly opts: TransportOptions) {}

  async start(): Promise<number> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const tcp = createServer((s) => this.accept(s));
      tcp.maxConnections = this.opts.maxConnections ?? 256;
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen(this.opts.bindPort, this.opts.bindAddr, () => {
          tcp.off('error', reject);
          resolve();
        });
      });
      const port = (tcp.address() as { port: number }).port;
      const udp = createSocket({ type: this.opts.bindAddr.includes(':') ? 'udp6' : 'udp4' });
      const ok = await new Promise<boolean>((resolve) => {
        udp.once('error', () => resolve(false));
        udp.bind(port, this.opts.bindAddr, () => resolve(true));
      });
      if (!ok) {
        udp.close();
        await new Promise<void>((r) => tcp.close(() => r()));
        if (this.opts.bindPort !== 0) throw new SwimError(`swim: cannot bind UDP ${formatAddress(this.opts.bindAddr, port)}`);
        continue;
      }
      udp.on('error', (err) => this.opts.onError?.(err));
      tcp.on('error', (err) => this.opts.onError?.(err));
      udp.on('message', (msg, rinfo) => {
        try {
          this.opts.onPacket(formatAddress(rinfo.address, rinfo.port), msg);
        } catch (err) {
          this.opts.onError?.(err as Error);
        }
      });
      this.udp = udp;
      this.tcp = tcp;
      this.port = port;
      return port;
    }
    throw new SwimError('swim: could not bind a common UDP/TCP port');
  }

  /** Sends one datagram; errors are reported to onError, never thrown. */
  sendUdp(to: Address, data: Uint8Array): void {
    const a = parseAddress(to);
    if (!a || !this.udp || this.closed) return;
    try {
      this.pendingSends++;
      this.udp.send(data, a.port, a.host, (err) => {
        this.pendingSends--;
        if (this.pendingSends === 0) for (const w of this.drainWaiters.splice(0)) w();
        if (err) this.opts.onError?.(err);
      });
    } catch (err) {
      this.opts.onError?.(err as Error);
    }
  }

  /** Opens TCP to `to`, writes `frame`, and resolves with the one reply frame. */
  request(to: Address, frame: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      const a = parseAddress(to);
      if (!a) return reject(new SwimError(`swim: bad address ${to}`));
      if (this.closed) return reject(new SwimError('swim: transport closed'));
      const s = connect({ host: a.host, port: a.port });
      this.conns.add(s);
      let done = false;
      const finish = (err: Error | undefined, data?: Uint8Array): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.conns.delete(s);
        s.destroy();
        if (err) reject(err);
        else resolve(data as Uint8Array);
      };
      const timer = setTimeout(() => finish(new SwimError(`swim: stream to ${to} timed out`)), timeoutMs);
      s.on('error', (err) => finish(new SwimError(`swim: stream to ${to}: ${err.message}`, { cause: err })));
      s.on('close', () => finish(new SwimError(`swim: stream to ${to} closed without a reply`)));
      s.on('connect', () => s.write(lengthPrefix(frame)));
      readFrames(s, this.opts.maxFrameBytes, (f) => finish(undefined, f), (err) => finish(err));
    });
  }

  /** Closes both sockets after datagrams already handed to the kernel are flushed (≤ 1 s). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.pendingSends > 0) {
      await new Promise<void>((r) => {
        const t = setTimeout(r, 1000);
        this.drainWaiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
    for (const c of this.conns) c.destroy();
    this.conns.clear();
    await Promise.all([
      new Promise<void>((r) => (this.tcp ? this.tcp.close(() => r()) : r())),
      new Promise<void>((r) => {
        if (!this.udp) return r();
        try {
          this.udp.close(() => r());
        } catch {
          r();
        }
      }),
    ]);
  }

  private accept(s: Socket): void {
    if (this.closed) {
      s.destroy();
      return;
    }
    this.conns.add(s);
    const from = formatAddress(s.remoteAddress ?? '0.0.0.0', s.remotePort ?? 0);
    const timer = setTimeout(() => s.destroy(), this.opts.streamTimeoutMs);
    const end = (): void => {
      clearTimeout(timer);
      this.conns.delete(s);
      s.destroy();
    };
    s.on('error', end);
    s.on('close', end);
    let handled = false;
    readFrames(
      s,
      this.opts.maxFrameBytes,
      (frame) => {
        if (handled) return;
        handled = true;
        let reply: Uint8Array | undefined;
        try {
          reply = this.opts.onStream(from, frame);
        } catch (err) {
          this.opts.onError?.(err as Error);
        }
        if (reply) s.end(lengthPrefix(reply));
        else s.end();
      },
      () => end(),
    );
  }
}

function lengthPrefix(frame: Uint8Array): Buffer {
  const head = Buffer.allocUnsafe(4);
  head.writeUInt32BE(frame.length, 0);
  return Buffer.concat([head, frame]);
}

/** Calls `onFrame` for each complete frame; `onError` once on an oversized frame. */
function readFrames(s: Socket, max: number, onFrame: (f: Uint8Array) => void, onError: (err: Error) => void): void {
  let chunks: Buffer[] = [];
  let buffered = 0;
  let want = -1;
  s.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    buffered += chunk.length;
    for (;;) {
      if (want < 0) {
        if (buffered < 4) return;
        const all = Buffer.concat(chunks);
        chunks = [all];
        want = all.readUInt32BE(0);
        if (want > max) {
          s.removeAllListeners('data');
          onError(new SwimError(`swim: frame of ${want} bytes exceeds ${max}`));
          return;
        }
      }
      if (buffered < 4 + want) return;
      const all = Buffer.concat(chunks);
      const frame = all.subarray(4, 4 + want);
      const rest = all.subarray(4 + want);
      chunks = rest.length ? [rest] : [];
      buffered = rest.length;
      want = -1;
      onFrame(frame);
    }
  });
}
