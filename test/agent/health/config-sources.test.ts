import { expect } from 'chai';
import { startAgent, type TestAgent } from './fixture.js';
import { tempDir } from '../../lib/tmp.js';
import { buildConfig } from '../../../agent/config/config.js';

describe('health wiring: services and checks from config files', () => {
  let t: TestAgent | undefined;
  const tmp = tempDir();
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });
  after(() => tmp.cleanup());

  const cfg = (services: unknown[], checks: unknown[] = []) => ({ services, checks });

  it('registers them at start; reload adds, replaces and removes file entries and keeps HTTP ones', async () => {
    t = await startAgent(cfg([{ name: 'a', port: 1, check: { ttl: '1h', status: 'passing' } }, { name: 'b' }], [{ id: 'disk', name: 'disk', ttl: '1h' }]));
    expect(t.local.services().map((s) => s.ID)).to.deep.equal(['a', 'b']);
    expect(t.local.checks().map((c) => c.CheckID)).to.deep.equal(['disk', 'service:a']);
    await t.put('/v1/agent/service/register', { Name: 'api' });
    await t.put('/v1/agent/check/pass/disk?note=ok');

    t.health.reload(buildConfig({ dev: true, raw: { node_name: 'agent-1', ...cfg([{ name: 'a', port: 1, check: { ttl: '1h', status: 'passing' } }, { name: 'c', port: 3 }], [{ id: 'disk', name: 'disk', ttl: '1h' }]) } }));
    expect(t.local.services().map((s) => s.ID)).to.deep.equal(['a', 'api', 'c']);
    // Unchanged entries were not touched (the TTL report stays).
    expect(t.local.check('disk')).to.deep.include({ Status: 'passing', Output: 'ok' });

    t.health.reload(buildConfig({ dev: true, raw: { node_name: 'agent-1', ...cfg([{ name: 'a', port: 2 }]) } }));
    expect(t.local.services().map((s) => `${s.ID}:${s.Port}`)).to.deep.equal(['a:2', 'api:0']);
    expect(t.local.checks().map((c) => c.CheckID)).to.deep.equal([]);

    expect(() => t!.health.reload(buildConfig({ dev: true, raw: { node_name: 'agent-1', services: [{ port: 5 }] } }))).to.throw('config: services[0]: Missing service name');
    expect(t.local.services().map((s) => s.ID)).to.deep.equal(['a', 'api']);
  });

  it('across a restart: entries dropped from the files are removed, unchanged ones keep their state', async () => {
    const dir = `${tmp.dir}/restart`;
    t = await startAgent(cfg([{ name: 'a' }, { name: 'b' }], [{ id: 'disk', name: 'disk', ttl: '1h' }]), { dataDir: dir });
    await t.put('/v1/agent/service/register', { Name: 'api' });
    await t.put('/v1/agent/check/warn/disk?note=80%25');
    await t.close();
    t = await startAgent(cfg([{ name: 'a' }], [{ id: 'disk', name: 'disk', ttl: '1h' }]), { dataDir: dir });
    expect(t.local.services().map((s) => s.ID)).to.deep.equal(['a', 'api']);
    expect(t.local.check('disk')).to.deep.include({ Status: 'warning', Output: '80%' });
  });
});
