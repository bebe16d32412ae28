import { expect } from 'chai';
import { runSimulation, type SimOptions, type SimResult } from './sim.js';

/**
 * Seeded simulations. `SEED=N` replays one seed (all shapes); `RAFT_SIM_SEEDS=N` runs N
 * seeds per shape instead of the default.
 */
const replay = process.env['SEED'] !== undefined ? Number(process.env['SEED']) : undefined;
const perShape = Number(process.env['RAFT_SIM_SEEDS'] ?? 500);

const shapes: { name: string; opts: Omit<SimOptions, 'seed'> }[] = [
  { name: '3 nodes', opts: { voters: 3 } },
  { name: '5 nodes', opts: { voters: 5 } },
  { name: '3 nodes, heavy loss and duplication', opts: { voters: 3, loss: 0.25, duplicate: 0.1, maxDelay: 6 } },
  { name: '3→5 nodes with membership changes under load', opts: { voters: 3, membership: true } },
  { name: '3 nodes, leaders crash between sending AppendEntries and their fsync', opts: { voters: 3, crashBeforePersist: 0.1 } },
  { name: '5 nodes, leaders crash between sending AppendEntries and their fsync', opts: { voters: 5, crashBeforePersist: 0.1 } },
];

describe('raft simulation', function () {
  this.timeout(120_000);
  for (const shape of shapes) {
    it(`${shape.name}: safety, liveness and linearizable KV histories`, () => {
      const seeds = replay !== undefined ? [replay] : Array.from({ length: perShape }, (_, i) => i + 1 + shapes.indexOf(shape) * 100_000);
      const results: SimResult[] = [];
      for (const seed of seeds) results.push(runSimulation({ seed, ...shape.opts }));
      const ops = results.reduce((s, r) => s + r.completed, 0);
      const checked = results.filter((r) => r.linearizable === 'ok').length;
      expect(ops, 'clients completed operations').to.be.greaterThan(seeds.length * 5);
      expect(checked, 'histories fully checked').to.be.greaterThan(seeds.length * 0.9);
      if (shape.opts.membership) expect(results.reduce((s, r) => s + r.confChanges, 0)).to.be.greaterThan(0);
      if (shape.opts.crashBeforePersist) expect(results.reduce((s, r) => s + r.crashesBeforePersist, 0), 'crashes between send and fsync').to.be.greaterThan(seeds.length / 2);
    });
  }
});
