import { expect } from 'chai';
import { createHttpApp } from '../../../agent/http/app.js';
import { buildConfig } from '../../../agent/config/config.js';
import { silentLogger } from '../../../agent/runtime/logger.js';
import { ManualClock } from '../../../agent/runtime/clock.js';
import { LocalState } from '../../../agent/local/state.js';
import { TtlChecks } from '../../../agent/checks/ttl.js';
import { VERSION } from '../../../agent/version.js';
import { serveApp } from '../../lib/net.js';

async function start() {
  const clock = new ManualClock();
  const state = LocalState.open({ logger: silentLogger() });
  const ttl = new TtlChecks(state, clock, silentLogger());
  ttl.start();
  const app = createHttpApp({
    config: buildConfig({ dev: true, raw: { node_name: 'agent-1' } }),
    nodeId: '11111111-2222-3333-4444-555555555555',
    version: VERSION,
    logger: silentLogger(),
    status: { leader: () => '', peers: () => [] },
    local: { state, ttl },
  });
  const srv = await serveApp(app);
  const put = (path: string, body?: unknown) =>
    fetch(`${srv.url}${path}`, { method: 'PUT', body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
  const json = async <T = unknown>(path: string): Promise<T> => {
    const r = await fetch(`${srv.url}${path}`);
    expect(r.status, path).to.equal(200);
    return (await r.json()) as T;
  };
  return { srv, clock, state, ttl, put, json };
}

type Ctx = Awaited<ReturnType<typeof start>>;
type AgentCheck = { CheckID: string; Status: string; Output: string; ServiceID: string; ServiceName: string; Type: string; Definition: Record<string, unknown>; Node: string; Name: string };

describe('http: agent service and check endpoints', () => {
  let t: Ctx;
  beforeEach(async () => {
    t = await start();
  });
  afterEach(async () => {
    t.ttl.stop();
    await t.srv.close();
  });

  it('registers a service with checks, lists it, and deregisters it with its checks', async () => {
    let r = await t.put('/v1/agent/service/register', {
      Name: 'web',
      ID: 'web-1',
      Tags: ['v1'],
      Port: 8080,
      Meta: { env: 'prod' },
      Check: { TTL: '15s', Notes: 'app reports in' },
      Checks: [{ HTTP: 'http://127.0.0.1:8080/health', Interval: '10s', Timeout: '1s' }],
    });
    expect(r.status, await r.text()).to.equal(200);
    const services = await t.json<Record<string, Record<string, unknown>>>('/v1/agent/services');
    expect(Object.keys(services)).to.deep.equal(['web-1']);
    expect(services['web-1']).to.deep.equal({
      ID: 'web-1', Service: 'web', Tags: ['v1'], Meta: { env: 'prod' }, Port: 8080, Address: '',
      TaggedAddresses: {}, Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false, Datacenter: 'dc1',
    });
    const one = await t.json<Record<string, unknown>>('/v1/agent/service/web-1');
    expect(one['ContentHash']).to.match(/^[0-9a-f]{16}$/);
    const checks = await t.json<Record<string, AgentCheck>>('/v1/agent/checks');
    expect(Object.keys(checks)).to.deep.equal(['service:web-1:1', 'service:web-1:2']);
    expect(checks['service:web-1:1']).to.deep.include({ Type: 'ttl', Status: 'critical', ServiceID: 'web-1', ServiceName: 'web', Node: 'agent-1', Name: "Service 'web' check" });
    expect(checks['service:web-1:1']!.Definition).to.deep.equal({ TTL: '15s' });
    expect(checks['service:web-1:2']!.Definition).to.deep.equal({ HTTP: 'http://127.0.0.1:8080/health', Interval: '10s', Timeout: '1s' });
    expect(checks['service:web-1:2']!.Type).to.equal('http');

    const f = encodeURIComponent('Meta.env == dev');
    expect(await t.json(`/v1/agent/services?filter=${f}`)).to.deep.equal({});
    const cf = encodeURIComponent('Type == ttl');
    expect(Object.keys(await t.json(`/v1/agent/checks?filter=${cf}`))).to.deep.equal(['service:web-1:1']);

    r = await t.put('/v1/agent/service/deregister/web-1');
    expect(r.status).to.equal(200);
    expect(await t.json('/v1/agent/services')).to.deep.equal({});
    expect(await t.json('/v1/agent/checks')).to.deep.equal({});
    r = await t.put('/v1/agent/service/deregister/web-1');
    expect(r.status).to.equal(404);
    expect(await r.text()).to.match(/^Unknown service ID "web-1"/);
    expect((await fetch(`${t.srv.url}/v1/agent/service/web-1`)).status).to.equal(404);
  });

  it('a single Check gets ID service:<id>; snake_case keys work; replace-existing-checks drops the rest', async () => {
    let r = await t.put('/v1/agent/service/register', { name: 'db', port: 5432, enable_tag_override: true, check: { ttl: '30s', status: 'passing' } });
    expect(r.status, await r.text()).to.equal(200);
    expect((await t.json<Record<string, { EnableTagOverride: boolean }>>('/v1/agent/services'))['db']!.EnableTagOverride).to.equal(true);
    expect(Object.keys(await t.json('/v1/agent/checks'))).to.deep.equal(['service:db']);
    r = await t.put('/v1/agent/check/register', { Name: 'disk', ServiceID: 'db', TTL: '1m' });
    expect(r.status).to.equal(200);
    r = await t.put('/v1/agent/service/register', { Name: 'db', Port: 5432, Check: { TTL: '30s' } });
    expect(Object.keys(await t.json('/v1/agent/checks'))).to.deep.equal(['disk', 'service:db']);
    r = await t.put('/v1/agent/service/register?replace-existing-checks', { Name: 'db', Port: 5432, Check: { TTL: '30s' } });
    expect(Object.keys(await t.json('/v1/agent/checks'))).to.deep.equal(['service:db']);
  });

  it('TTL checks: pass/warn/fail with ?note, update with a body, expiry after the TTL', async () => {
    await t.put('/v1/agent/check/register', { Name: 'heartbeat', TTL: '10s' });
    const status = async () => (await t.json<Record<string, AgentCheck>>('/v1/agent/checks'))['heartbeat']!;
    expect((await status()).Status).to.equal('critical');
    expect((await t.put('/v1/agent/check/pass/heartbeat?note=all%20good')).status).to.equal(200);
    expect(await status()).to.deep.include({ Status: 'passing', Output: 'all good', ServiceID: '' });
    await t.put('/v1/agent/check/warn/heartbeat');
    expect(await status()).to.deep.include({ Status: 'warning', Output: '' });
    await t.put('/v1/agent/check/fail/heartbeat?note=down');
    expect(await status()).to.deep.include({ Status: 'critical', Output: 'down' });
    let r = await t.put('/v1/agent/check/update/heartbeat', { Status: 'passing', Output: 'fine' });
    expect(r.status).to.equal(200);
    expect(await status()).to.deep.include({ Status: 'passing', Output: 'fine' });
    t.clock.advance(10_000);
    expect(await status()).to.deep.include({ Status: 'critical', Output: 'TTL expired (last output before timeout follows): fine' });

    r = await t.put('/v1/agent/check/update/heartbeat', { Status: 'sick' });
    expect(r.status).to.equal(400);
    expect(await r.text()).to.equal('Invalid check status: "sick"');
    r = await t.put('/v1/agent/check/pass/nope');
    expect(r.status).to.equal(404);
    await t.put('/v1/agent/check/register', { Name: 'web', HTTP: 'http://x', Interval: '5s' });
    r = await t.put('/v1/agent/check/pass/web');
    expect(r.status).to.equal(400);
    expect(await r.text()).to.equal('CheckID "web" does not have associated TTL');
    expect((await t.put('/v1/agent/check/deregister/heartbeat')).status).to.equal(200);
    expect((await t.put('/v1/agent/check/deregister/heartbeat')).status).to.equal(404);
  });

  it('bad definitions are a 400 naming the field, and nothing is registered', async () => {
    const cases: Array<[string, unknown, RegExp | string]> = [
      ['service', '{"Name": "web",', /^Request decode failed: /],
      ['service', '', 'Request decode failed: empty body'],
      ['service', { Port: 80 }, 'Missing service name'],
      ['service', { Name: 'web', Port: '80' }, 'Request decode failed: Port: expected an integer, got "80"'],
      ['service', { Name: 'web', Tags: [1] }, 'Request decode failed: Tags[0]: expected a string, got 1'],
      ['service', { Name: 'web', Meta: { 'consul-x': 'y' } }, /^Invalid Service Meta: key "consul-x" uses the reserved prefix/],
      ['service', { Name: 'web', Port: 70000 }, /^Invalid Port: 70000 is out of range/],
      ['service', { Name: 'web', Weights: { Passing: 0 } }, 'Invalid Weights: Passing must be greater than 0'],
      ['service', { Name: 'web', Check: { TTL: 'soon' } }, /^Request decode failed: Check.TTL: invalid duration "soon"/],
      ['service', { Name: 'web', Check: { Name: 'x' } }, /^Invalid check: Check: one of HTTP, TCP, GRPC, Args/],
      ['service', { Name: 'web', Checks: [{ TTL: '5s' }, { HTTP: 'http://x' }] }, 'Invalid check: Checks[1]: Interval is required for HTTP checks'],
      ['service', { Name: 'web', Check: { TTL: '5s', HTTP: 'http://x', Interval: '1s' } }, 'Invalid check: Check: "HTTP" and "TTL" cannot both be set'],
      ['service', { Name: 'web', Check: { TTL: '5s', Status: 'great' } }, 'Invalid check: Check: Status: must be one of passing, warning, critical (got "great")'],
      ['check', { TTL: '5s' }, 'Missing check name'],
      ['check', { Name: 'c', Type: 'smtp', TTL: '5s' }, 'Invalid check: Type: unknown check type "smtp"'],
      ['check', { Name: 'c', Interval: 5 }, /one of HTTP, TCP/],
      ['check', { Name: 'c', TTL: '0s' }, 'Invalid check: TTL must be > 0 for TTL checks'],
      ['check', { Name: 'c', Type: 'http', TTL: '5s' }, 'Invalid check: Type: "http" does not match the fields given (TTL)'],
      ['check', { Name: 'c', DockerContainerID: 'f00', Args: ['true'], Interval: '5s' }, 'Invalid check: DockerContainerID: Docker checks are not supported'],
      ['check', { Name: 'c', HTTP: 'ftp://x', Interval: '5s' }, 'Invalid check: HTTP: must be an http:// or https:// URL (got "ftp://x")'],
      ['check', { Name: 'c', TTL: '5s', ServiceID: 'ghost' }, 'ServiceID "ghost" does not exist'],
      ['check', { Name: 'c', TTL: '5s', Header: { a: 'b' } }, 'Request decode failed: Header.a: expected an array, got "b"'],
    ];
    for (const [kind, body, want] of cases) {
      const r = await t.put(`/v1/agent/${kind}/register`, body);
      const text = await r.text();
      expect(r.status, `${JSON.stringify(body)} → ${text}`).to.equal(400);
      if (typeof want === 'string') expect(text, JSON.stringify(body)).to.equal(want);
      else expect(text, JSON.stringify(body)).to.match(want);
    }
    expect(await t.json('/v1/agent/services')).to.deep.equal({});
    expect(await t.json('/v1/agent/checks')).to.deep.equal({});
    const r = await t.put('/v1/agent/service/register', JSON.stringify({ Name: 'web', Meta: { big: 'x'.repeat(2 * 1024 * 1024) } }));
    expect(r.status).to.equal(413);
  });
});
