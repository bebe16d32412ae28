import { expect } from 'chai';
import { createHttpApp } from '../../../agent/http/app.js';
import { buildConfig } from '../../../agent/config/config.js';
import { silentLogger } from '../../../agent/runtime/logger.js';
import { VERSION } from '../../../agent/version.js';
import { CatalogEndpoint } from '../../../catalog/endpoint.js';
import { LocalApplier } from '../../../catalog/local-applier.js';
import { realTimers } from '../../../catalog/timers.js';
import { StateStore } from '../../../catalog/state/index.js';
import { serveApp } from '../../lib/net.js';

async function start() {
  const store = new StateStore({ datacenter: 'dc1' });
  const catalog = new CatalogEndpoint({
    store,
    propose: new LocalApplier(store).propose,
    timers: realTimers,
    rng: () => 0,
    status: () => ({ knownLeader: true, lastContactMs: 0 }),
  });
  const app = createHttpApp({
    config: buildConfig({ dev: true, raw: { node_name: 'agent-1' } }),
    nodeId: '11111111-2222-3333-4444-555555555555',
    version: VERSION,
    logger: silentLogger(),
    status: { leader: () => '127.0.0.1:8300', peers: () => ['127.0.0.1:8300'] },
    catalog,
  });
  const srv = await serveApp(app);
  const put = (path: string, body: unknown) =>
    fetch(`${srv.url}${path}`, { method: 'PUT', body: typeof body === 'string' ? body : JSON.stringify(body) });
  const get = (path: string) => fetch(`${srv.url}${path}`);
  const json = async <T = unknown>(path: string): Promise<T> => {
    const r = await get(path);
    expect(r.status, `${path}: ${r.status}`).to.equal(200);
    return (await r.json()) as T;
  };
  return { srv, store, put, get, json };
}

type Ctx = Awaited<ReturnType<typeof start>>;

const reg = (node: string, svc: string, id: string, extra: Record<string, unknown> = {}) => ({
  Node: node,
  Address: `203.0.113.${node.length}`,
  Service: { ID: id, Service: svc, Port: 8080, Tags: ['v1'], ...extra },
});

describe('http: catalog and health endpoints', () => {
  let t: Ctx;
  beforeEach(async () => {
    t = await start();
  });
  afterEach(async () => t.srv.close());

  it('register, read and deregister round trip', async () => {
    let r = await t.put('/v1/catalog/register', {
      ...reg('n1', 'web', 'web-1'),
      NodeMeta: { rack: 'a' },
      Check: { Name: 'web alive', CheckID: 'web-1-alive', ServiceID: 'web-1', Status: 'passing' },
    });
    expect(r.status).to.equal(200);
    expect(await r.json()).to.equal(true);
    r = await t.put('/v1/catalog/register', reg('n2', 'web', 'web-2', { Tags: ['v2'] }));
    expect(r.status).to.equal(200);

    expect(await t.json('/v1/catalog/datacenters')).to.deep.equal(['dc1']);
    const nodes = await t.json<Array<{ Node: string; Meta: Record<string, string>; Datacenter: string }>>('/v1/catalog/nodes');
    expect(nodes.map((n) => n.Node)).to.deep.equal(['n1', 'n2']);
    expect(nodes[0]!.Meta).to.deep.equal({ rack: 'a' });
    expect(nodes[0]!.Datacenter).to.equal('dc1');
    expect(await t.json('/v1/catalog/services')).to.deep.equal({ web: ['v1', 'v2'] });
    const inst = await t.json<Array<{ ServiceID: string; ServicePort: number }>>('/v1/catalog/service/web?tag=v2');
    expect(inst.map((i) => i.ServiceID)).to.deep.equal(['web-2']);
    expect(inst[0]!.ServicePort).to.equal(8080);
    const node = await t.json<{ Node: { Node: string }; Services: Record<string, unknown> }>('/v1/catalog/node/n1');
    expect(Object.keys(node.Services)).to.deep.equal(['web-1']);
    expect(await t.json('/v1/catalog/node/nobody')).to.equal(null);

    const health = await t.json<Array<{ Service: { ID: string }; Checks: Array<{ CheckID: string }> }>>('/v1/health/service/web');
    expect(health.map((h) => h.Service.ID)).to.deep.equal(['web-1', 'web-2']);
    expect(health[0]!.Checks.map((c) => c.CheckID)).to.deep.equal(['web-1-alive']);
    expect((await t.json<unknown[]>('/v1/health/node/n1')).length).to.equal(1);
    expect((await t.json<Array<{ CheckID: string }>>('/v1/health/checks/web')).map((c) => c.CheckID)).to.deep.equal(['web-1-alive']);
    expect((await t.json<unknown[]>('/v1/health/state/passing')).length).to.equal(1);
    expect((await t.json<unknown[]>('/v1/health/state/critical')).length).to.equal(0);
    expect((await t.json<unknown[]>('/v1/health/state/any')).length).to.equal(1);

    r = await t.put('/v1/catalog/deregister', { Node: 'n1', ServiceID: 'web-1' });
    expect(r.status).to.equal(200);
    expect((await t.json<unknown[]>('/v1/catalog/service/web')).length).to.equal(1);
    r = await t.put('/v1/catalog/deregister', { Node: 'n2' });
    expect(r.status).to.equal(200);
    expect((await t.json<Array<{ Node: string }>>('/v1/catalog/nodes')).map((n) => n.Node)).to.deep.equal(['n1']);
  });

  it('?passing drops instances with a non-passing check; ?tag repeats', async () => {
    await t.put('/v1/catalog/register', { ...reg('n1', 'web', 'a', { Tags: ['x', 'y'] }), Check: { Name: 'c', ServiceID: 'a', Status: 'critical' } });
    await t.put('/v1/catalog/register', { ...reg('n2', 'web', 'b', { Tags: ['x'] }), Check: { Name: 'c', ServiceID: 'b', Status: 'passing' } });
    const ids = async (q: string) => (await t.json<Array<{ Service: { ID: string } }>>(`/v1/health/service/web${q}`)).map((h) => h.Service.ID);
    expect(await ids('')).to.deep.equal(['a', 'b']);
    expect(await ids('?passing')).to.deep.equal(['b']);
    expect(await ids('?passing=true')).to.deep.equal(['b']);
    expect(await ids('?passing=false')).to.deep.equal(['a', 'b']);
    expect(await ids('?tag=x&tag=y')).to.deep.equal(['a']);
  });

  it('accepts snake_case and lower-case keys like Consul', async () => {
    const r = await t.put('/v1/catalog/register', { node: 'n1', address: '192.0.2.11', node_meta: { k: 'v' }, service: { service: 'db', port: 5432, enable_tag_override: true } });
    expect(r.status, await r.text()).to.equal(200);
    const s = await t.json<Array<{ ServicePort: number; ServiceEnableTagOverride: boolean; NodeMeta: Record<string, string> }>>('/v1/catalog/service/db');
    expect(s[0]).to.include({ ServicePort: 5432, ServiceEnableTagOverride: true });
    expect(s[0]!.NodeMeta).to.deep.equal({ k: 'v' });
  });

  it('sets X-Consul-Index (>= 1), KnownLeader and LastContact on every read', async () => {
    let r = await t.get('/v1/catalog/nodes');
    expect(r.headers.get('x-consul-index')).to.equal('1');
    expect(r.headers.get('x-consul-knownleader')).to.equal('true');
    expect(r.headers.get('x-consul-lastcontact')).to.equal('0');
    await t.put('/v1/catalog/register', reg('n1', 'web', 'a'));
    await t.put('/v1/catalog/register', reg('n2', 'db', 'b'));
    r = await t.get('/v1/catalog/service/web');
    expect(r.headers.get('x-consul-index')).to.equal('1');
    r = await t.get('/v1/catalog/service/db?stale');
    expect(r.headers.get('x-consul-index')).to.equal('2');
    r = await t.get('/v1/health/service/db?consistent');
    expect(r.headers.get('x-consul-index')).to.equal('2');
  });

  it('blocking queries over HTTP wake on a change and time out with the same index', async () => {
    await t.put('/v1/catalog/register', reg('n1', 'web', 'a'));
    const idx = (await t.get('/v1/health/service/web')).headers.get('x-consul-index')!;
    const t0 = Date.now();
    const blocked = t.get(`/v1/health/service/web?index=${idx}&wait=10s`);
    await new Promise((r) => setTimeout(r, 50));
    await t.put('/v1/catalog/register', reg('n2', 'db', 'other'));
    await new Promise((r) => setTimeout(r, 30));
    await t.put('/v1/catalog/register', reg('n3', 'web', 'b'));
    const r = await blocked;
    expect(Number(r.headers.get('x-consul-index'))).to.be.greaterThan(Number(idx));
    expect(((await r.json()) as unknown[]).length).to.equal(2);
    expect(Date.now() - t0).to.be.lessThan(8000);

    const idx2 = r.headers.get('x-consul-index')!;
    const timed = await t.get(`/v1/catalog/service/web?index=${idx2}&wait=100ms`);
    expect(timed.status).to.equal(200);
    expect(timed.headers.get('x-consul-index')).to.equal(idx2);
  });

  it('a woken blocking read answers with the same status, headers and bytes as a plain read; HEAD has no body; ?pretty indents', async () => {
    await t.put('/v1/catalog/register', reg('n1', 'web', 'a'));
    const idx = (await t.get('/v1/health/service/web')).headers.get('x-consul-index')!;
    const blocked = t.get(`/v1/health/service/web?index=${idx}&wait=30s`);
    const blockedHead = fetch(`${t.srv.url}/v1/health/service/web?index=${idx}&wait=30s`, { method: 'HEAD' });
    const blockedPretty = t.get(`/v1/health/service/web?index=${idx}&wait=30s&pretty`);
    for (let i = 0; i < 100 && t.store.watchCount < 3; i++) await new Promise((r) => setTimeout(r, 10));
    expect(t.store.watchCount).to.equal(3);
    await t.put('/v1/catalog/register', reg('n2', 'web', 'b'));
    const [woken, head, pretty] = await Promise.all([blocked, blockedHead, blockedPretty]);
    const plain = await t.get('/v1/health/service/web');
    const pick = (r: Response) => ['content-type', 'content-length', 'x-consul-index', 'x-consul-knownleader', 'x-consul-lastcontact'].map((h) => r.headers.get(h));
    expect(woken.status).to.equal(200);
    expect(pick(woken)).to.deep.equal(pick(plain));
    expect(pick(woken)[0]).to.equal('application/json; charset=utf-8');
    const body = await woken.text();
    expect(body).to.equal(await plain.text());
    expect(Buffer.byteLength(body)).to.equal(Number(woken.headers.get('content-length')));
    expect(head.status).to.equal(200);
    expect(await head.text()).to.equal('');
    expect(await pretty.text()).to.equal(JSON.stringify(JSON.parse(body), null, 4));
  });

  it('a client that goes away releases its blocked query', async () => {
    await t.put('/v1/catalog/register', reg('n1', 'web', 'a'));
    const ctrl = new AbortController();
    const blocked = fetch(`${t.srv.url}/v1/catalog/service/web?index=1&wait=5m`, { signal: ctrl.signal }).catch(() => 'aborted');
    for (let i = 0; i < 100 && t.store.watchCount === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(t.store.watchCount).to.equal(1);
    ctrl.abort();
    expect(await blocked).to.equal('aborted');
    for (let i = 0; i < 100 && t.store.watchCount > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(t.store.watchCount).to.equal(0);
  });

  it('?filter applies to list endpoints; a bad filter is a 400', async () => {
    await t.put('/v1/catalog/register', reg('n1', 'web', 'a', { Meta: { env: 'prod' } }));
    await t.put('/v1/catalog/register', reg('n2', 'web', 'b', { Meta: { env: 'dev' } }));
    const f = encodeURIComponent('ServiceMeta.env == prod');
    expect((await t.json<Array<{ ServiceID: string }>>(`/v1/catalog/service/web?filter=${f}`)).map((s) => s.ServiceID)).to.deep.equal(['a']);
    const hf = encodeURIComponent('Service.Meta.env == dev');
    expect((await t.json<Array<{ Service: { ID: string } }>>(`/v1/health/service/web?filter=${hf}`)).map((s) => s.Service.ID)).to.deep.equal(['b']);
    const r = await t.get(`/v1/catalog/nodes?filter=${encodeURIComponent('Node ==')}`);
    expect(r.status).to.equal(400);
    expect(await r.text()).to.match(/^Failed to create boolean expression evaluator: filter: .*position/);
  });

  it('bad input is a 400 naming the field, and nothing is written', async () => {
    const cases: Array<[unknown, RegExp | string]> = [
      ['{"Node": ', /^Request decode failed: /],
      ['', 'Request decode failed: empty body'],
      ['[1,2]', 'Request decode failed: body: expected an object, got an array'],
      [{ Node: 'n1', Address: 'x', Service: { Service: 'web', Port: '80' } }, 'Request decode failed: Service.Port: expected an integer, got "80"'],
      [{ Node: 'n1', Address: 'x', Service: { Service: 'web', Tags: 'a' } }, 'Request decode failed: Service.Tags: expected an array, got "a"'],
      [{ Node: 'n1', Address: 'x', NodeMeta: { k: 1 } }, 'Request decode failed: NodeMeta.k: expected a string, got 1'],
      [{ Address: 'x' }, 'Must provide node'],
      [{ Node: 'n1' }, 'Must provide address if SkipNodeUpdate is not set'],
      [{ Node: 'n1', Address: 'x', Service: { Port: 1 } }, 'Must provide service name'],
      [{ Node: 'n1', Address: 'x', Service: { Service: 'web', Port: 70000 } }, /Service.Port: 70000 is out of range/],
      [{ Node: 'n1', Address: 'x', Check: { Name: 'c', Status: 'bogus' } }, /invalid Status "bogus"/],
      [{ Node: 'n1', Address: 'x', Check: { Name: 'c', ServiceID: 'nope' } }, /Missing service registration/],
    ];
    for (const [body, want] of cases) {
      const r = await t.put('/v1/catalog/register', body);
      const text = await r.text();
      expect(r.status, `${JSON.stringify(body)} → ${text}`).to.equal(400);
      expect(r.headers.get('content-type')).to.match(/^text\/plain/);
      if (typeof want === 'string') expect(text).to.equal(want);
      else expect(text).to.match(want);
    }
    expect(await t.json('/v1/catalog/nodes')).to.deep.equal([]);
    let r = await t.get('/v1/catalog/nodes?index=abc');
    expect(r.status).to.equal(400);
    expect(await r.text()).to.match(/Invalid index/);
    r = await t.get('/v1/catalog/nodes?index=1&wait=forever');
    expect(r.status).to.equal(400);
    expect(await r.text()).to.match(/Invalid wait time/);
    r = await t.get('/v1/health/state/sad');
    expect(r.status).to.equal(400);
    expect(await r.text()).to.equal('Invalid check state "sad"');
    r = await t.put('/v1/catalog/register', 'x'.repeat(2 * 1024 * 1024));
    expect(r.status).to.equal(413);
    r = await t.get('/v1/catalog/nodes?dc=elsewhere');
    expect(r.status).to.equal(500);
    expect(await r.text()).to.match(/No path to datacenter/);
  });

  it('catalog routes answer 500 when the app has no catalog client', async () => {
    const app = createHttpApp({
      config: buildConfig({ dev: true, raw: {} }),
      nodeId: 'x',
      version: VERSION,
      logger: silentLogger(),
      status: { leader: () => '', peers: () => [] },
    });
    const srv = await serveApp(app);
    try {
      const r = await fetch(`${srv.url}/v1/catalog/nodes`);
      expect(r.status).to.equal(500);
      expect(await r.text()).to.equal('catalog: not available on this agent');
    } finally {
      await srv.close();
    }
  });
});
