import { expect } from 'chai';
import { Cluster } from './harness.js';

/**
 * Re-election time after a leader crash with the default timings (heartbeat 1 tick,
 * election 10 ticks randomized in [10, 20), pre-vote, check-quorum), messages delivered
 * within the tick (a LAN). At 100 ms per tick the median must be well under 2 s.
 */
describe('raft failover timing', () => {
  for (const n of [3, 5]) {
    it(`${n} nodes: median re-election after a leader crash is under 15 ticks (1.5 s at 100 ms/tick)`, () => {
      const samples: number[] = [];
      for (let seed = 1; seed <= 100; seed++) {
        const c = new Cluster(Array.from({ length: n }, (_, i) => `n${i + 1}`), { seed });
        c.elect('n1');
        for (let i = 0; i < 5; i++) {
          c.tickAll();
          c.stabilize();
        }
        c.crash('n1');
        c.queue = [];
        let t = 0;
        while (t < 200 && c.leaders().length === 0) {
          t++;
          c.tickAll();
          c.stabilize();
        }
        expect(c.leaders().length, `seed ${seed}: no new leader`).to.equal(1);
        samples.push(t);
      }
      samples.sort((a, b) => a - b);
      const median = samples[50] as number;
      const p90 = samples[90] as number;
      expect(median).to.be.at.most(14);
      expect(p90).to.be.at.most(20);
    });
  }
});
