/**
 * Compatibility: the `consul` npm client (silas/node-consul, tested with 2.0.1) drives Herald
 * unchanged against a real agent process — agent service registration with a TTL check, health with `passing`, a
 * blocking watch, and the KV store with sessions, locks and transactions. The package is an optional devDependency: without it this suite is skipped
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
  kv: {
    get(o: string | Record<string, unknown>): Promise<KvPair | KvPair[] | undefined>;
    keys(o: string | Record<string, unknown>): Promise<string[]>;
    set(o: Record<string, unknown>): Promise<boolean>;
    del(o: string | Record<string, unknown>): Promise<boolean>;
  };
  session: {
    create(o: Record<string, unknown>): Promise<{ ID: string }>;
    info(id: string): Promise<{ ID: string; Name: string; TTL: string; Behavior: string; LockDelay: number } | undefined>;
    renew(id: string): Promise<Array<{ ID: string }>>;
    list(): Promise<Array<{ ID: string }>>;
    destroy(id: string): Promise<boolean>;
  };
  transaction: { create(ops: unknown[]): Promise<{ Results: Array<{ KV: KvPair }> | null; Errors: Array<{ OpIndex: number; What: string }> | null }> };
  watch(o: { method: unknown; options: Record<string, unknown>; backoffFactor?: number }): {
    on(ev: 'change', fn: (data: unknown, res: { headers: Record<string, string> }) => void): void;
    on(ev: 'error', fn: (err: Error) => void): void;
    end(): void;
  };
}
type ConsulCtor = new (opts: Record<string, unknown>) => ConsulClient;
interface KvPair {
  Key: string;
  Value: string | null;
  Flags: number;
  LockIndex: number;
  Session?: string;
  CreateIndex: number;
  ModifyIndex: number;
}

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

  // A refused write answers the JSON body `false`; this client turns a falsy body into
  // `undefined` (papi's pipeline), against Consul too, so refusals are checked as "not true"
  // plus the state they left.
  it('KV: set with flags and cas, get (one, recurse, raw), keys with a separator, delete with cas and recurse', async () => {
    expect(await consul.kv.set({ key: 'app/config/a', value: 'one', flags: 42 })).to.equal(true);
    await consul.kv.set({ key: 'app/config/b', value: 'two' });
    await consul.kv.set({ key: 'app/other', value: 'three' });
    const a = (await consul.kv.get('app/config/a')) as KvPair;
    expect(a).to.include({ Key: 'app/config/a', Value: 'one', Flags: 42, LockIndex: 0 });
    expect(a.CreateIndex).to.equal(a.ModifyIndex);
    expect(await consul.kv.set({ key: 'app/config/a', value: 'new', cas: 0 }), 'cas 0 on an existing key').to.not.equal(true);
    expect(await consul.kv.set({ key: 'app/config/a', value: 'stale', cas: a.ModifyIndex - 1 })).to.not.equal(true);
    expect(((await consul.kv.get('app/config/a')) as KvPair).Value, 'refused writes changed nothing').to.equal('one');
    expect(await consul.kv.set({ key: 'app/config/a', value: 'new', cas: a.ModifyIndex })).to.equal(true);
    const all = (await consul.kv.get({ key: 'app/', recurse: true })) as KvPair[];
    expect(all.map((p) => [p.Key, p.Value])).to.deep.equal([['app/config/a', 'new'], ['app/config/b', 'two'], ['app/other', 'three']]);
    expect(String(await consul.kv.get({ key: 'app/other', raw: true }))).to.equal('three');
    expect(await consul.kv.keys({ key: 'app/', separator: '/' })).to.deep.equal(['app/config/', 'app/other']);
    expect(await consul.kv.get('app/missing'), 'a missing key').to.equal(undefined);
    const b = (await consul.kv.get('app/config/b')) as KvPair;
    expect(await consul.kv.del({ key: 'app/config/b', cas: b.ModifyIndex - 1 })).to.not.equal(true);
    expect(await consul.kv.get('app/config/b'), 'a refused delete keeps the key').to.not.equal(undefined);
    expect(await consul.kv.del({ key: 'app/config/b', cas: b.ModifyIndex })).to.equal(true);
    expect(await consul.kv.del({ key: 'app/', recurse: true })).to.equal(true);
    expect(await consul.kv.keys('app/').catch(() => [])).to.deep.equal([]);
  });

  it('sessions and locks: acquire, a second session refused, release, destroy releases', async () => {
    const s1 = (await consul.session.create({ name: 'leader-election', ttl: '15s', behavior: 'release', lockdelay: '1ms' })).ID;
    const s2 = (await consul.session.create({ name: 'contender', lockdelay: '1ms' })).ID;
    expect(await consul.session.info(s1)).to.include({ ID: s1, Name: 'leader-election', TTL: '15s', Behavior: 'release' });
    expect((await consul.session.renew(s1)).map((x) => x.ID)).to.deep.equal([s1]);
    expect((await consul.session.list()).map((x) => x.ID)).to.include.members([s1, s2]);
    expect(await consul.kv.set({ key: 'service/leader', value: 'node-a', acquire: s1 })).to.equal(true);
    expect(await consul.kv.set({ key: 'service/leader', value: 'node-b', acquire: s2 }), 'held by s1').to.not.equal(true);
    const held = (await consul.kv.get('service/leader')) as KvPair;
    expect(held).to.include({ Value: 'node-a', Session: s1, LockIndex: 1 });
    expect(await consul.kv.set({ key: 'service/leader', value: 'node-a', release: s2 }), 'not the holder').to.not.equal(true);
    expect(await consul.kv.set({ key: 'service/leader', value: 'node-a', release: s1 })).to.equal(true);
    await new Promise((r) => setTimeout(r, 5)); // past the 1 ms lock-delay
    expect(await consul.kv.set({ key: 'service/leader', value: 'node-b', acquire: s2 })).to.equal(true);
    await consul.session.destroy(s2); // this client discards the answer (`true`)
    expect(await consul.session.info(s2), 'destroyed').to.equal(undefined);
    const after = (await consul.kv.get('service/leader')) as KvPair;
    expect(after.Session, 'destroying the holder releases the lock').to.equal(undefined);
    expect(after).to.include({ Value: 'node-b', LockIndex: 2 });
    await consul.session.destroy(s1);
  });

  it('transactions: all or nothing, with per-operation errors', async () => {
    const ok = await consul.transaction.create([
      { KV: { Verb: 'set', Key: 'txn/a', Value: Buffer.from('1').toString('base64') } },
      { KV: { Verb: 'set', Key: 'txn/b', Value: Buffer.from('2').toString('base64') } },
      { KV: { Verb: 'get', Key: 'txn/a' } },
    ]);
    expect(ok.Errors).to.equal(null);
    expect(ok.Results!.map((r) => r.KV.Key)).to.deep.equal(['txn/a', 'txn/b', 'txn/a']);
    const a = (await consul.kv.get('txn/a')) as KvPair;
    const failed = await consul.transaction.create([
      { KV: { Verb: 'set', Key: 'txn/c', Value: Buffer.from('3').toString('base64') } },
      { KV: { Verb: 'cas', Key: 'txn/a', Value: Buffer.from('x').toString('base64'), Index: a.ModifyIndex + 100 } },
    ]).catch((e: { response?: { body?: unknown } }) => e.response?.body as { Results: null; Errors: Array<{ OpIndex: number; What: string }> });
    expect(failed.Results).to.equal(null);
    expect(failed.Errors!.map((e) => e.OpIndex)).to.deep.equal([1]);
    expect(failed.Errors![0]!.What).to.match(/index is stale/);
    expect(await consul.kv.get('txn/c'), 'rolled back').to.equal(undefined);
    expect(((await consul.kv.get('txn/a')) as KvPair).Value).to.equal('1');
  });
});
