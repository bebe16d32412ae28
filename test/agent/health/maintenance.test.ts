import { expect } from 'chai';
import { startAgent, type TestAgent } from './fixture.js';
import { runCli } from '../../../agent/cli/program.js';
import { captureIO } from '../../lib/io.js';
import { tempDir } from '../../lib/tmp.js';
import { DEFAULT_NODE_MAINT_REASON, DEFAULT_SERVICE_MAINT_REASON } from '../../../agent/local/maintenance.js';

type AgentCheck = { CheckID: string; Name: string; Status: string; Notes: string; ServiceID: string; Type: string };

describe('maintenance mode', () => {
  let t: TestAgent;
  afterEach(async () => t?.close());

  const checks = () => t.get<Record<string, AgentCheck>>('/v1/agent/checks');

  it('node and service maintenance over HTTP: critical checks with Consul IDs, names and notes; unhealthy in health?passing', async () => {
    t = await startAgent();
    await t.put('/v1/agent/service/register', { Name: 'web', ID: 'web-1', Check: { TTL: '1m', Status: 'passing' } });
    await t.put('/v1/agent/service/register', { Name: 'web', ID: 'web-2', Check: { TTL: '1m', Status: 'passing' } });
    await t.ae.idle();
    expect(await t.get<unknown[]>('/v1/health/service/web?passing')).to.have.length(2);

    let r = await t.put('/v1/agent/service/maintenance/web-1?enable=true&reason=deploy%20v2');
    expect(r.status, await r.text()).to.equal(200);
    expect((await checks())['_service_maintenance:web-1']).to.deep.include({
      Name: 'Service Maintenance Mode', Status: 'critical', Notes: 'deploy v2', ServiceID: 'web-1', Type: 'maintenance',
    });
    await t.ae.idle();
    const passing = await t.get<Array<{ Service: { ID: string } }>>('/v1/health/service/web?passing');
    expect(passing.map((e) => e.Service.ID)).to.deep.equal(['web-2']);

    // Enabling again keeps the first reason.
    await t.put('/v1/agent/service/maintenance/web-1?enable=true&reason=other');
    expect((await checks())['_service_maintenance:web-1']!.Notes).to.equal('deploy v2');

    r = await t.put('/v1/agent/maintenance?enable=true');
    expect(r.status).to.equal(200);
    expect((await checks())['_node_maintenance']).to.deep.include({ Name: 'Node Maintenance Mode', Status: 'critical', Notes: DEFAULT_NODE_MAINT_REASON, ServiceID: '' });
    await t.ae.idle();
    expect(await t.get<unknown[]>('/v1/health/service/web?passing')).to.deep.equal([]);

    await t.put('/v1/agent/maintenance?enable=false');
    await t.put('/v1/agent/service/maintenance/web-1?enable=false');
    expect(Object.keys(await checks()).sort()).to.deep.equal(['service:web-1', 'service:web-2']);
    await t.ae.idle();
    expect(await t.get<unknown[]>('/v1/health/service/web?passing')).to.have.length(2);

    await t.put('/v1/agent/service/maintenance/web-2?enable=true');
    expect((await checks())['_service_maintenance:web-2']!.Notes).to.equal(DEFAULT_SERVICE_MAINT_REASON);
    // Deregistering the service removes its maintenance check with it.
    await t.put('/v1/agent/service/deregister/web-2');
    expect(Object.keys(await checks())).to.deep.equal(['service:web-1']);
  });

  it('bad requests: missing or bad enable is a 400, an unknown service a 404', async () => {
    t = await startAgent();
    const cases: Array<[string, number, string]> = [
      ['/v1/agent/maintenance', 400, 'Missing value for enable'],
      ['/v1/agent/maintenance?enable=yes', 400, 'Invalid value for enable: "yes"'],
      ['/v1/agent/service/maintenance/nope?enable=true', 404, 'Unknown service ID "nope". Ensure you are using the service ID, not the service name.'],
    ];
    for (const [path, code, text] of cases) {
      const r = await t.put(path);
      expect(r.status, path).to.equal(code);
      expect(await r.text(), path).to.equal(text);
    }
  });

  it('maintenance survives a restart (persisted with local state)', async () => {
    const dir = tempDir();
    try {
      t = await startAgent({}, { dataDir: dir.dir });
      await t.put('/v1/agent/service/register', { Name: 'db', Check: { TTL: '1m' } });
      await t.put('/v1/agent/maintenance?enable=true&reason=rack%20move');
      await t.put('/v1/agent/service/maintenance/db?enable=true&reason=upgrade');
      await t.close();
      t = await startAgent({}, { dataDir: dir.dir });
      const c = await checks();
      expect(c['_node_maintenance']!.Notes).to.equal('rack move');
      expect(c['_service_maintenance:db']!.Notes).to.equal('upgrade');
      expect(t.health.maintenance.status()).to.deep.equal({ node: 'rack move', services: { db: 'upgrade' } });
    } finally {
      dir.cleanup();
    }
  });

  it('herald maint: enable, list, disable', async () => {
    t = await startAgent();
    await t.put('/v1/agent/service/register', { Name: 'redis', Check: { TTL: '1m' } });
    const run = async (...args: string[]) => {
      const io = captureIO();
      const code = await runCli(['maint', ...args, `-http-addr=${t.url}`], io);
      return { code, out: io.out(), err: io.err() };
    };
    expect(await run()).to.deep.equal({ code: 0, out: '', err: '' });
    expect((await run('-enable', '-reason', 'patching')).out).to.equal('Node maintenance is now enabled\n');
    expect((await run('-enable', '-service', 'redis')).out).to.equal('Service maintenance is now enabled for "redis"\n');
    expect((await run()).out).to.equal(
      ['Node:', '  Name:   agent-1', '  Reason: patching', '', 'Service:', '  ID:     redis', `  Reason: ${DEFAULT_SERVICE_MAINT_REASON}`, ''].join('\n'),
    );
    expect((await run('-disable', '-service', 'redis')).out).to.equal('Service maintenance is now disabled for "redis"\n');
    expect((await run('-disable')).out).to.equal('Node maintenance is now disabled\n');
    expect((await run()).out).to.equal('');
    const bad = await run('-enable', '-service', 'ghost');
    expect(bad.code).to.equal(1);
    expect(bad.err).to.match(/404.*Unknown service ID "ghost"/);
    expect((await run('-enable', '-disable')).err).to.match(/Only one of -enable or -disable/);
  });
});
