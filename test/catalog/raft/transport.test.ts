import { expect } from 'chai';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { ManualClock, SystemClock } from '../../../agent/runtime/clock.js';
import { SeededRng } from '../../../agent/runtime/rng.js';
import { TcpTransport, parseAddress } from '../../../catalog/raft/transport.js';
import { FrameKind, FrameParser, encodeFrame } from '../../../catalog/raft/transport-frame.js';

interface TestMsg {
  from: string;
  to: string;
  term: number;
  seq: number;
  entries?: Array<{ index: number; data: Uint8Array }>;
  snapshot?: { data: Uint8Array } | undefined;
}

/** Polls `pred` every 10 ms for at most `ms`; bounded in time and count. */
async function until(pred: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Opens a raw TCP connection, writes `bytes`, resolves when the server closes it (or after 2 s). */
function rawSend(address: string, bytes: Buffer[]): Promise<boolean> {
  const { host, port } = parseAddress(address);
  return new Promise((resolve) => {
    const s: Socket = connect({ host, port });
    const t = setTimeout(() => {
      s.destroy();
      resolve(false);
    }, 2000);
    s.on('connect', () => {
      for (const b of bytes) s.write(b);
    });
    s.on('error', () => undefined);
    s.on('close', () => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

describe('raft TcpTransport', () => {
  const open: Array<TcpTransport<TestMsg>> = [];

  async function make(nodeId: string, port?: number, extra: { maxFrameSize?: number; sendQueueLimit?: number } = {}): Promise<{ t: TcpTransport<TestMsg>; got: TestMsg[] }> {
    const t = await TcpTransport.listen<TestMsg>({ nodeId, port, backoffInitialMs: 10, backoffMaxMs: 100, clock: new SystemClock(), rng: new SeededRng(7), ...extra });
    const got: TestMsg[] = [];
    t.onMessage((m) => got.push(m));
    open.push(t);
    return { t, got };
  }

  afterEach(async () => {
    for (const t of open.splice(0)) await t.close();
  });

  /** A fake peer: counts connections; `ackFirst` acks the first chunk of each connection, then goes silent (a path that silently drops). */
  async function silentPeer(ackFirst: boolean): Promise<{ server: Server; address: string; connections: () => number }> {
    let n = 0;
    const server = createServer((sock) => {
      n++;
      let acked = false;
      sock.on('error', () => undefined);
      sock.on('data', () => {
        if (ackFirst && !acked) {
          acked = true;
          sock.write(Buffer.of(0));
        }
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const a = server.address() as { port: number };
    return { server, address: `127.0.0.1:${a.port}`, connections: () => n };
  }

  it('closes and redials a connection whose peer acked before and then went silent (a blackholed path)', async () => {
    const peer = await silentPeer(true);
    const t = await TcpTransport.listen<TestMsg>({ nodeId: 'a', backoffInitialMs: 10, backoffMaxMs: 50, stallTimeoutMs: 150, clock: new SystemClock(), rng: new SeededRng(3) });
    open.push(t);
    try {
      t.setPeer('b', peer.address);
      let seq = 0;
      // Heartbeats, as Raft sends them: each connection gets one ack, then silence.
      await until(() => {
        t.send({ from: 'a', to: 'b', term: 1, seq: seq++ });
        return peer.connections() >= 3;
      }, 5000, 'two redials after stalls');
      expect(t.stats().stalls).to.be.at.least(2);
    } finally {
      peer.server.close();
      peer.server.unref();
    }
  });

  it('does not hold a peer that never acks (an older version) to the stall rule', async () => {
    const peer = await silentPeer(false);
    const t = await TcpTransport.listen<TestMsg>({ nodeId: 'a', backoffInitialMs: 10, backoffMaxMs: 50, stallTimeoutMs: 100, clock: new SystemClock(), rng: new SeededRng(3) });
    open.push(t);
    try {
      t.setPeer('b', peer.address);
      for (let i = 0; i < 20; i++) {
        t.send({ from: 'a', to: 'b', term: 1, seq: i });
        await new Promise((r) => setTimeout(r, 25));
      }
      expect(peer.connections()).to.equal(1);
      expect(t.stats().stalls).to.equal(0);
    } finally {
      peer.server.close();
      peer.server.unref();
    }
  });

  it('acks what it receives on an inbound connection, so a live peer is never recycled', async () => {
    const a = await TcpTransport.listen<TestMsg>({ nodeId: 'a', stallTimeoutMs: 100, clock: new SystemClock(), rng: new SeededRng(4) });
    const b = await make('b');
    open.push(a);
    a.setPeer('b', b.t.address);
    for (let i = 0; i < 20; i++) {
      a.send({ from: 'a', to: 'b', term: 1, seq: i });
      await new Promise((r) => setTimeout(r, 25));
    }
    await until(() => b.got.length === 20, 5000, 'all delivered');
    expect(a.stats()).to.include({ connects: 1, stalls: 0 });
  });

  it('frames carry 64-bit integers exactly: safe ones as numbers, larger ones as bigints', () => {
    const body = { small: 2 ** 40, edge: Number.MAX_SAFE_INTEGER, flags: 0x2ddccbc058a50c18n, max: 18446744073709551615n };
    const events = new FrameParser(1 << 20).push(encodeFrame(FrameKind.Message, body));
    expect(events).to.have.length(1);
    expect(events[0]).to.deep.equal({ type: 'frame', kind: FrameKind.Message, body });
  });

  it('parses addresses', () => {
    expect(parseAddress('127.0.0.1:8300')).to.deep.equal({ host: '127.0.0.1', port: 8300 });
    expect(parseAddress('[::1]:8300')).to.deep.equal({ host: '::1', port: 8300 });
    expect(() => parseAddress('nohost')).to.throw(/^raft: transport: bad address/);
  });

  it('exchanges messages among three nodes, in order, with Uint8Array fields intact', async () => {
    const nodes = await Promise.all(['a', 'b', 'c'].map((id) => make(id)));
    for (const x of nodes) for (const y of nodes) if (x !== y) x.t.setPeer(y.t.nodeId, y.t.address);
    const payload = Uint8Array.from({ length: 300 }, (_, i) => (i * 7) & 0xff);
    for (let seq = 0; seq < 50; seq++) {
      for (const x of nodes) {
        for (const y of nodes) {
          if (x === y) continue;
          x.t.send({ from: x.t.nodeId, to: y.t.nodeId, term: 3, seq, entries: [{ index: seq, data: payload.subarray(0, seq) }], snapshot: undefined });
        }
      }
    }
    await until(() => nodes.every((n) => n.got.length === 100), 5000, 'all messages');
    for (const n of nodes) {
      for (const from of ['a', 'b', 'c'].filter((id) => id !== n.t.nodeId)) {
        const seqs = n.got.filter((m) => m.from === from).map((m) => m.seq);
        expect(seqs).to.deep.equal(Array.from({ length: 50 }, (_, i) => i));
      }
      const m = n.got.find((x) => x.seq === 42) as TestMsg;
      const data = m.entries![0]!.data;
      expect(data).to.be.instanceOf(Uint8Array);
      expect(Buffer.isBuffer(data)).to.equal(false);
      expect(Array.from(data)).to.deep.equal(Array.from(payload.subarray(0, 42)));
      expect(m.to).to.equal(n.t.nodeId);
    }
    expect(nodes[0]!.t.stats().sent).to.equal(100);
  });

  it('reconnects after a peer restarts and delivery resumes', async () => {
    const a = await make('a');
    let b = await make('b');
    const bAddr = b.t.address;
    const bPort = parseAddress(bAddr).port;
    a.t.setPeer('b', bAddr);
    a.t.send({ from: 'a', to: 'b', term: 1, seq: 1 });
    await until(() => b.got.length === 1, 5000, 'first delivery');
    await b.t.close();
    open.splice(open.indexOf(b.t), 1);
    // While b is down messages queue (bounded) or vanish with the dead socket: both are fine.
    for (let i = 2; i < 5; i++) a.t.send({ from: 'a', to: 'b', term: 1, seq: i });
    await new Promise((r) => setTimeout(r, 50));
    b = await make('b', bPort);
    let seq = 100;
    // Keep sending, as Raft would (heartbeats), until one arrives at the new incarnation.
    await until(() => {
      a.t.send({ from: 'a', to: 'b', term: 2, seq: seq++ });
      return b.got.length > 0;
    }, 8000, 'delivery after restart');
    expect(b.got.some((m) => m.term === 2)).to.equal(true);
    expect(a.t.stats().connects).to.be.at.least(2);
  });

  it('follows a peer to a new address, and stops sending after removePeer', async () => {
    const a = await make('a');
    const b1 = await make('b');
    const b2 = await make('b');
    a.t.setPeer('b', b1.t.address);
    a.t.send({ from: 'a', to: 'b', term: 1, seq: 1 });
    await until(() => b1.got.length === 1, 5000, 'delivery to the first address');
    a.t.setPeer('b', b2.t.address);
    a.t.send({ from: 'a', to: 'b', term: 1, seq: 2 });
    await until(() => b2.got.length === 1, 5000, 'delivery to the new address');
    expect(b1.got.map((m) => m.seq)).to.deep.equal([1]);
    a.t.removePeer('b');
    a.t.send({ from: 'a', to: 'b', term: 1, seq: 3 });
    expect(a.t.stats().droppedUnknownPeer).to.equal(1);
  });

  it('bounds the send queue of an unreachable peer, dropping the oldest', async () => {
    const a = await make('a', undefined, { sendQueueLimit: 10 });
    a.t.setPeer('ghost', '127.0.0.1:1');
    for (let i = 0; i < 25; i++) a.t.send({ from: 'a', to: 'ghost', term: 1, seq: i });
    expect(a.t.stats().droppedQueueFull).to.equal(15);
    a.t.send({ from: 'a', to: 'nobody', term: 1, seq: 0 });
    expect(a.t.stats().droppedUnknownPeer).to.equal(1);
    a.t.send({ from: 'someone-else', to: 'ghost', term: 1, seq: 0 });
    expect(a.t.stats().droppedBadSender).to.equal(1);
  });

  it('rejects an unknown frame version, an oversize frame, garbage and a missing hello, and keeps serving', async () => {
    const a = await make('a', undefined, { maxFrameSize: 4096 });
    const b = await make('b');
    const hello = encodeFrame(FrameKind.Hello, { nodeId: 'b' });
    // Unknown version (99) after a valid hello.
    expect(await rawSend(a.t.address, [hello, encodeFrame(FrameKind.Message, { from: 'b', to: 'a' }, 99)])).to.equal(true);
    // Declared length above maxFrameSize: rejected from the header alone.
    const big = Buffer.alloc(6);
    big.writeUInt32BE(4097, 0);
    big.writeUInt8(1, 4);
    expect(await rawSend(a.t.address, [hello, big])).to.equal(true);
    // A message before any hello.
    expect(await rawSend(a.t.address, [encodeFrame(FrameKind.Message, { from: 'b', to: 'a' })])).to.equal(true);
    // A spoofed sender.
    expect(await rawSend(a.t.address, [hello, encodeFrame(FrameKind.Message, { from: 'c', to: 'a' })])).to.equal(true);
    const st = a.t.stats();
    expect(st.rejectedVersion).to.equal(1);
    expect(st.rejectedOversize).to.equal(1);
    expect(st.rejectedMalformed).to.equal(1);
    expect(st.rejectedMisaddressed).to.equal(1);
    expect(st.received).to.equal(0);
    // Random garbage, seeded: every connection is dropped, nothing is delivered, no crash.
    const seed = 99;
    const rng = new SeededRng(seed);
    for (let i = 0; i < 30; i++) {
      const junk = Buffer.from(Array.from({ length: 1 + rng.int(200) }, () => rng.int(256)));
      if (i % 3 === 0 && junk.length >= 6) {
        // A well-formed frame header around a garbage msgpack body.
        junk.writeUInt32BE(junk.length - 4, 0);
        junk.writeUInt8(1, 4);
      }
      await rawSend(a.t.address, [hello, junk]);
    }
    expect(a.got, `seed ${seed}`).to.deep.equal([]);
    const after = a.t.stats();
    const rejected = after.rejectedVersion + after.rejectedOversize + after.rejectedMalformed + after.rejectedMisaddressed;
    expect(rejected, `seed ${seed}: every garbage connection is counted`).to.equal(4 + 30);
    expect(after.rejectedMalformed, `seed ${seed}`).to.be.at.least(1 + 10);
    // Still healthy: a real peer gets through.
    b.t.setPeer('a', a.t.address);
    b.t.send({ from: 'b', to: 'a', term: 5, seq: 1 });
    await until(() => a.got.length === 1, 5000, 'delivery after garbage');
    expect(a.got[0]).to.deep.equal({ from: 'b', to: 'a', term: 5, seq: 1 });
  });

  it('closes an inbound connection that sends no hello within the handshake timeout (injected clock)', async () => {
    const clock = new ManualClock(0);
    const t = await TcpTransport.listen<TestMsg>({ nodeId: 'a', clock, handshakeTimeoutMs: 1000 });
    open.push(t);
    const closed = rawSend(t.address, []);
    await until(() => clock.pending() === 1, 5000, 'inbound connection accepted');
    clock.advance(999);
    expect(t.stats().rejectedMalformed).to.equal(0);
    clock.advance(1);
    expect(await closed).to.equal(true);
    expect(t.stats().rejectedMalformed).to.equal(1);
  });

  it('paces acks: one at once, then at most one per ackIntervalMs while data flows, and the last data is still acked (injected clock)', async () => {
    const clock = new ManualClock(0);
    const t = await TcpTransport.listen<TestMsg>({ nodeId: 'a', clock, ackIntervalMs: 50 });
    open.push(t);
    const got: TestMsg[] = [];
    t.onMessage((m) => got.push(m));
    const { host, port } = parseAddress(t.address);
    const s: Socket = connect({ host, port, noDelay: true });
    let acks = 0;
    s.on('data', (b: Buffer) => (acks += b.length));
    s.on('error', () => undefined);
    try {
      await new Promise<void>((r) => s.once('connect', () => r()));
      s.write(encodeFrame(FrameKind.Hello, { nodeId: 'b' }));
      // Ten chunks, each read on its own (each waits until the previous one was delivered).
      for (let seq = 0; seq < 10; seq++) {
        s.write(encodeFrame(FrameKind.Message, { from: 'b', to: 'a', term: 1, seq }));
        await until(() => got.length === seq + 1, 5000, `message ${seq}`);
      }
      await until(() => acks >= 1, 5000, 'the first ack');
      await new Promise((r) => setTimeout(r, 30));
      expect(acks, 'acks before the interval ends').to.equal(1);
      clock.advance(50);
      await until(() => acks >= 2, 5000, 'the owed ack');
      clock.advance(50);
      await new Promise((r) => setTimeout(r, 30));
      expect(acks, 'nothing more is owed').to.equal(2);
      // After a quiet interval, new data is acked at once again.
      s.write(encodeFrame(FrameKind.Message, { from: 'b', to: 'a', term: 1, seq: 10 }));
      await until(() => acks >= 3, 5000, 'an immediate ack after a quiet interval');
      expect(got.map((m) => m.seq)).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    } finally {
      s.destroy();
    }
  });

  it('drops an outgoing message larger than maxFrameSize instead of sending it', async () => {
    const a = await make('a', undefined, { maxFrameSize: 1024 });
    const b = await make('b');
    a.t.setPeer('b', b.t.address);
    a.t.send({ from: 'a', to: 'b', term: 1, seq: 1, snapshot: { data: new Uint8Array(5000) } });
    a.t.send({ from: 'a', to: 'b', term: 1, seq: 2 });
    await until(() => b.got.length === 1, 5000, 'small message');
    expect(b.got[0]!.seq).to.equal(2);
    expect(a.t.stats().droppedOversize).to.equal(1);
  });

  it('FrameParser reassembles frames split at every byte boundary', () => {
    const frames = [encodeFrame(FrameKind.Hello, { nodeId: 'x' }), encodeFrame(FrameKind.Message, { from: 'x', to: 'y', d: new Uint8Array([1, 2, 3]) })];
    const all = Buffer.concat(frames);
    for (let cut = 0; cut <= all.length; cut++) {
      const p = new FrameParser(1024);
      const evs = [...p.push(all.subarray(0, cut)), ...p.push(all.subarray(cut))];
      expect(evs.map((e) => e.type), `cut ${cut}`).to.deep.equal(['frame', 'frame']);
    }
  });
});
