import { expect } from 'chai';
import { createServer, type Server } from 'node:net';
import { ServerPortMux, Protocol } from '../../../agent/rpc/mux.js';
import { KEEPALIVE_ID, RPC_RESPONSE, RpcServer } from '../../../agent/rpc/server.js';
import { RpcClient } from '../../../agent/rpc/client.js';
import { ServerPool } from '../../../agent/rpc/pool.js';
import type { RpcError } from '../../../agent/rpc/errors.js';
import { encodeFrame } from '../../../catalog/raft/transport-frame.js';
import { SystemClock } from '../../../agent/runtime/clock.js';
import { SeededRng } from '../../../agent/runtime/rng.js';
import { silentLogger } from '../../../agent/runtime/logger.js';

/**
 * Regression (fault suite, split/one-way): a write whose connection died after the request
 * was sent was retried on another server, so one acknowledged write could be applied twice,
 * the second time after another client's write — a lost update.
 */
describe('rpc server pool: attempts of unknown outcome', function () {
  this.timeout(10_000);
  const clock = new SystemClock();
  let mux: ServerPortMux;
  let server: RpcServer;
  let dark: Server;
  let client: RpcClient;
  let applied: number;

  beforeEach(async () => {
    mux = await ServerPortMux.listen({ host: '127.0.0.1', port: 0, logger: silentLogger(), firstByteTimeoutMs: 300 });
    server = new RpcServer(silentLogger());
    mux.handle(Protocol.Rpc, (s) => server.handleConnection(s));
    applied = 0;
    server.register('Catalog.Write', async () => ++applied);
    // A server whose path goes dark right after the connection is made (keepalive, then silence).
    dark = createServer((sock) => {
      sock.on('error', () => undefined);
      sock.write(encodeFrame(RPC_RESPONSE, { id: KEEPALIVE_ID }));
    });
    await new Promise<void>((r) => dark.listen(0, '127.0.0.1', () => r()));
    client = new RpcClient(clock, undefined, 300);
  });
  afterEach(async () => {
    client.close();
    server.close();
    dark.close();
    await mux.close();
  });

  function pool(): ServerPool {
    const p = new ServerPool({ client, clock, rng: new SeededRng(1), holdTimeoutMs: 5000 });
    const darkAddr = `127.0.0.1:${(dark.address() as { port: number }).port}`;
    p.update([{ name: 'dark', address: darkAddr }]);
    p.update([{ name: 'dark', address: darkAddr }, { name: 'live', address: `127.0.0.1:${mux.port}` }]);
    expect(p.list()[0]!.name).to.equal('dark');
    return p;
  }

  it('does not send a write again after an attempt of unknown outcome', async () => {
    const e = (await pool().call('Catalog.Write', {}, 3000, false).catch((x: unknown) => x)) as RpcError;
    expect(e.code).to.equal('Timeout');
    expect(applied).to.equal(0);
  });

  it('repeats a read (safe to repeat) on the next server', async () => {
    expect(await pool().call<number>('Catalog.Write', {}, 3000, true)).to.equal(1);
  });
});
