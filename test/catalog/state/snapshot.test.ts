import { expect } from 'chai';
import { Packr } from 'msgpackr';
import { SnapshotError } from '../../../catalog/state/errors.js';
import { StateStore } from '../../../catalog/state/store.js';
import { applyEncoded, randomCommands } from './helpers.js';

function run(seed: number, count: number): StateStore {
  const s = new StateStore();
  randomCommands(seed, count).forEach((c, i) => applyEncoded(s, i + 1, c));
  return s;
}

/** Everything a reader can see, for comparing two stores. */
function observe(s: StateStore): unknown {
  const names = ['web', 'api', 'db', 'ghost'];
  const nodes = ['n1', 'n2', 'n3', 'n4'];
  return {
    nodes: s.nodes(), services: s.services(), any: s.checksInState('any'), lastIndex: s.lastIndex,
    tables: ['nodes', 'services', 'checks'].map((t) => s.tableIndexOf(t as 'nodes')),
    perService: names.map((n) => [s.serviceNodes(n), s.checkServiceNodes(n), s.serviceChecks(n)]),
    perNode: nodes.map((n) => [s.node(n), s.nodeChecks(n)]),
  };
}

describe('catalog/state snapshot', () => {
  for (const seed of [1, 2, 3]) {
    it(`round-trips the whole state, indexes included (seed ${seed})`, () => {
      const a = run(seed, 300);
      const bytes = a.snapshot();
      const b = new StateStore();
      b.restore(bytes);
      expect(observe(b), `seed ${seed}`).to.deep.equal(observe(a));
      expect(Buffer.from(b.snapshot()).equals(Buffer.from(bytes)), `seed ${seed}`).to.equal(true);
      // The restored store keeps applying like the original.
      const more = randomCommands(seed + 1000, 50);
      more.forEach((c, i) => {
        const ra = applyEncoded(a, a.lastIndex + 1 + i, c);
        const rb = applyEncoded(b, b.lastIndex + 1 + i, c);
        expect(rb, `seed ${seed} command ${i}`).to.deep.equal(ra);
      });
      expect(Buffer.from(b.snapshot()).equals(Buffer.from(a.snapshot())), `seed ${seed}`).to.equal(true);
    });
  }

  it('is deterministic: the same command sequence gives byte-identical snapshots', () => {
    for (const seed of [7, 8]) {
      const x = run(seed, 400).snapshot();
      const y = run(seed, 400).snapshot();
      expect(Buffer.from(x).equals(Buffer.from(y)), `seed ${seed}`).to.equal(true);
    }
    expect(Buffer.from(run(7, 400).snapshot()).equals(Buffer.from(run(8, 400).snapshot()))).to.equal(false);
  });

  it('the random sequence exercises successes and failures (seed 1)', () => {
    const s = new StateStore();
    const results = randomCommands(1, 300).map((c, i) => applyEncoded(s, i + 1, c));
    expect(results.filter((r) => r.ok).length, 'seed 1').to.be.greaterThan(100);
    expect(results.filter((r) => !r.ok).length, 'seed 1').to.be.greaterThan(5);
    expect(s.nodes().value.length, 'seed 1').to.be.greaterThan(0);
  });

  it('restore replaces everything and wakes every watcher', () => {
    const s = run(4, 100);
    let woke = 0;
    s.watch([{ table: 'service', name: 'nothing-here' }], () => woke++);
    s.watch([{ table: 'nodes' }], () => woke++);
    s.restore(new StateStore().snapshot());
    expect(woke).to.equal(2);
    expect(s.nodes().value).to.deep.equal([]);
    expect(s.lastIndex).to.equal(0);
    expect(s.watchCount).to.equal(0);
  });

  const packr = new Packr({ useRecords: false });
  const good = (): Record<string, unknown> => packr.unpack(run(5, 50).snapshot()) as Record<string, unknown>;
  const bad: Array<[string, () => Uint8Array, RegExp]> = [
    ['garbage bytes', () => new Uint8Array([0x92, 0x01]), /not msgpack/],
    ['another msgpack document', () => packr.pack({ hello: 1 }), /not a catalog snapshot/],
    ['a future version', () => packr.pack({ ...good(), Version: 99 }), /unsupported version 99/],
    ['a row of the wrong shape', () => packr.pack({ ...good(), Nodes: [{ Node: 1 }] }), /Nodes\[0\]\.ID: expected a string/],
    ['a truncated snapshot', () => run(5, 50).snapshot().subarray(0, 40), /not msgpack/],
    ['a service on a missing node', () => packr.pack({ ...good(), Nodes: [] }), /on missing node/],
  ];
  for (const [what, bytes, msg] of bad) {
    it(`refuses ${what} with a SnapshotError and keeps the state`, () => {
      const s = run(6, 100);
      const before = s.snapshot();
      expect(() => s.restore(bytes())).to.throw(SnapshotError, msg);
      expect(Buffer.from(s.snapshot()).equals(Buffer.from(before))).to.equal(true);
    });
  }
});
