import { expect } from 'chai';
import { createHttpApp, type HttpDeps } from '../../../agent/http/app.js';
import { VERSION } from '../../../agent/version.js';
import { httpDeps } from '../../lib/http-deps.js';
import { serveApp } from '../../lib/net.js';
import { Gossip } from '../../../agent/swim/gossip.js';
import { SeededRng } from '../../../agent/runtime/rng.js';

let closeGossip: (() => Promise<void>) | undefined;

async function deps(over: Partial<HttpDeps> = {}): Promise<HttpDeps> {
  const made = await httpDeps({ node_name: 'web-1', datacenter: 'east' }, over);
  closeGossip = made.close;
  return made.deps;
}

describe('http app skeleton', () => {
  let srv: Awaited<ReturnType<typeof serveApp>>;
  afterEach(async () => {
    await srv?.close();
    await closeGossip?.();
  });

  it('GET /v1/agent/self reports the agent identity in Consul field names', async () => {
    srv = await serveApp(createHttpApp(await deps()));
    const res = await fetch(`${srv.url}/v1/agent/self`);
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.match(/^application\/json/);
    const body = (await res.json()) as { Config: Record<string, unknown>; DebugConfig: Record<string, unknown> };
    expect(body.Config).to.deep.include({
      Datacenter: 'east',
      NodeName: 'web-1',
      NodeID: 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee',
      Server: true,
      Version: VERSION,
    });
    expect(body.DebugConfig['DevMode']).to.equal(true);
  });

  it('?pretty indents the JSON', async () => {
    srv = await serveApp(createHttpApp(await deps()));
    const text = await (await fetch(`${srv.url}/v1/status/peers?pretty`)).text();
    expect(text).to.equal('[\n    "127.0.0.1:8300"\n]');
  });

  it('status/leader and status/peers return what the status source says', async () => {
    srv = await serveApp(createHttpApp(await deps({ status: { leader: async () => '', peers: async () => [] } })));
    expect(await (await fetch(`${srv.url}/v1/status/leader`)).json()).to.equal('');
    expect(await (await fetch(`${srv.url}/v1/status/peers`)).json()).to.deep.equal([]);
  });

  it('unknown paths are 404 in plain text, wrong methods 405 with Allow, OPTIONS lists methods', async () => {
    srv = await serveApp(createHttpApp(await deps()));
    let res = await fetch(`${srv.url}/v1/no/such/thing`);
    expect(res.status).to.equal(404);
    expect(res.headers.get('content-type')).to.match(/^text\/plain/);
    expect(await res.text()).to.equal('404 page not found');
    res = await fetch(`${srv.url}/v1/status/leader`, { method: 'PUT' });
    expect(res.status).to.equal(405);
    expect(await res.text()).to.equal('method PUT not allowed');
    expect(res.headers.get('allow')).to.contain('GET');
    res = await fetch(`${srv.url}/v1/agent/self`, { method: 'OPTIONS' });
    expect(res.status).to.equal(200);
    expect(res.headers.get('allow')).to.equal('HEAD,GET,OPTIONS');
  });

  it('an unexpected failure is a 500 with the message, and the app keeps serving', async () => {
    srv = await serveApp(
      createHttpApp(
        await deps({
          status: {
            leader: () => {
              throw new Error('rpc: no servers reachable');
            },
            peers: () => [],
          },
        }),
      ),
    );
    const res = await fetch(`${srv.url}/v1/status/leader`);
    expect(res.status).to.equal(500);
    expect(await res.text()).to.equal('rpc: no servers reachable');
    expect((await fetch(`${srv.url}/v1/status/peers`)).status).to.equal(200);
  });

  it('GET /v1/agent/self has Stats.serf_lan with member counts and gossip traffic counters (strings, as Consul)', async () => {
    const made = await httpDeps({ node_name: 'web-1' });
    closeGossip = made.close;
    const peer = new Gossip({ name: 'peer-1', bindAddr: '127.0.0.1', bindPort: 0, profile: 'local', rng: new SeededRng(3) });
    await peer.start();
    try {
      await peer.join([made.gossip.address()]);
      const until = Date.now() + 5000;
      while (made.gossip.members().length < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      srv = await serveApp(createHttpApp(made.deps));
      const body = (await (await fetch(`${srv.url}/v1/agent/self`)).json()) as { Stats: Record<string, Record<string, string>> };
      const lan = body.Stats['serf_lan']!;
      expect(lan).to.include({ members: '2', failed: '0', left: '0', health_score: '0' });
      for (const k of ['bytes_sent', 'bytes_received', 'packets_sent', 'packets_received']) expect(lan[k], k).to.match(/^\d+$/);
      // The join's TCP push-pull has been counted; UDP packets may not have flowed yet.
      expect(Number(lan['bytes_sent'])).to.be.greaterThan(0);
      expect(Number(lan['bytes_received'])).to.be.greaterThan(0);
    } finally {
      await peer.shutdown();
    }
  });

  it('GET /v1/agent/self leaves out serf_lan when the app has no gossip member', async () => {
    srv = await serveApp(createHttpApp(await deps({ gossip: undefined })));
    const body = (await (await fetch(`${srv.url}/v1/agent/self`)).json()) as { Stats: Record<string, unknown> };
    expect(body.Stats).to.not.have.property('serf_lan');
    expect(body.Stats).to.have.property('agent');
  });
});
