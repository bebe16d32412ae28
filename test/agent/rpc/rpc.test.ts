import { expect } from 'chai';
import { connect, createServer } from 'node:net';
import { ServerPortMux, Protocol } from '../../../agent/rpc/mux.js';
import { KEEPALIVE_ID, RPC_RESPONSE, RpcServer } from '../../../agent/rpc/server.js';
import { encodeFrame } from '../../../catalog/raft/transport-frame.js';
import { RpcClient } from '../../../agent/rpc/client.js';
import { RpcError } from '../../../agent/rpc/errors.js';
import { TcpTransport } from '../../../catalog/raft/transport.js';
import { SystemClock } from '../../../agent/runtime/clock.js';
import { SeededRng } from '../../../agent/runtime/rng.js';
import { silentLogger } from '../../../agent/runtime/logger.js';

interface Msg {
  from: string;
  to: string;
  n: number;
}

describe('rpc over the shared server port', () => {
  const clock = new SystemClock();
  let mux: ServerPortMux;
  let server: RpcServer;
  let client: RpcClient;

  beforeEach(async () => {
    mux = await ServerPortMux.listen({ host: '127.0.0.1', port: 0, logger: silentLogger(), firstByteTimeoutMs: 300 });
    server = new RpcServer(silentLogger());
    mux.handle(Protocol.Rpc, (s) => server.handleConnection(s));
    client = new RpcClient(clock);
  });
  afterEach(async () => {
    client.close();
    server.close();
    await mux.close();
  });

  it('calls methods, many in flight on one connection, answered out of order', async () => {
    server.register('Echo.Slow', async (args) => {
      const { v, delay } = args as { v: number; delay: number };
      await new Promise((r) => setTimeout(r, delay));
      return { v, bytes: new Uint8Array([v]) };
    });
    const addr = `127.0.0.1:${mux.port}`;
    const results = await Promise.all([30, 0, 15].map((delay, v) => client.call<{ v: number; bytes: Uint8Array }>(addr, 'Echo.Slow', { v, delay })));
    expect(results.map((r) => r.v)).to.deep.equal([0, 1, 2]);
    expect(results[2]!.bytes).to.be.instanceOf(Uint8Array);
  });

  it('carries typed errors, unknown methods and timeouts back to the caller', async () => {
    server.register('Fail', async () => {
      throw new RpcError('NoLeader', 'No cluster leader');
    });
    server.register('Hang', () => new Promise(() => undefined));
    const addr = `127.0.0.1:${mux.port}`;
    const err = (await client.call(addr, 'Fail', {}).catch((e: unknown) => e)) as RpcError;
    expect(err).to.be.instanceOf(RpcError);
    expect(err.code).to.equal('NoLeader');
    expect(err.message).to.equal('No cluster leader');
    expect(((await client.call(addr, 'Nope', {}).catch((e: unknown) => e)) as RpcError).code).to.equal('UnknownMethod');
    expect(((await client.call(addr, 'Hang', {}, 50).catch((e: unknown) => e)) as RpcError).code).to.equal('Timeout');
  });

  it('a call that times out on a silent connection closes it, and the next call dials afresh (a blackholed path)', async () => {
    let conns = 0;
    const silent = createServer((sock) => {
      conns++;
      sock.on('error', () => undefined);
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const addr = `127.0.0.1:${(silent.address() as { port: number }).port}`;
    try {
      const e1 = (await client.call(addr, 'Any.Method', {}, 100).catch((x: unknown) => x)) as RpcError;
      expect(e1.code).to.equal('Timeout');
      const e2 = (await client.call(addr, 'Any.Method', {}, 100).catch((x: unknown) => x)) as RpcError;
      expect(e2.code).to.equal('Timeout');
      expect(conns).to.equal(2);
    } finally {
      silent.close();
      silent.unref();
    }
  });

  it('a slow answer on a live connection keeps the connection', async () => {
    server.register('Echo.Slow', async (args) => {
      await new Promise((r) => setTimeout(r, (args as { delay: number }).delay));
      return 'ok';
    });
    const addr = `127.0.0.1:${mux.port}`;
    const fast = client.call<string>(addr, 'Echo.Slow', { delay: 10 }, 1000);
    const slow = client.call<string>(addr, 'Echo.Slow', { delay: 300 }, 150).catch((x: RpcError) => x.code);
    expect(await fast).to.equal('ok');
    expect(await slow).to.equal('Timeout');
    // The fast answer arrived after the slow call was sent, so the connection is known alive and kept.
    expect(await client.call<string>(addr, 'Echo.Slow', { delay: 1 }, 1000)).to.equal('ok');
  });

  it('a connection that goes silent with calls pending, after its server sent keepalives, fails them (outcome unknown) within the stall window', async () => {
    const frozen = createServer((sock) => {
      sock.on('error', () => undefined);
      // A keepalive, as RpcServer sends on accept, then nothing: the path went dark.
      sock.write(encodeFrame(RPC_RESPONSE, { id: KEEPALIVE_ID }));
    });
    await new Promise<void>((r) => frozen.listen(0, '127.0.0.1', () => r()));
    const addr = `127.0.0.1:${(frozen.address() as { port: number }).port}`;
    const quick = new RpcClient(clock, undefined, 200);
    try {
      const t0 = Date.now();
      const e = (await quick.call(addr, 'Any.Method', {}, 10_000).catch((x: unknown) => x)) as RpcError;
      // The request was written before the path went dark: Timeout (outcome unknown), not Unavailable.
      expect(e.code).to.equal('Timeout');
      expect(e.message).to.match(/outcome is unknown/);
      expect(Date.now() - t0).to.be.lessThan(5000);
    } finally {
      quick.close();
      frozen.close();
      frozen.unref();
    }
  });

  it('keepalives hold a slow call open past the stall window', async () => {
    server.register('Echo.Slow', async (args) => {
      await new Promise((r) => setTimeout(r, (args as { delay: number }).delay));
      return 'done';
    });
    const quick = new RpcClient(clock, undefined, 1200);
    try {
      expect(await quick.call<string>(`127.0.0.1:${mux.port}`, 'Echo.Slow', { delay: 2500 }, 5000)).to.equal('done');
    } finally {
      quick.close();
    }
  });

  it('an unreachable server is Unavailable', async () => {
    const e = (await client.call('127.0.0.1:1', 'X', {}).catch((x: unknown) => x)) as RpcError;
    expect(e.code).to.equal('Unavailable');
    expect(e.message).to.match(/ECONNREFUSED/);
  });

  it('routes Raft connections by their first byte to the transport on the same port', async () => {
    const rng = new SeededRng(1);
    const receiver = TcpTransport.detached<Msg>({ nodeId: 'b', clock, rng });
    mux.handle(Protocol.Raft, (s) => receiver.acceptConnection(s));
    const got: Msg[] = [];
    receiver.onMessage((m) => got.push(m));
    const sender = await TcpTransport.listen<Msg>({ nodeId: 'a', clock, rng, connectPreamble: Uint8Array.of(Protocol.Raft) });
    try {
      sender.setPeer('b', `127.0.0.1:${mux.port}`);
      for (let n = 0; n < 5; n++) sender.send({ from: 'a', to: 'b', n });
      const until = Date.now() + 3000;
      while (got.length < 5 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
      expect(got.map((m) => m.n)).to.deep.equal([0, 1, 2, 3, 4]);
      server.register('Ping', async () => 'pong');
      expect(await client.call(`127.0.0.1:${mux.port}`, 'Ping', {})).to.equal('pong');
    } finally {
      await sender.close();
      await receiver.close();
    }
  });

  it('closes connections with an unknown protocol byte or none at all, and keeps serving', async () => {
    const closed = (bytes: number[] | undefined): Promise<boolean> =>
      new Promise((resolve) => {
        const s = connect(mux.port, '127.0.0.1', () => {
          if (bytes) s.write(Buffer.from(bytes));
        });
        s.on('close', () => resolve(true));
        s.on('error', () => undefined);
      });
    expect(await closed([0x7f, 1, 2, 3])).to.equal(true);
    expect(await closed(undefined)).to.equal(true);
    expect(mux.rejected).to.equal(2);
    server.register('Ping', async () => 'pong');
    expect(await client.call(`127.0.0.1:${mux.port}`, 'Ping', {})).to.equal('pong');
  });
});
