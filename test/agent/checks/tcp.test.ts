import { expect } from 'chai';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { probeTcp } from '../../../agent/checks/tcp.js';
import type { TcpCheckSpec } from '../../../agent/checks/types.js';
import { ManualClock, SystemClock } from '../../../agent/runtime/clock.js';
import { freePort } from '../../lib/net.js';
import { base } from './helpers.js';

function spec(address: string, over: Partial<TcpCheckSpec> = {}): TcpCheckSpec {
  return { ...base('tcp'), kind: 'tcp', address, intervalMs: 10_000, ...over };
}

async function listen(port = 0): Promise<{ server: Server; port: number; accepted: Socket[]; close: () => Promise<void> }> {
  const accepted: Socket[] = [];
  const server = createServer((s) => {
    accepted.push(s);
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return {
    server,
    port: (server.address() as AddressInfo).port,
    accepted,
    close: () =>
      new Promise<void>((r) => {
        for (const s of accepted) s.destroy();
        server.close(() => r());
      }),
  };
}

describe('checks: TCP probe (real sockets on 127.0.0.1)', function () {
  this.timeout(10_000);
  const clock = new SystemClock();

  it('an open port is passing; closing it makes the check critical; reopening makes it pass again', async () => {
    let l = await listen();
    const addr = `127.0.0.1:${l.port}`;
    expect(await probeTcp(spec(addr), clock)).to.deep.equal({ status: 'passing', output: `TCP connect ${addr}: Success` });
    expect(l.accepted.length).to.equal(1);
    await l.close();
    expect(await probeTcp(spec(addr), clock)).to.deep.equal({
      status: 'critical',
      output: `dial tcp ${addr}: connect ECONNREFUSED ${addr}`,
    });
    l = await listen(l.port);
    expect((await probeTcp(spec(addr), clock)).status).to.equal('passing');
    await l.close();
  });

  it('a closed port is critical', async () => {
    const port = await freePort();
    const r = await probeTcp(spec(`127.0.0.1:${port}`), clock);
    expect(r.status).to.equal('critical');
    expect(r.output).to.contain('ECONNREFUSED');
  });

  it('a connect that does not finish within the timeout is critical with "i/o timeout" (ManualClock)', async () => {
    // The manual clock reaches the deadline before the event loop can complete the connect.
    const l = await listen();
    const manual = new ManualClock(0);
    const pending = probeTcp(spec(`127.0.0.1:${l.port}`, { timeoutMs: 150 }), manual);
    manual.advance(150);
    expect(await pending).to.deep.equal({ status: 'critical', output: `dial tcp 127.0.0.1:${l.port}: i/o timeout` });
    expect(manual.pending()).to.equal(0);
    await l.close();
  });

  it('a bad address is critical without dialing', async () => {
    expect(await probeTcp(spec('nonsense'), clock)).to.deep.equal({ status: 'critical', output: 'dial tcp nonsense: missing port in address' });
  });
});
