/**
 * Compatibility: the `consul` npm client (silas/node-consul, tested with 2.0.1) drives Herald
 * unchanged against a real agent process — agent service registration with a TTL check, health with `passing`, and a
 * blocking watch. The package is an optional devDependency: without it this suite is skipped
 * with a message saying how to install it.
 */
import { expect } from 'chai';
import { startAgent, eventually, type AgentProcess } from '../lib/agent-process.js';

/** The parts of the consul client this test uses (its own typings are not required to compile). */
interface ConsulClient {
  agent: {
    service: { register(o: Record<string, unknown>): Promise<unknown>; deregister(id: string): Promise<unknown> };
    check: { pass(id: string | { id: string; note?: string }): Promise<unknown> };
  };
  health: { service(o: Record<string, unknown>): Promise<Array<{ Service: { ID: string }; Checks: Array<{ Status: string }> }>> };
  catalog: { service: { nodes(name: string): Promise<Array<{ ServiceID: string }>> } };
  watch(o: { method: unknown; options: Record<string, unknown>; backoffFactor?: number }): {
    on(ev: 'change', fn: (data: unknown, res: { headers: Record<string, string> }) => void): void;
    on(ev: 'error', fn: (err: Error) => void): void;
    end(): void;
  };
}
type ConsulCtor = new (opts: Record<string, unknown>) => ConsulClient;

const PACKAGE = 'consul';

describe('compat: the consul npm client', function () {
  this.timeout(20_000);
  let Consul: ConsulCtor;
  let agent: AgentProcess | undefined;
  let consul: ConsulClient;

  before(async function () {
    try {
      const mod = (await import(PACKAGE)) as { default?: unknown; Consul?: unknown };
      Consul = ((mod.default as { Consul?: unknown } | undefined)?.Consul ?? mod.Consul ?? mod.default ?? mod) as ConsulCtor;
    } catch {
      console.log('      skipped: the "consul" npm package is not installed (npm install --save-dev consul@2.0.1 to run this suite)');
      this.skip();
    }
    agent = await startAgent({ name: 'compat', args: ['-server', '-bootstrap'] });
    await eventually('the agent to lead', 10_000, async () => (await agent!.api<string>('/v1/status/leader')) !== '');
    consul = new Consul({ host: '127.0.0.1', port: String(agent.http) });
  });

  after(() => agent?.cleanup());

  const until = async (what: string, cond: () => Promise<boolean>): Promise<void> => {
    for (let i = 0; i < 100; i++) {
      if (await cond()) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`timed out waiting for ${what}`);
  };

  it('registers a service with a TTL check; health with passing sees it only once it passes', async () => {
    await consul.agent.service.register({ name: 'web', id: 'web-1', port: 8080, tags: ['v1'], check: { ttl: '30s' } });
    await until('web-1 in the catalog', async () => (await consul.catalog.service.nodes('web')).length === 1);
    expect((await consul.health.service({ service: 'web' })).map((e) => e.Service.ID)).to.deep.equal(['web-1']);
    expect(await consul.health.service({ service: 'web', passing: true })).to.deep.equal([]);
    await consul.agent.check.pass('service:web-1');
    await until('web-1 passing', async () => (await consul.health.service({ service: 'web', passing: true })).length === 1);
  });

  it('a blocking watch fires on a change to its service', async () => {
    const seen: number[] = [];
    const watch = consul.watch({ method: consul.health.service, options: { service: 'api', passing: true }, backoffFactor: 100 });
    const errors: Error[] = [];
    watch.on('error', (e) => errors.push(e));
    watch.on('change', (data) => seen.push((data as unknown[]).length));
    try {
      await until('the first answer', async () => seen.length >= 1);
      expect(seen).to.deep.equal([0]);
      await consul.agent.service.register({ name: 'api', id: 'api-1', port: 9000, check: { ttl: '30s', status: 'passing' } });
      await until('the watch to see api-1', async () => seen.includes(1));
      expect(errors).to.deep.equal([]);
    } finally {
      watch.end();
    }
  });
});
