import { expect } from 'chai';
import { StateStore, type ReadResult } from '../../../catalog/state/store.js';
import { applyEncoded, randomCommands } from './helpers.js';

/**
 * The blocking-query contract, checked over seeded random command sequences: whenever an
 * apply changes what a read returns, (1) the read's index moves forward and (2) a watch on
 * the read's keys fires. Indexes never move backwards. (Spurious wake-ups are allowed.)
 */
describe('catalog/state blocking-query contract', () => {
  const reads: Record<string, (s: StateStore) => ReadResult<unknown>> = {};
  for (const n of ['n1', 'n2', 'n3', 'n4', 'nx']) {
    reads[`node ${n}`] = (s) => s.node(n);
    reads[`nodeServices ${n}`] = (s) => s.nodeServices(n);
    reads[`nodeChecks ${n}`] = (s) => s.nodeChecks(n);
  }
  for (const name of ['web', 'api', 'db', 'zz']) {
    reads[`serviceNodes ${name}`] = (s) => s.serviceNodes(name);
    reads[`serviceNodes ${name} v1`] = (s) => s.serviceNodes(name, { tags: ['v1'] });
    reads[`checkServiceNodes ${name}`] = (s) => s.checkServiceNodes(name);
    reads[`checkServiceNodes ${name} passing`] = (s) => s.checkServiceNodes(name, { passingOnly: true });
    reads[`serviceChecks ${name}`] = (s) => s.serviceChecks(name);
    reads[`serviceInstances ${name}`] = (s) => s.serviceInstances(name);
  }
  reads.nodes = (s) => s.nodes();
  reads.services = (s) => s.services();
  reads.allServiceNodes = (s) => s.allServiceNodes();
  reads['checks any'] = (s) => s.checksInState('any');
  reads['checks critical'] = (s) => s.checksInState('critical');
  reads['address 203.0.113.1'] = (s) => s.lookupAddress('203.0.113.1');

  for (const seed of [11, 12, 13]) {
    it(`holds for every read after every command (seed ${seed})`, () => {
      const s = new StateStore();
      const cmds = randomCommands(seed, 250);
      let changes = 0;
      cmds.forEach((cmd, i) => {
        const before = new Map<string, { json: string; index: number; fired: boolean }>();
        const cancels: Array<() => void> = [];
        for (const [name, read] of Object.entries(reads)) {
          const r = read(s);
          const rec = { json: JSON.stringify(r.value), index: r.index, fired: false };
          before.set(name, rec);
          cancels.push(s.watch(r.watch, () => { rec.fired = true; }));
        }
        applyEncoded(s, i + 1, cmd);
        for (const [name, read] of Object.entries(reads)) {
          const r = read(s);
          const b = before.get(name)!;
          const where = `seed ${seed}, command ${i} (${JSON.stringify(cmd)}), read ${name}`;
          expect(r.index, `index went backwards: ${where}`).to.be.at.least(b.index);
          if (JSON.stringify(r.value) !== b.json) {
            changes++;
            expect(r.index, `value changed, index did not: ${where}`).to.be.greaterThan(b.index);
            expect(b.fired, `value changed, watch did not fire: ${where}`).to.equal(true);
          }
        }
        cancels.forEach((c) => c());
        expect(s.watchCount, `seed ${seed}`).to.equal(0);
      });
      expect(changes, `seed ${seed}: the sequence should change reads`).to.be.greaterThan(100);
    });
  }
});
