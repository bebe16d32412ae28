/**
 * The Raft paper's guarantees (Ongaro & Ousterhout, "In Search of an Understandable
 * Consensus Algorithm", §5 and Figure 3), checked section by section on small clusters
 * driven directly through the pure core.
 */
import { expect } from 'chai';
import { Cluster, dec } from './harness.js';
import { EntryType, type Entry } from '../../../catalog/raft/types.js';
import { committedIndex, voteResult } from '../../../catalog/raft/core/quorum.js';

const ids3 = ['n1', 'n2', 'n3'];
const ids5 = ['n1', 'n2', 'n3', 'n4', 'n5'];

function logOf(c: Cluster, id: string): Entry[] {
  const l = c.core(id).log;
  return l.slice(l.firstIndex(), l.lastIndex() + 1);
}

describe('raft paper properties', () => {
  describe('quorum math', () => {
    it('commits the highest index stored on a majority', () => {
      expect(committedIndex([5])).to.equal(5);
      expect(committedIndex([5, 3, 4])).to.equal(4);
      expect(committedIndex([1, 9, 9, 2])).to.equal(2);
      expect(committedIndex([7, 1, 6, 2, 5])).to.equal(5);
      expect(committedIndex([])).to.equal(0);
    });
    it('decides elections only once the outcome is certain', () => {
      const v = ['a', 'b', 'c'];
      expect(voteResult(v, new Map([['a', true]]))).to.equal('pending');
      expect(voteResult(v, new Map([['a', true], ['b', true]]))).to.equal('won');
      expect(voteResult(v, new Map([['a', true], ['b', false]]))).to.equal('pending');
      expect(voteResult(v, new Map([['b', false], ['c', false]]))).to.equal('lost');
      expect(voteResult(['a', 'b', 'c', 'd'], new Map([['a', true], ['b', true]]))).to.equal('pending');
    });
  });

  describe('§5.2 leader election', () => {
    it('a candidate with votes from a majority becomes leader and the others follow it', () => {
      const c = new Cluster(ids3);
      const term = c.elect('n1');
      expect(term).to.equal(2);
      for (const id of ['n2', 'n3']) {
        expect(c.core(id).role).to.equal('follower');
        expect(c.core(id).leader).to.equal('n1');
        expect(c.core(id).term).to.equal(term);
      }
    });

    it('election safety: at most one leader per term, over many randomized elections', () => {
      for (let seed = 1; seed <= 30; seed++) {
        const c = new Cluster(ids5, { seed });
        const leaderOf = new Map<number, string>();
        for (let step = 0; step < 400; step++) {
          for (const id of c.ids()) c.tick(id);
          // Deliver a random subset; the rest is lost.
          const q = c.queue;
          c.queue = [];
          for (const m of c.rng.shuffle(q)) if (c.rng.next() < 0.7) { c.deliver(m); c.handleReady(m.to); }
          for (const id of c.ids()) {
            const core = c.core(id);
            if (core.role !== 'leader') continue;
            const prev = leaderOf.get(core.term);
            expect(prev === undefined || prev === id, `seed ${seed}: two leaders in term ${core.term}`).to.equal(true);
            leaderOf.set(core.term, id);
          }
        }
        expect(leaderOf.size, `seed ${seed}: some leader was elected`).to.be.greaterThan(0);
      }
    });

    it('a server grants at most one vote per term, and remembers it across a restart', () => {
      const c = new Cluster(ids3);
      c.campaign('n1');
      // Pre-votes out, pre-vote answers back (n1 then asks for real votes), votes out.
      c.deliverAll();
      c.deliverAll();
      c.deliverAll((m) => m.to !== 'n1');
      // n2 and n3 voted for n1 in term 2 (responses still queued); restart n2.
      expect(c.core('n2').vote).to.equal('n1');
      c.crash('n2');
      c.restart('n2');
      expect(c.core('n2').vote).to.equal('n1');
      expect(c.core('n2').term).to.equal(2);
      // A competing candidate in the same term is refused by n2.
      c.queue = [];
      c.core('n2').step({ type: 'MsgVote', from: 'n3', to: 'n2', term: 2, index: 99, logTerm: 99, commit: 0 });
      const rd = c.core('n2').ready();
      const resp = rd.messages.find((m) => m.type === 'MsgVoteResp');
      expect(resp?.reject).to.equal(true);
    });

    it('election timeouts are randomized within [election, 2*election) ticks', () => {
      const firsts = new Set<number>();
      for (let seed = 1; seed <= 20; seed++) {
        const c = new Cluster(['n1'], { seed, core: { electionTicks: 10 } });
        let t = 0;
        while (c.core('n1').role !== 'leader' && t < 100) {
          c.tick('n1');
          t++;
        }
        expect(t).to.be.within(10, 19);
        firsts.add(t);
      }
      expect(firsts.size).to.be.greaterThan(3);
    });

    it('pre-vote: an isolated server does not inflate its term and does not disrupt the leader on return', () => {
      const c = new Cluster(ids3);
      const term = c.elect('n1');
      c.isolate('n3');
      for (let i = 0; i < 100; i++) {
        c.tickAll();
        c.stabilize();
      }
      expect(c.core('n3').term).to.equal(term);
      c.heal();
      for (let i = 0; i < 5; i++) {
        c.tickAll();
        c.stabilize();
      }
      expect(c.core('n1').role).to.equal('leader');
      expect(c.core('n1').term).to.equal(term);
      expect(c.core('n3').leader).to.equal('n1');
    });

    it('check-quorum: a leader cut off from the majority steps down within an election timeout', () => {
      const c = new Cluster(ids3, { core: { electionTicks: 10 } });
      c.elect('n1');
      c.isolate('n1');
      for (let i = 0; i < 25; i++) {
        c.tickAll();
        c.stabilize();
      }
      expect(c.core('n1').role).to.not.equal('leader');
      const leaders = c.leaders();
      expect(leaders).to.have.length(1);
      expect(leaders[0]).to.not.equal('n1');
    });

    it('followers in a leader lease ignore vote requests (check-quorum), unless forced by a transfer', () => {
      const c = new Cluster(ids3);
      const term = c.elect('n1');
      c.core('n2').step({ type: 'MsgVote', from: 'n3', to: 'n2', term: term + 1, index: 100, logTerm: 100, commit: 0 });
      expect(c.core('n2').term).to.equal(term);
      c.core('n2').step({ type: 'MsgVote', from: 'n3', to: 'n2', term: term + 1, index: 100, logTerm: 100, commit: 0, context: 'transfer' });
      expect(c.core('n2').term).to.equal(term + 1);
      expect(c.core('n2').vote).to.equal('n3');
    });
  });

  describe('§5.3 log replication', () => {
    it('the leader replicates entries and commits them once a majority stores them', () => {
      const c = new Cluster(ids3);
      c.elect('n1');
      const p = c.propose('n1', 'x');
      expect(p?.index).to.equal(3);
      c.stabilize();
      for (const id of ids3) {
        expect(c.core(id).log.committed).to.equal(3);
        const items = (c.node(id).sm as unknown as { items: string[] }).items;
        expect(items).to.deep.equal(['x']);
      }
    });

    it('a minority cannot commit: entries stay uncommitted until a majority has them', () => {
      const c = new Cluster(ids5);
      c.elect('n1');
      c.partition([['n1', 'n2'], ['n3', 'n4', 'n5']]);
      c.propose('n1', 'lost?');
      c.stabilize();
      expect(c.core('n1').log.committed).to.equal(2);
      expect(c.core('n2').log.lastIndex()).to.equal(3);
    });

    it('leader append-only: a leader never overwrites or deletes entries in its own log', () => {
      for (let seed = 1; seed <= 15; seed++) {
        const c = new Cluster(ids3, { seed });
        const snapshots = new Map<string, { term: number; entries: string[] }>();
        for (let step = 0; step < 300; step++) {
          c.tickAll();
          const lead = c.leaders()[0];
          if (lead && c.rng.next() < 0.3) c.propose(lead, `v${step}`);
          const q = c.queue;
          c.queue = [];
          for (const m of c.rng.shuffle(q)) if (c.rng.next() < 0.8) { c.deliver(m); c.handleReady(m.to); }
          for (const id of c.leaders()) {
            const core = c.core(id);
            const entries = logOf(c, id).map((e) => `${e.index}/${e.term}`);
            const prev = snapshots.get(id);
            if (prev && prev.term === core.term) {
              expect(entries.slice(0, prev.entries.length), `seed ${seed}`).to.deep.equal(prev.entries);
            }
            snapshots.set(id, { term: core.term, entries });
          }
          for (const id of c.ids()) if (c.core(id).role !== 'leader') snapshots.delete(id);
        }
      }
    });

    it('log matching: equal (index, term) implies identical preceding entries', () => {
      for (let seed = 1; seed <= 15; seed++) {
        const c = new Cluster(ids5, { seed });
        for (let step = 0; step < 300; step++) {
          c.tickAll();
          const lead = c.leaders()[0];
          if (lead && c.rng.next() < 0.4) c.propose(lead, `v${step}`);
          if (step % 50 === 0) c.partition([c.rng.shuffle(c.ids()).slice(0, 2)]);
          if (step % 50 === 25) c.heal();
          const q = c.queue;
          c.queue = [];
          for (const m of c.rng.shuffle(q)) if (c.rng.next() < 0.85) { c.deliver(m); c.handleReady(m.to); }
        }
        const logs = c.ids().map((id) => new Map(logOf(c, id).map((e) => [e.index, e])));
        for (const a of logs) for (const b of logs) {
          // The highest index where both logs hold an entry of the same term...
          let top = 0;
          for (const [i, ea] of a) if (i > top && b.get(i)?.term === ea.term) top = i;
          // ...and every entry both hold below it must be identical.
          for (let j = top; j >= 2; j--) {
            const x = a.get(j);
            const y = b.get(j);
            if (!x || !y) break;
            expect(x.term, `seed ${seed} index ${j}`).to.equal(y.term);
            expect(dec(x.data), `seed ${seed} index ${j}`).to.equal(dec(y.data));
          }
        }
      }
    });

    it('a follower with conflicting uncommitted entries has them overwritten by the leader', () => {
      const c = new Cluster(ids3);
      c.elect('n1');
      c.isolate('n1');
      c.propose('n1', 'orphan-1');
      c.propose('n1', 'orphan-2');
      c.flushReady();
      expect(c.core('n1').log.lastIndex()).to.equal(4);
      c.queue = [];
      c.heal();
      c.partition([['n2', 'n3'], ['n1']]);
      c.elect('n2');
      c.propose('n2', 'winner');
      c.stabilize();
      c.heal();
      for (let i = 0; i < 30 && c.core('n1').leader !== 'n2'; i++) {
        c.tickAll();
        c.stabilize();
      }
      c.stabilize();
      const l1 = logOf(c, 'n1').filter((e) => e.type === EntryType.Normal).map((e) => dec(e.data));
      expect(l1).to.deep.equal(['winner']);
    });
  });

  describe('§5.4 safety', () => {
    it('§5.4.1 election restriction: a candidate whose log is behind cannot win', () => {
      const c = new Cluster(ids3);
      c.elect('n1');
      c.partition([['n1', 'n2'], ['n3']]);
      c.propose('n1', 'a');
      c.stabilize();
      expect(c.core('n1').log.committed).to.equal(3);
      // n3 missed index 3; with n1 down it asks n2, who must refuse.
      c.heal();
      c.crash('n1');
      c.queue = [];
      c.core('n3').step({ type: 'MsgVote', from: 'n2', to: 'n3', term: 10, index: 0, logTerm: 0, commit: 0 }); // irrelevant noise
      c.queue = [];
      c.flushReady();
      c.queue = [];
      // Force the lease off so votes are considered.
      for (let i = 0; i < 25; i++) c.tick('n3');
      c.stabilize();
      // n3 cannot be leader: n2 has index 3 of the newer log; only n2 can win.
      for (let i = 0; i < 60 && c.leaders().length === 0; i++) {
        c.tickAll();
        c.stabilize();
      }
      expect(c.leaders()).to.deep.equal(['n2']);
    });

    it('§5.4.2 a leader never commits an entry of an earlier term by counting replicas (Figure 8)', () => {
      const c = new Cluster(ids5, { core: { maxEntriesPerMsg: 1, preVote: false, checkQuorum: false } });
      c.elect('n1');
      // n1 (term 2) appends X but nobody receives it.
      c.isolate('n1');
      const x = c.propose('n1', 'X');
      c.stabilize();
      expect(x).to.deep.equal({ index: 3, term: 2 });
      // n1 restarts and, with n2 and n3, wins term 3 (its log is the most up to date).
      c.crash('n1');
      c.restart('n1');
      c.partition([['n1', 'n2', 'n3'], ['n4'], ['n5']]);
      c.campaign('n1', true);
      // Let X (one entry per message) through, but no entry of term 3 (the no-op) to a
      // follower that would accept it.
      const noCurrentTerm = (m: { type: string; to: string; entries?: { term: number }[] }) =>
        !(m.type === 'MsgApp' && (m.entries ?? []).some((e) => e.term === 3) && c.core(m.to).log.lastIndex() >= 3);
      for (let i = 0; i < 20; i++) {
        c.tickAll();
        c.flushReady();
        c.deliverAll(noCurrentTerm);
      }
      expect(c.core('n1').role).to.equal('leader');
      expect(c.core('n1').term).to.equal(3);
      const pr = c.core('n1').status().progress ?? {};
      expect(pr['n2']?.match).to.equal(3);
      expect(pr['n3']?.match).to.equal(3);
      // X is on a majority (n1, n2, n3) but from term 2: not committed.
      expect(c.core('n1').log.committed).to.equal(2);
      // Once the term-3 no-op reaches the majority, both commit.
      c.stabilize();
      expect(c.core('n1').log.committed).to.equal(4);
      expect(c.core('n2').log.committed).to.equal(4);
    });

    it('a leader advances its commit index only to entries of its own term', () => {
      for (let seed = 1; seed <= 10; seed++) {
        const c = new Cluster(ids5, { seed });
        c.onReady = (n, rd) => {
          if (rd.hardState && n.core.role === 'leader' && rd.hardState.commit > n.core.log.committed - 0) {
            expect(n.core.log.term(rd.hardState.commit), `seed ${seed}`).to.equal(n.core.term);
          }
        };
        for (let step = 0; step < 200; step++) {
          c.tickAll();
          const lead = c.leaders()[0];
          if (lead && c.rng.next() < 0.4) c.propose(lead, `v${step}`);
          if (step % 40 === 0) c.partition([c.rng.shuffle(c.ids()).slice(0, 2)]);
          if (step % 40 === 20) c.heal();
          const q = c.queue;
          c.queue = [];
          for (const m of c.rng.shuffle(q)) if (c.rng.next() < 0.8) { c.deliver(m); c.handleReady(m.to); }
        }
      }
    });

    it('§5.4.3 leader completeness and state machine safety under random faults', () => {
      for (let seed = 1; seed <= 20; seed++) {
        const c = new Cluster(ids5, { seed, snapshotThreshold: 8, trailingLogs: 2 });
        const committed = new Map<number, string>();
        c.onApply = ({ node, entry }) => {
          const k = `${entry.term}:${entry.type}:${dec(entry.data)}`;
          const prev = committed.get(entry.index);
          expect(prev === undefined || prev === k, `seed ${seed}: ${node} applied ${k} at ${entry.index}, others ${prev}`).to.equal(true);
          committed.set(entry.index, k);
        };
        const seenLeaders = new Set<string>();
        for (let step = 0; step < 300; step++) {
          c.tickAll();
          const lead = c.leaders()[0];
          if (lead && c.rng.next() < 0.4) c.propose(lead, `v${seed}.${step}`);
          if (c.rng.next() < 0.02) {
            const victim = c.ids()[c.rng.int(5)] as string;
            if (c.node(victim).up) c.crash(victim);
          }
          if (c.rng.next() < 0.05) for (const id of c.ids()) if (!c.node(id).up) c.restart(id);
          const q = c.queue;
          c.queue = [];
          for (const m of c.rng.shuffle(q)) if (c.rng.next() < 0.85) { c.deliver(m); c.handleReady(m.to); }
          // Leader completeness: a new leader holds every committed entry.
          for (const id of c.leaders()) {
            const core = c.core(id);
            const key = `${id}@${core.term}`;
            if (seenLeaders.has(key)) continue;
            seenLeaders.add(key);
            for (const [i, k] of committed) {
              if (i < core.log.firstIndex()) continue;
              expect(core.log.term(i), `seed ${seed}: leader ${key} lacks committed ${i}`).to.equal(Number(k.split(':')[0]));
            }
          }
        }
        expect(committed.size, `seed ${seed}`).to.be.greaterThan(5);
      }
    });
  });
});
