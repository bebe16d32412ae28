import { expect } from 'chai';
import { AntiEntropy, scaleFactor, type NodeIdentity } from '../../../agent/local/anti-entropy.js';
import { LocalState } from '../../../agent/local/state.js';
import { TtlChecks } from '../../../agent/checks/ttl.js';
import { ManualClock } from '../../../agent/runtime/clock.js';
import { SeededRng } from '../../../agent/runtime/rng.js';
import { silentLogger } from '../../../agent/runtime/logger.js';
import { CatalogEndpoint } from '../../../catalog/endpoint.js';
import { LocalApplier } from '../../../catalog/local-applier.js';
import { realTimers } from '../../../catalog/timers.js';
import { CommandType, StateStore, type Command } from '../../../catalog/state/index.js';
import { svc, ttlCheck } from '../../lib/local.js';

const NODE: NodeIdentity = {
  name: 'agent-1',
  id: '11111111-2222-3333-4444-555555555555',
  address: '203.0.113.7',
  datacenter: 'dc1',
  taggedAddresses: { lan: '203.0.113.7' },
  meta: { rack: 'r1' },
};

function setup(opts: { failWrites?: number } = {}) {
  const seed = 7;
  const clock = new ManualClock();
  const store = new StateStore();
  const endpoint = new CatalogEndpoint({ store, propose: new LocalApplier(store).propose, timers: realTimers, rng: () => 0 });
  let failures = opts.failWrites ?? 0;
  const writes: Command[] = [];
  // The real endpoint, with the first `failWrites` writes failing as an unreachable server would.
  const catalog = {
    read: endpoint.read.bind(endpoint),
    write: async (cmd: Command) => {
      if (failures > 0) {
        failures--;
        throw new Error('rpc: no servers reachable');
      }
      writes.push(cmd);
      return endpoint.write(cmd);
    },
  };
  const local = LocalState.open({ logger: silentLogger() });
  const ae = new AntiEntropy({ local, catalog, node: NODE, clock, rng: new SeededRng(seed), logger: silentLogger() });
  const services = () => store.nodeServices(NODE.name).value?.Services.map((s) => s.ID) ?? null;
  const checks = () => store.nodeChecks(NODE.name).value.map((c) => `${c.CheckID}:${c.Status}`);
  return { clock, store, endpoint, local, ae, services, checks, writes, seed };
}

describe('agent/local: anti-entropy', () => {
  it('scaleFactor follows Consul: 1 up to 128 nodes, then ceil(log2(n/128)) + 1', () => {
    const table: Array<[number, number]> = [[1, 1], [128, 1], [129, 2], [256, 2], [257, 3], [1024, 4], [16384, 8]];
    for (const [n, f] of table) expect(scaleFactor(n), `n=${n}`).to.equal(f);
  });

  it('the first full sync registers the node, local services and checks', async () => {
    const t = setup();
    t.local.addService(svc('web-1'), [ttlCheck('service:web-1', 'web-1')]);
    t.local.addCheck({ ...ttlCheck('mem', ''), Status: 'passing' });
    t.ae.start();
    await t.ae.idle();
    expect(t.services(), `seed ${t.seed}`).to.deep.equal(['web-1']);
    expect(t.checks()).to.deep.equal(['mem:passing', 'service:web-1:critical']);
    const node = t.store.nodeServices(NODE.name).value!.Node;
    expect(node).to.deep.include({ ID: NODE.id, Address: '203.0.113.7', Meta: { rack: 'r1' }, TaggedAddresses: { lan: '203.0.113.7' } });
    t.ae.stop();
  });

  it('pushes each local change at once: add, check status, remove', async () => {
    const t = setup();
    t.ae.start();
    await t.ae.idle();
    t.local.addService(svc('web-1'), [ttlCheck('t1', 'web-1')]);
    await t.ae.idle();
    expect(t.services()).to.deep.equal(['web-1']);
    t.local.updateCheck('t1', 'passing', 'ok');
    await t.ae.idle();
    expect(t.checks()).to.deep.equal(['t1:passing']);
    t.local.removeCheck('t1');
    await t.ae.idle();
    expect(t.checks()).to.deep.equal([]);
    t.local.removeService('web-1');
    await t.ae.idle();
    expect(t.services()).to.deep.equal([]);
    t.ae.stop();
  });

  it('a TTL expiry reaches the catalog', async () => {
    const t = setup();
    const ttl = new TtlChecks(t.local, t.clock, silentLogger());
    ttl.start();
    t.ae.start();
    t.local.addService(svc('web-1'), [ttlCheck('t1', 'web-1', '10s')]);
    ttl.update('t1', 'passing', '');
    await t.ae.idle();
    expect(t.checks()).to.deep.equal(['t1:passing']);
    t.clock.advance(10_000);
    await t.ae.idle();
    expect(t.checks()).to.deep.equal(['t1:critical']);
    expect(t.store.nodeChecks(NODE.name).value[0]!.Output).to.equal('TTL expired');
    ttl.stop();
    t.ae.stop();
  });

  it('a full sync restores a service deleted behind the agent and removes one the agent does not have, sparing serfHealth', async () => {
    const t = setup();
    t.local.addService(svc('web-1'), [ttlCheck('t1', 'web-1')]);
    t.ae.start();
    await t.ae.idle();
    // Behind the agent's back: web-1 is deregistered, a stray service and check appear on this node, the servers add serfHealth.
    await t.endpoint.write({ type: CommandType.Deregister, req: { Node: NODE.name, ServiceID: 'web-1' } });
    await t.endpoint.write({ type: CommandType.Register, req: { Node: NODE.name, Address: NODE.address, Service: { ID: 'stray', Service: 'stray', Port: 1 } } });
    await t.endpoint.write({ type: CommandType.Register, req: { Node: NODE.name, Address: NODE.address, Check: { CheckID: 'stray-check', Name: 'x', Status: 'passing' } } });
    await t.endpoint.write({ type: CommandType.Register, req: { Node: NODE.name, Address: NODE.address, Check: { CheckID: 'serfHealth', Name: 'Serf Health Status', Status: 'passing' } } });
    expect(t.services()).to.deep.equal(['stray']);
    const before = t.ae.fullSyncs;
    // The next full sync falls due within interval + interval × scale (60 s + up to 60 s).
    t.clock.advance(120_000);
    await t.ae.idle();
    expect(t.ae.fullSyncs, `seed ${t.seed}`).to.equal(before + 1);
    expect(t.services(), `seed ${t.seed}`).to.deep.equal(['web-1']);
    expect(t.checks()).to.deep.equal(['serfHealth:passing', 't1:critical']);
    t.ae.stop();
  });

  it('a full sync fixes a changed service and does not write when nothing differs', async () => {
    const t = setup();
    t.local.addService(svc('web-1'));
    t.ae.start();
    await t.ae.idle();
    await t.endpoint.write({ type: CommandType.Register, req: { Node: NODE.name, Address: NODE.address, Service: { ID: 'web-1', Service: 'web', Port: 9999 } } });
    t.clock.advance(120_000);
    await t.ae.idle();
    expect(t.store.nodeServices(NODE.name).value!.Services[0]!.Port).to.equal(8080);
    const n = t.writes.length;
    t.clock.advance(120_000);
    await t.ae.idle();
    expect(t.writes.length, 'an in-sync full sync writes nothing').to.equal(n);
    t.ae.stop();
  });

  it('output-only check updates wait for the check update interval; status changes go at once', async () => {
    const t = setup();
    t.local.addService(svc('web-1'), [ttlCheck('t1', 'web-1')]);
    t.ae.start();
    await t.ae.idle();
    const output = () => t.store.nodeChecks(NODE.name).value[0]!;
    t.local.updateCheck('t1', 'passing', 'note a');
    await t.ae.idle();
    expect(output()).to.include({ Status: 'passing', Output: 'note a' });
    t.local.updateCheck('t1', 'passing', 'note b');
    await t.ae.idle();
    expect(output().Output, 'deferred').to.equal('note a');
    t.clock.advance(5 * 60_000);
    await t.ae.idle();
    expect(output().Output).to.equal('note b');
    t.local.updateCheck('t1', 'passing', 'note c');
    t.local.updateCheck('t1', 'warning', 'note d');
    await t.ae.idle();
    expect(output()).to.include({ Status: 'warning', Output: 'note d' });
    t.ae.stop();
    expect(t.clock.pending(), 'no deferred push left behind').to.equal(0);
  });

  it("EnableTagOverride: the catalog's tags win, the other fields stay the agent's", async () => {
    const t = setup();
    t.local.addService(svc('web-1', { EnableTagOverride: true, Tags: ['a'] }));
    t.ae.start();
    await t.ae.idle();
    await t.endpoint.write({
      type: CommandType.Register,
      req: { Node: NODE.name, Address: NODE.address, Service: { ID: 'web-1', Service: 'web', Port: 1, Tags: ['from-catalog'], EnableTagOverride: true, Meta: { env: 'test' } } },
    });
    t.clock.advance(120_000);
    await t.ae.idle();
    expect(t.local.service('web-1')!.Tags).to.deep.equal(['from-catalog']);
    expect(t.store.nodeServices(NODE.name).value!.Services[0]).to.include({ Port: 8080 });
    expect(t.store.nodeServices(NODE.name).value!.Services[0]!.Tags).to.deep.equal(['from-catalog']);
    t.ae.stop();
  });

  it('retries after a failed write (15 s + stagger) and then converges', async () => {
    const t = setup({ failWrites: 2 });
    t.local.addService(svc('web-1'));
    t.ae.start();
    await t.ae.idle();
    expect(t.services()).to.equal(null);
    t.clock.advance(30_000);
    await t.ae.idle();
    if (t.services() === null) {
      t.clock.advance(30_000);
      await t.ae.idle();
    }
    expect(t.services(), `seed ${t.seed}`).to.deep.equal(['web-1']);
    t.ae.stop();
    expect(t.clock.pending()).to.equal(0);
  });
});
