import { expect } from 'chai';
import { startAgent, flippableServer, type TestAgent } from './fixture.js';
import { waitFor } from '../checks/helpers.js';
import { REMOTE_SCRIPTS_DISABLED } from '../../../agent/http/routes/agent-local.js';

type AgentCheck = { CheckID: string; Status: string; Output: string; ServiceID: string; Type: string };

describe('health wiring: check runners driven by local state', () => {
  let t: TestAgent;
  const targets: Array<{ close(): Promise<void> }> = [];
  afterEach(async () => {
    await t?.close();
    for (const s of targets.splice(0)) await s.close();
  });

  const status = async (id: string) => (await t.get<Record<string, AgentCheck>>('/v1/agent/checks'))[id];
  const waitStatus = async (id: string, want: string) => {
    await waitFor(() => t.local.check(id)?.Status === want, 5000, `check ${id} ${want} (seed ${t.seed})`);
  };

  it('an HTTP check registered over the API follows the target; a critical service leaves health?passing and is reaped after DeregisterCriticalServiceAfter', async () => {
    t = await startAgent();
    const target = await flippableServer(200);
    targets.push(target);
    const r = await t.put('/v1/agent/service/register', {
      Name: 'web',
      Port: 80,
      Check: { HTTP: target.url, Interval: '10s', DeregisterCriticalServiceAfter: '1m' },
    });
    expect(r.status, await r.text()).to.equal(200);
    expect(t.health.manager.running()).to.deep.equal(['service:web']);
    t.clock.advance(10_000);
    await waitStatus('service:web', 'passing');
    expect((await status('service:web'))!.Output).to.match(/HTTP GET .*: 200 OK Output: status 200/);
    await t.ae.idle();
    expect(await t.get<unknown[]>('/v1/health/service/web?passing')).to.have.length(1);

    target.status = 500;
    t.clock.advance(10_000);
    await waitStatus('service:web', 'critical');
    await t.ae.idle();
    expect(await t.get<unknown[]>('/v1/health/service/web?passing')).to.deep.equal([]);
    expect(await t.get<unknown[]>('/v1/health/service/web')).to.have.length(1);

    // Critical since the last probe; the reaper runs every 30 s and needs > 1 m.
    for (let i = 0; i < 2; i++) {
      t.clock.advance(30_000);
      expect(t.local.service('web'), `after ${(i + 1) * 30} s`).to.not.equal(undefined);
    }
    t.clock.advance(30_000);
    expect(t.local.service('web')).to.equal(undefined);
    expect(t.health.manager.running()).to.deep.equal([]);
    await t.ae.idle();
    expect(await t.get<unknown[]>('/v1/catalog/service/web')).to.deep.equal([]);
  });

  it('a check that recovers before the timeout is not reaped', async () => {
    t = await startAgent();
    const target = await flippableServer(500);
    targets.push(target);
    await t.put('/v1/agent/service/register', { Name: 'api', Check: { HTTP: target.url, Interval: '20s', DeregisterCriticalServiceAfter: '10s', Status: 'passing' } });
    t.clock.advance(20_000);
    await waitStatus('service:api', 'critical');
    target.status = 200;
    t.clock.advance(20_000);
    await waitStatus('service:api', 'passing');
    t.clock.advance(120_000);
    await waitFor(() => t.local.check('service:api')?.Status === 'passing', 5000, 'still passing');
    expect(t.local.service('api')).to.not.equal(undefined);
  });

  it('re-registering replaces the runner; deregistering stops it', async () => {
    t = await startAgent();
    const a = await flippableServer(200);
    const b = await flippableServer(429);
    targets.push(a, b);
    await t.put('/v1/agent/check/register', { Name: 'probe', HTTP: a.url, Interval: '5s' });
    t.clock.advance(5_000);
    await waitStatus('probe', 'passing');
    await t.put('/v1/agent/check/register', { Name: 'probe', HTTP: b.url, Interval: '5s' });
    await waitFor(() => t.local.check('probe')?.Status === 'critical', 1000, 'reset to initial status');
    t.clock.advance(5_000);
    await waitStatus('probe', 'warning');
    const hitsA = a.hits;
    expect((await t.put('/v1/agent/check/deregister/probe')).status).to.equal(200);
    expect(t.health.manager.running()).to.deep.equal([]);
    t.clock.advance(60_000);
    await new Promise((r) => setTimeout(r, 50));
    expect(a.hits).to.equal(hitsA);
    expect(t.clock.pending()).to.be.lessThan(5);
  });

  it('TCP and script checks run; scripts over HTTP need enable_script_checks (400 otherwise)', async () => {
    t = await startAgent();
    const r = await t.put('/v1/agent/check/register', { Name: 's', Args: ['sh', '-c', 'echo hi'], Interval: '5s' });
    expect(r.status).to.equal(400);
    expect(await r.text()).to.equal(REMOTE_SCRIPTS_DISABLED);
    const r2 = await t.put('/v1/agent/service/register', { Name: 'x', Check: { Args: ['true'], Interval: '5s' } });
    expect(r2.status).to.equal(400);
    expect(t.local.services()).to.deep.equal([]);
    await t.close();

    t = await startAgent({ enable_script_checks: true });
    const target = await flippableServer(200);
    targets.push(target);
    const port = new URL(target.url).port;
    expect((await t.put('/v1/agent/check/register', { Name: 's', Args: ['sh', '-c', 'echo degraded; exit 1'], Interval: '5s' })).status).to.equal(200);
    expect((await t.put('/v1/agent/check/register', { Name: 'tcp', TCP: `127.0.0.1:${port}`, Interval: '5s' })).status).to.equal(200);
    t.clock.advance(5_000);
    await waitStatus('s', 'warning');
    expect(t.local.check('s')!.Output).to.equal('degraded\n');
    await waitStatus('tcp', 'passing');
  });

  it('script checks from config files run with enable_local_script_checks only', async () => {
    t = await startAgent({ enable_local_script_checks: true, checks: [{ id: 'disk', name: 'disk', args: ['sh', '-c', 'echo ok'], interval: '5s' }] });
    expect(t.health.manager.running()).to.deep.equal(['disk']);
    t.clock.advance(5_000);
    await waitStatus('disk', 'passing');
    const r = await t.put('/v1/agent/check/register', { Name: 's', Args: ['true'], Interval: '5s' });
    expect(r.status).to.equal(400);
  });

  it('an alias check without AliasNode mirrors a local service', async () => {
    t = await startAgent();
    await t.put('/v1/agent/service/register', { Name: 'db', Check: { TTL: '30s', Status: 'passing' } });
    await t.put('/v1/agent/check/register', { Name: 'db-alias', AliasService: 'db' });
    await waitStatus('db-alias', 'passing');
    await t.put('/v1/agent/check/fail/service:db?note=disk%20full');
    await waitStatus('db-alias', 'critical');
    expect(t.local.check('db-alias')!.Output).to.equal(`Aliased check "Service 'db' check" failing: disk full`);
  });

  it('an alias check naming a node reads the catalog with blocking queries', async () => {
    t = await startAgent();
    await t.put('/v1/agent/check/register', { Name: 'mem', TTL: '30s', Status: 'passing' });
    await t.ae.idle();
    await t.put('/v1/agent/check/register', { Name: 'node-alias', AliasNode: 'agent-1' });
    await waitStatus('node-alias', 'passing');
    await t.put('/v1/agent/check/warn/mem?note=high');
    await t.ae.idle();
    await waitStatus('node-alias', 'warning');
  });
});
