import { expect } from 'chai';
import { SeededRng } from '../../../agent/runtime/rng.js';
import { FileStorage } from '../../../catalog/raft/wal/index.js';
import type { Entry, HardState, Snapshot } from '../../../catalog/raft/types.js';
import { entry, makeTempDir, removeDir, snapshot } from './wal-helpers.js';

/**
 * Seeded random operations against FileStorage and a trivial in-memory model of what
 * load() must return; the store is reopened often, so every recovery path is compared
 * with the model. Small segments make rollover and compaction frequent.
 */
describe('raft wal model check', function () {
  this.timeout(30_000);
  const seeds = (process.env.WAL_MODEL_SEEDS ?? '1,2,3').split(',').map(Number);

  for (const seed of seeds) {
    it(`matches the model over random save/snapshot/compact/reopen (seed ${seed})`, async () => {
      const rng = new SeededRng(seed);
      const dir = await makeTempDir('walmodel');
      const opts = { nodeId: 'm', segmentSize: 1024 };
      let s = await FileStorage.open(dir, opts);
      // Model: visible entries (index > snapshot), last index, hard state, snapshot.
      let log: Entry[] = [];
      let last = 0;
      let hs: HardState = { term: 0, vote: '', commit: 0 };
      let snap: Snapshot | undefined;
      let term = 1;
      const ctx = (step: number, op: string): string => `seed ${seed} step ${step} (${op})`;
      try {
        for (let step = 0; step < 250; step++) {
          const r = rng.int(100);
          const snapIdx = snap?.meta.index ?? 0;
          let op: string;
          if (r < 60) {
            if (rng.int(10) === 0) term++;
            const from = last + 1 - rng.int(Math.min(4, last - snapIdx) + 1);
            const n = rng.int(9);
            const es = Array.from({ length: n }, (_, k) => entry(from + k, term, 80));
            const newHs = rng.int(2) === 0 ? { term, vote: rng.int(2) ? 'm' : '', commit: Math.max(hs.commit, snapIdx) } : undefined;
            op = `save ${from}+${n} t${term}`;
            await s.save(newHs, es);
            if (n > 0) {
              log = [...log.filter((e) => e.index < from), ...es];
              last = from + n - 1;
            }
            if (newHs) hs = newHs;
          } else if (r < 75) {
            const beyond = rng.int(4) === 0;
            const index = Math.max(1, beyond ? last + 1 + rng.int(20) : snapIdx + rng.int(last - snapIdx + 1));
            const existing = log.find((e) => e.index === index);
            const conflict = beyond || !existing || rng.int(4) === 0;
            const sTerm = conflict ? term + 1 : existing.term;
            if (conflict) term = sTerm;
            if (index === snapIdx && snap && sTerm !== snap.meta.term) continue;
            op = `snapshot ${index} t${sTerm}`;
            const sn = snapshot(index, sTerm, 50);
            await s.saveSnapshot(sn);
            if (existing && existing.term === sTerm) {
              log = log.filter((e) => e.index > index);
            } else {
              log = [];
              last = index;
            }
            snap = sn;
          } else if (r < 85) {
            op = 'compact';
            await s.compact(snapIdx + rng.int(5));
          } else {
            op = 'reopen';
            await s.close();
            s = await FileStorage.open(dir, opts);
            const st = await s.load();
            expect(st.hardState, ctx(step, op)).to.deep.equal(hs);
            expect(st.snapshot, ctx(step, op)).to.deep.equal(snap);
            expect(st.entries, ctx(step, op)).to.deep.equal(log);
          }
          expect(s.lastIndex(), ctx(step, op)).to.equal(last);
          if (log.length > 0) {
            const lo = log[rng.int(log.length)]!.index;
            const hi = lo + 1 + rng.int(last - lo + 1);
            expect(await s.entries(lo, hi), ctx(step, `${op}; entries(${lo}, ${hi})`)).to.deep.equal(log.filter((e) => e.index >= lo && e.index < hi));
          }
        }
        await s.close();
        s = await FileStorage.open(dir, opts);
        const st = await s.load();
        expect(st.entries, `seed ${seed} final`).to.deep.equal(log);
        expect(st.snapshot, `seed ${seed} final`).to.deep.equal(snap);
      } finally {
        await s.close();
        await removeDir(dir);
      }
    });
  }
});
