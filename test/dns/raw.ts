import dgram from 'node:dgram';
import net from 'node:net';

/** Sends one UDP datagram to 127.0.0.1:port; resolves with the reply or null after `timeoutMs`. */
export function udpExchange(port: number, msg: Buffer, timeoutMs = 1000): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const sock = dgram.createSocket('udp4');
    const timer = setTimeout(() => { sock.close(); resolve(null); }, timeoutMs);
    sock.on('message', (reply) => { clearTimeout(timer); sock.close(); resolve(reply); });
    sock.send(msg, port, '127.0.0.1');
  });
}

/** A TCP connection that reads length-framed DNS messages. */
export class TcpClient {
  private pending = Buffer.alloc(0);
  private readonly frames: Buffer[] = [];
  private waiters: Array<() => void> = [];
  closed = false;
  private constructor(readonly sock: net.Socket) {
    sock.on('data', (d: Buffer) => {
      this.pending = Buffer.concat([this.pending, d]);
      while (this.pending.length >= 2 && this.pending.length >= 2 + this.pending.readUInt16BE(0)) {
        const len = this.pending.readUInt16BE(0);
        this.frames.push(this.pending.subarray(2, 2 + len));
        this.pending = this.pending.subarray(2 + len);
      }
      this.wake();
    });
    sock.on('close', () => { this.closed = true; this.wake(); });
    sock.on('error', () => undefined);
  }
  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
  static connect(port: number): Promise<TcpClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => resolve(new TcpClient(s)));
      s.once('error', reject);
    });
  }
  send(msg: Buffer): void {
    const len = Buffer.alloc(2);
    len.writeUInt16BE(msg.length);
    this.sock.write(Buffer.concat([len, msg]));
  }
  /** Waits (bounded) until `n` frames arrived or the connection closed; returns what arrived. */
  async frames_(n: number, timeoutMs = 3000): Promise<Buffer[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.frames.length < n && !this.closed && Date.now() < deadline) {
      await new Promise<void>((r) => { this.waiters.push(r); setTimeout(r, 50); });
    }
    return this.frames.splice(0, n);
  }
  /** Resolves true when the server closes the connection within `timeoutMs`. */
  async waitClosed(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed && Date.now() < deadline) await new Promise<void>((r) => { this.waiters.push(r); setTimeout(r, 50); });
    return this.closed;
  }
  close(): void {
    this.sock.destroy();
  }
}
