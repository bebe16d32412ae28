import { expect } from 'chai';
import { StateStore } from '../../../catalog/state/store.js';
import type { WatchKey } from '../../../catalog/state/watch.js';
import { deregisterCmd, mustApply, nodeReq, registerCmd, serviceReq } from './helpers.js';

/** Two nodes: web on n1 and n2, api on n2 only, db on n3. */
function populated(): StateStore {
  const s = new StateStore();
  let i = 0;
  for (const [n, a] of [['n1', '203.0.113.1'], ['n2', '203.0.113.2'], ['n3', '203.0.113.3']] as const) mustApply(s, ++i, registerCmd(nodeReq(n, a)));
  mustApply(s, ++i, registerCmd({ SkipNodeUpdate: true, ...serviceReq('n1', '203.0.113.1', 'web', 'web'), Check: { CheckID: 'web-c', ServiceID: 'web', Status: 'passing' } }));
  mustApply(s, ++i, registerCmd({ SkipNodeUpdate: true, ...serviceReq('n2', '203.0.113.2', 'web', 'web') }));
  mustApply(s, ++i, registerCmd({ SkipNodeUpdate: true, ...serviceReq('n2', '203.0.113.2', 'api', 'api'), Check: { CheckID: 'api-c', ServiceID: 'api', Status: 'passing' } }));
  mustApply(s, ++i, registerCmd({ SkipNodeUpdate: true, ...serviceReq('n3', '203.0.113.3', 'db', 'db') }));
  return s;
}

const KEYS: Record<string, WatchKey[]> = {
  nodes: [{ table: 'nodes' }],
  services: [{ table: 'services' }],
  checks: [{ table: 'checks' }],
  'service:web': [{ table: 'service', name: 'web' }],
  'service:api': [{ table: 'service', name: 'api' }],
  'service:db': [{ table: 'service', name: 'db' }],
  'service:new': [{ table: 'service', name: 'new' }],
  'node:n1': [{ table: 'node', name: 'n1' }],
  'node:n2': [{ table: 'node', name: 'n2' }],
  'node:n3': [{ table: 'node', name: 'n3' }],
};

/** Registers one watch per KEYS entry, runs `change` at index 100, returns the names that fired. */
function fired(change: (s: StateStore) => void): string[] {
  const s = populated();
  const hit: string[] = [];
  for (const [name, keys] of Object.entries(KEYS)) s.watch(keys, () => hit.push(name));
  change(s);
  return hit.sort();
}

describe('catalog/state watches', () => {
  const cases: Array<[string, (s: StateStore) => void, string[]]> = [
    ['a service check status change on n1/web', (s) => mustApply(s, 100, registerCmd({ Node: 'n1', SkipNodeUpdate: true, Check: { CheckID: 'web-c', ServiceID: 'web', Status: 'critical' } })),
      ['checks', 'node:n1', 'service:web']],
    ['a node-level check change on n2 (wakes web and api, which run on n2)', (s) => mustApply(s, 100, registerCmd({ Node: 'n2', SkipNodeUpdate: true, Check: { CheckID: 'serfHealth', Status: 'critical' } })),
      ['checks', 'node:n2', 'service:api', 'service:web']],
    ['a new api instance on n3', (s) => mustApply(s, 100, registerCmd({ SkipNodeUpdate: true, ...serviceReq('n3', '203.0.113.3', 'api', 'api') })),
      ['node:n3', 'service:api', 'services']],
    ['a new service name', (s) => mustApply(s, 100, registerCmd({ SkipNodeUpdate: true, ...serviceReq('n3', '203.0.113.3', 'new', 'NEW') })),
      ['node:n3', 'service:new', 'services']],
    ['a node address change on n3', (s) => mustApply(s, 100, registerCmd(nodeReq('n3', '203.0.113.199'))),
      ['node:n3', 'nodes', 'service:db']],
    ['deregistering web on n1 (with its check)', (s) => mustApply(s, 100, deregisterCmd({ Node: 'n1', ServiceID: 'web' })),
      ['checks', 'node:n1', 'service:web', 'services']],
    ['deregistering node n2', (s) => mustApply(s, 100, deregisterCmd({ Node: 'n2' })),
      ['checks', 'node:n2', 'nodes', 'service:api', 'service:web', 'services']],
    ['renaming the service behind ID api on n2 to db', (s) => mustApply(s, 100, registerCmd({ SkipNodeUpdate: true, ...serviceReq('n2', '203.0.113.2', 'api', 'db') })),
      ['checks', 'node:n2', 'service:api', 'service:db', 'services']],
    ['an identical re-registration', (s) => mustApply(s, 100, registerCmd({ SkipNodeUpdate: true, ...serviceReq('n2', '203.0.113.2', 'web', 'web') })),
      []],
    ['a failed registration', (s) => expect(s.apply(100, registerCmd({ Node: 'n1', Address: '203.0.113.1', Service: { Service: 'web', ID: 'web' }, Check: { CheckID: 'x', ServiceID: 'ghost' } })).ok).to.equal(false),
      []],
    ['a deregistration of an unknown service', (s) => mustApply(s, 100, deregisterCmd({ Node: 'n1', ServiceID: 'ghost' })),
      []],
  ];
  for (const [what, change, expected] of cases) {
    it(`${what} wakes exactly ${expected.length === 0 ? 'nothing' : expected.join(', ')}`, () => {
      expect(fired(change)).to.deep.equal(expected);
    });
  }

  it('a change to service A never wakes 1000 watchers of service B', () => {
    const s = populated();
    let woken = 0;
    for (let i = 0; i < 1000; i++) s.watch([{ table: 'service', name: 'db' }], () => woken++);
    for (let i = 0; i < 50; i++) {
      mustApply(s, 100 + i, registerCmd({ Node: 'n1', SkipNodeUpdate: true, Check: { CheckID: 'web-c', ServiceID: 'web', Status: i % 2 ? 'passing' : 'critical' } }));
    }
    expect(woken).to.equal(0);
    expect(s.watchCount).to.equal(1000);
    mustApply(s, 200, registerCmd({ SkipNodeUpdate: true, ...serviceReq('n3', '203.0.113.3', 'db', 'db', { Port: 1 }) }));
    expect(woken).to.equal(1000);
    expect(s.watchCount).to.equal(0);
  });

  it('fires once, after the change is readable, and then is gone', () => {
    const s = populated();
    const seen: number[] = [];
    s.watch([{ table: 'service', name: 'web' }, { table: 'node', name: 'n1' }], () => seen.push(s.checkServiceNodes('web').index));
    mustApply(s, 100, registerCmd({ Node: 'n1', SkipNodeUpdate: true, Check: { CheckID: 'web-c', ServiceID: 'web', Status: 'critical' } }));
    mustApply(s, 101, registerCmd({ Node: 'n1', SkipNodeUpdate: true, Check: { CheckID: 'web-c', ServiceID: 'web', Status: 'passing' } }));
    expect(seen).to.deep.equal([100]);
  });

  it('can be cancelled, idempotently', () => {
    const s = populated();
    let n = 0;
    const cancel = s.watch([{ table: 'nodes' }], () => n++);
    expect(s.watchCount).to.equal(1);
    cancel();
    cancel();
    expect(s.watchCount).to.equal(0);
    mustApply(s, 100, registerCmd(nodeReq('n9', '203.0.113.9')));
    expect(n).to.equal(0);
  });

  it('watch keys of a read cover what it read (blocking-query loop)', () => {
    const s = populated();
    const read = s.checkServiceNodes('WEB');
    let woke = false;
    s.watch(read.watch, () => { woke = true; });
    mustApply(s, 100, registerCmd({ Node: 'n2', SkipNodeUpdate: true, Check: { CheckID: 'serfHealth', Status: 'critical' } }));
    expect(woke).to.equal(true);
    expect(s.checkServiceNodes('web').index).to.be.greaterThan(read.index);
  });

  it('a watcher that throws does not stop the others; the error surfaces after all ran', () => {
    const s = populated();
    let ran = 0;
    s.watch([{ table: 'nodes' }], () => { throw new Error('boom'); });
    s.watch([{ table: 'nodes' }], () => ran++);
    expect(() => s.apply(100, registerCmd(nodeReq('n9', '203.0.113.9')))).to.throw(/boom/);
    expect(ran).to.equal(1);
    expect(s.nodes().value.map((n) => n.Node)).to.include('n9');
  });
});
