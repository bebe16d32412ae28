import { expect } from 'chai';
import { CatalogEndpoint } from '../../catalog/endpoint.js';
import { CatalogError } from '../../catalog/errors.js';
import { LocalApplier } from '../../catalog/local-applier.js';
import { realTimers } from '../../catalog/timers.js';
import { CommandType, StateStore, type RegisterRequest } from '../../catalog/state/index.js';

function setup(status?: () => { knownLeader: boolean; lastContactMs: number }) {
  const store = new StateStore();
  const applier = new LocalApplier(store);
  const ep = new CatalogEndpoint({ store, propose: applier.propose, timers: realTimers, rng: () => 0, status });
  const register = (req: RegisterRequest) => ep.write({ type: CommandType.Register, req });
  return { store, ep, register };
}

const web = (node: string, id: string, tags: string[] = []): RegisterRequest => ({
  Node: node,
  Address: '203.0.113.1',
  Service: { ID: id, Service: 'web', Port: 80, Tags: tags },
});

describe('catalog/endpoint: CatalogEndpoint', () => {
  it('LocalApplier applies at increasing indexes and returns the state machine result', async () => {
    const { ep, register } = setup();
    expect(await register(web('n1', 'web1'))).to.deep.equal({ ok: true, index: 1 });
    expect(await register(web('n1', 'web2'))).to.deep.equal({ ok: true, index: 2 });
    const bad = await ep.write({ type: CommandType.Register, req: { Node: '', Address: 'x' } });
    expect(bad.ok).to.equal(false);
    expect(bad.index).to.equal(3);
  });

  it('answers at once without minIndex, with index >= 1 and leader status', async () => {
    const { ep } = setup(() => ({ knownLeader: false, lastContactMs: 42 }));
    const r = await ep.read({ query: { op: 'nodes' }, minIndex: 0, waitMs: 1000 });
    expect(r).to.deep.equal({ value: [], index: 1, knownLeader: false, lastContactMs: 42 });
  });

  it('serves every read op in Consul shapes', async () => {
    const { ep, register } = setup();
    await register({ ...web('n1', 'web1', ['a']), Check: { Name: 'c1', Status: 'passing', ServiceID: 'web1' } });
    await register({ ...web('n2', 'web2', ['b']), Check: { Name: 'c2', Status: 'critical', ServiceID: 'web2' } });
    const rd = <Q extends Parameters<typeof ep.read>[0]['query']>(query: Q) => ep.read({ query, minIndex: 0, waitMs: 0 });
    expect((await rd({ op: 'nodes' })).value.map((n) => n.Node)).to.deep.equal(['n1', 'n2']);
    expect((await rd({ op: 'node', node: 'n1' })).value?.Services['web1']?.Port).to.equal(80);
    expect((await rd({ op: 'node', node: 'nope' })).value).to.equal(null);
    expect((await rd({ op: 'nodeServices', node: 'n2' })).value?.Services.map((s) => s.ID)).to.deep.equal(['web2']);
    expect((await rd({ op: 'services' })).value).to.deep.equal({ web: ['a', 'b'] });
    expect((await rd({ op: 'serviceNodes', service: 'web', tags: ['b'] })).value.map((s) => s.ServiceID)).to.deep.equal(['web2']);
    expect((await rd({ op: 'checkServiceNodes', service: 'web', passingOnly: true })).value.map((s) => s.Service.ID)).to.deep.equal(['web1']);
    expect((await rd({ op: 'nodeChecks', node: 'n2' })).value.map((c) => c.CheckID)).to.deep.equal(['c2']);
    expect((await rd({ op: 'serviceChecks', service: 'web' })).value.map((c) => c.CheckID)).to.deep.equal(['c1', 'c2']);
    expect((await rd({ op: 'checksInState', state: 'critical' })).value.map((c) => c.CheckID)).to.deep.equal(['c2']);
  });

  it('applies ?filter to list elements, node services and the services map', async () => {
    const { ep, register } = setup();
    await register(web('n1', 'web1', ['a']));
    await register(web('n2', 'web2', ['b']));
    await register({ Node: 'n2', Address: '203.0.113.2', Service: { Service: 'db', Port: 5432, Tags: ['primary'] } });
    const nodes = await ep.read({ query: { op: 'nodes' }, minIndex: 0, waitMs: 0, filter: 'Node == n2' });
    expect(nodes.value.map((n) => n.Node)).to.deep.equal(['n2']);
    const svcs = await ep.read({ query: { op: 'services' }, minIndex: 0, waitMs: 0, filter: 'ServiceTags contains b or ServiceName == db' });
    expect(svcs.value).to.deep.equal({ db: ['primary'], web: ['b'] });
    const node = await ep.read({ query: { op: 'node', node: 'n2' }, minIndex: 0, waitMs: 0, filter: 'Service == db' });
    expect(Object.keys(node.value!.Services)).to.deep.equal(['db']);
  });

  it('a bad filter or check state is a bad-request CatalogError naming the problem', async () => {
    const { ep } = setup();
    const err = await ep.read({ query: { op: 'nodes' }, minIndex: 0, waitMs: 0, filter: 'Node ==' }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(CatalogError);
    expect((err as CatalogError).code).to.equal('bad-request');
    expect((err as CatalogError).message).to.match(/position/);
    const err2 = await ep.read({ query: { op: 'checksInState', state: 'sad' }, minIndex: 0, waitMs: 0 }).catch((e: unknown) => e);
    expect((err2 as CatalogError).code).to.equal('bad-request');
    expect((err2 as Error).message).to.equal('Invalid check state "sad"');
  });

  it('a blocked read wakes when its service changes and returns the new index', async () => {
    const { ep, register, store } = setup();
    await register(web('n1', 'web1'));
    const first = await ep.read({ query: { op: 'checkServiceNodes', service: 'web' }, minIndex: 0, waitMs: 0 });
    const t0 = Date.now();
    const pending = ep.read({ query: { op: 'checkServiceNodes', service: 'web' }, minIndex: first.index, waitMs: 5000 });
    await new Promise((r) => setTimeout(r, 20));
    expect(store.watchCount).to.equal(1);
    await register(web('n2', 'web2'));
    const r = await pending;
    expect(r.index).to.be.greaterThan(first.index);
    expect(r.value.map((x) => x.Service.ID)).to.deep.equal(['web1', 'web2']);
    expect(Date.now() - t0).to.be.lessThan(4000);
    expect(store.watchCount).to.equal(0);
  });

  it('watchers of one query woken by one write share a single re-read', async () => {
    const { ep, register, store } = setup();
    await register(web('n1', 'web1'));
    const q = { query: { op: 'checkServiceNodes' as const, service: 'web' }, minIndex: 1, waitMs: 5000 };
    const pending = Array.from({ length: 50 }, () => ep.read(q));
    const other = ep.read({ ...q, filter: 'Service.ID == web2' });
    await new Promise((r) => setTimeout(r, 10));
    expect(store.watchCount).to.equal(51);
    await register(web('n2', 'web2'));
    const answers = await Promise.all(pending);
    expect(answers.every((a) => a.value === answers[0]!.value && a.index === 2)).to.equal(true);
    const filtered = await other;
    expect(filtered.value).to.not.equal(answers[0]!.value);
    expect(filtered.value.map((x) => x.Service.ID)).to.deep.equal(['web2']);
    const later = await ep.read({ ...q, minIndex: 0 });
    expect(later.value, 'a later read is not served from the wake-up cache').to.not.equal(answers[0]!.value);
  });

  it('a change to service B does not wake watchers of service A; the wait times out with the same index', async () => {
    const { ep, register, store } = setup();
    await register(web('n1', 'web1'));
    const first = await ep.read({ query: { op: 'serviceNodes', service: 'web' }, minIndex: 0, waitMs: 0 });
    let woke = false;
    const pending = ep.read({ query: { op: 'serviceNodes', service: 'web' }, minIndex: first.index, waitMs: 150 }).then((r) => {
      woke = true;
      return r;
    });
    await register({ Node: 'n3', Address: '203.0.113.3', Service: { Service: 'db', Port: 1 } });
    await new Promise((r) => setTimeout(r, 30));
    expect(woke).to.equal(false);
    expect(store.watchCount).to.equal(1);
    const r = await pending;
    expect(r.index).to.equal(first.index);
    expect(store.watchCount).to.equal(0);
  });

  it('answers at once when the store index is below minIndex (state reset behind the caller)', async () => {
    const { ep, register } = setup();
    await register(web('n1', 'web1'));
    await register({ Node: 'n2', Address: '203.0.113.2', Service: { Service: 'db', Port: 1 } });
    const first = await ep.read({ query: { op: 'nodes' }, minIndex: 0, waitMs: 0 });
    const pending = ep.read({ query: { op: 'nodes' }, minIndex: first.index + 5, waitMs: 100 });
    // store index (2) is below minIndex (7): the state was reset behind the caller, answer at once.
    const r0 = await pending;
    expect(r0.index).to.equal(first.index);
  });

  it('blocks only while the store has reached minIndex; abort answers early', async () => {
    const { ep, register, store } = setup();
    await register(web('n1', 'web1'));
    const ctrl = new AbortController();
    const p = ep.read({ query: { op: 'nodes' }, minIndex: store.lastIndex, waitMs: 60_000 }, ctrl.signal);
    await new Promise((r) => setTimeout(r, 10));
    ctrl.abort();
    const r = await p;
    expect(r.index).to.equal(1);
    expect(store.watchCount).to.equal(0);
  });

  it('the wait gets a jitter of at most wait/16', async () => {
    const store = new StateStore();
    const fired: number[] = [];
    const timers = {
      setTimeout: (fn: () => void, ms: number) => {
        fired.push(ms);
        return setTimeout(fn, 1);
      },
      clearTimeout: (h: unknown) => clearTimeout(h as NodeJS.Timeout),
    };
    const ep = new CatalogEndpoint({ store, propose: new LocalApplier(store).propose, timers, rng: () => 0.999999 });
    await ep.write({ type: CommandType.Register, req: web('n1', 'w') });
    await ep.read({ query: { op: 'nodes' }, minIndex: 1, waitMs: 1600 });
    expect(fired).to.have.length(1);
    expect(fired[0]).to.be.within(1600, 1700);
  });

  it('answers woken reads in batches of wakeBatch, yielding through defer between batches, sharing one re-read', async () => {
    const store = new StateStore();
    const deferred: Array<() => void> = [];
    const ep = new CatalogEndpoint({ store, propose: new LocalApplier(store).propose, timers: realTimers, rng: () => 0, wakeBatch: 10, defer: (fn) => deferred.push(fn) });
    await ep.write({ type: CommandType.Register, req: web('n1', 'web1') });
    const q = { query: { op: 'checkServiceNodes' as const, service: 'web' }, minIndex: 1, waitMs: 60_000 };
    const answered: number[] = [];
    const pending = Array.from({ length: 25 }, (_, i) => ep.read(q).then((r) => (answered.push(i), r)));
    expect(store.watchCount).to.equal(25);
    await ep.write({ type: CommandType.Register, req: web('n2', 'web2') });
    await new Promise((r) => setImmediate(r));
    expect(answered, 'first batch, in wake order').to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(deferred).to.have.length(1);
    deferred.shift()!();
    await new Promise((r) => setImmediate(r));
    expect(answered).to.have.length(20);
    expect(deferred).to.have.length(1);
    deferred.shift()!();
    const answers = await Promise.all(pending);
    expect(answered).to.deep.equal(Array.from({ length: 25 }, (_, i) => i));
    expect(deferred, 'nothing more to drain').to.have.length(0);
    expect(answers.every((a) => a.value === answers[0]!.value && a.index === 2)).to.equal(true);
    expect(store.watchCount).to.equal(0);
  });

  it('a write between two wake batches is seen by the later batch (the re-read cache is per store index)', async () => {
    const store = new StateStore();
    const deferred: Array<() => void> = [];
    const ep = new CatalogEndpoint({ store, propose: new LocalApplier(store).propose, timers: realTimers, rng: () => 0, wakeBatch: 2, defer: (fn) => deferred.push(fn) });
    await ep.write({ type: CommandType.Register, req: web('n1', 'web1') });
    const q = { query: { op: 'checkServiceNodes' as const, service: 'web' }, minIndex: 1, waitMs: 60_000 };
    const pending = Array.from({ length: 4 }, () => ep.read(q));
    await ep.write({ type: CommandType.Register, req: web('n2', 'web2') });
    await new Promise((r) => setImmediate(r));
    await ep.write({ type: CommandType.Register, req: web('n3', 'web3') });
    deferred.shift()!();
    const answers = await Promise.all(pending);
    expect(answers.map((a) => a.index)).to.deep.equal([2, 2, 3, 3]);
    expect(answers[3]!.value.map((x) => x.Service.ID)).to.deep.equal(['web1', 'web2', 'web3']);
    expect(answers[2]!.value).to.equal(answers[3]!.value);
  });
});
