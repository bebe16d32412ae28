/**
 * Beyond the paper's §5: snapshots and compaction (§7), single-server membership changes
 * (§6 / thesis ch. 4), leadership transfer (thesis §3.10), ReadIndex (thesis §6.4), proposal
 * forwarding, batching and flow control.
 */
import { expect } from 'chai';
import { Cluster, ListMachine, dec } from './harness.js';
import { ConfChangeType } from '../../../catalog/raft/types.js';
import type { Message } from '../../../catalog/raft/core/messages.js';
import { ConfChangeError, NoLeaderError, NotLeaderError, ProposalDroppedError } from '../../../catalog/raft/core/errors.js';

const ids3 = ['n1', 'n2', 'n3'];
const items = (c: Cluster, id: string): string[] => (c.node(id).sm as ListMachine).items;

/** Ticks everyone and delivers reliably, `n` times. */
function run(c: Cluster, n: number): void {
  for (let i = 0; i < n; i++) {
    c.tickAll();
    c.stabilize();
  }
}

function sent(c: Cluster): Message[] {
  const out: Message[] = [];
  c.onReady = (_n, rd) => out.push(...rd.earlyMessages, ...rd.messages);
  return out;
}

describe('raft features', () => {
  describe('single node', () => {
    it('elects itself and commits proposals without any messages', () => {
      const c = new Cluster(['n1']);
      for (let i = 0; i < 25 && c.core('n1').role !== 'leader'; i++) c.tick('n1');
      expect(c.core('n1').role).to.equal('leader');
      const r = c.propose('n1', 'a');
      // Committed once the Ready holding it was persisted (advance), applied in the next one.
      expect(c.core('n1').log.committed).to.equal(r?.index);
      c.flushReady();
      expect(items(c, 'n1')).to.deep.equal(['a']);
    });
  });

  describe('proposal forwarding', () => {
    it('a follower forwards proposals to the leader', () => {
      const c = new Cluster(ids3);
      c.elect('n1');
      expect(c.propose('n2', 'via-n2')).to.equal(undefined);
      c.stabilize();
      for (const id of ids3) expect(items(c, id)).to.deep.equal(['via-n2']);
    });

    it('without a known leader, a proposal fails with "raft: no leader"', () => {
      const c = new Cluster(ids3);
      expect(() => c.core('n2').propose(new Uint8Array([1]))).to.throw(NoLeaderError, 'raft: no leader');
    });

    it('with forwarding disabled, a follower refuses with "raft: not leader" naming the leader', () => {
      const c = new Cluster(ids3, { core: { disableProposalForwarding: true } });
      c.elect('n1');
      try {
        c.core('n2').propose(new Uint8Array([1]));
        expect.fail('should throw');
      } catch (e) {
        expect(e).to.be.instanceOf(NotLeaderError);
        expect((e as NotLeaderError).message).to.equal('raft: not leader');
        expect((e as NotLeaderError).leader).to.equal('n1');
      }
    });
  });

  describe('batching and flow control', () => {
    it('proposals made between two Readies travel in one AppendEntries, bounded by maxEntriesPerMsg', () => {
      const c = new Cluster(ids3, { core: { maxEntriesPerMsg: 4 } });
      c.elect('n1');
      const msgs = sent(c);
      for (let i = 0; i < 10; i++) c.core('n1').propose(new TextEncoder().encode(`e${i}`));
      c.handleReady('n1');
      const apps = msgs.filter((m) => m.type === 'MsgApp' && m.to === 'n2');
      // Replicate state: pipelined, 4 + 4 + 2 entries in three messages.
      expect(apps.map((m) => m.entries?.length)).to.deep.equal([4, 4, 2]);
      c.stabilize();
      expect(items(c, 'n3')).to.have.length(10);
    });

    it('no more than maxInflight AppendEntries are outstanding to a follower', () => {
      const c = new Cluster(ids3, { core: { maxEntriesPerMsg: 1, maxInflight: 3 } });
      c.elect('n1');
      const msgs = sent(c);
      c.partition([['n1', 'n3'], ['n2']]);
      for (let i = 0; i < 10; i++) {
        c.core('n1').propose(new TextEncoder().encode(`e${i}`));
        c.handleReady('n1');
      }
      c.stabilize();
      expect(msgs.filter((m) => m.type === 'MsgApp' && m.to === 'n2' && (m.entries?.length ?? 0) > 0)).to.have.length(3);
      expect(items(c, 'n3')).to.have.length(10);
      c.heal();
      run(c, 3);
      expect(items(c, 'n2')).to.have.length(10);
    });

    it('a follower that rejects is probed back to the point where logs match', () => {
      const c = new Cluster(ids3);
      c.elect('n1');
      c.isolate('n3');
      for (let i = 0; i < 5; i++) c.propose('n1', `p${i}`);
      c.stabilize();
      c.heal();
      run(c, 3);
      expect(items(c, 'n3')).to.deep.equal(['p0', 'p1', 'p2', 'p3', 'p4']);
      expect(c.core('n1').status().progress?.['n3']?.state).to.equal('replicate');
    });
  });

  describe('§7 snapshots and log compaction', () => {
    it('compacts the log keeping the configured trailing entries', () => {
      const c = new Cluster(ids3, { snapshotThreshold: 10, trailingLogs: 3 });
      c.elect('n1');
      for (let i = 0; i < 30; i++) c.propose('n1', `v${i}`);
      c.stabilize();
      const n1 = c.node('n1');
      expect(n1.lastSnapshot).to.be.greaterThan(20);
      expect(n1.core.log.firstIndex()).to.equal(n1.lastSnapshot - 3 + 1);
      expect(n1.storage.loadSync().snapshot?.meta.index).to.equal(n1.lastSnapshot);
      expect(n1.storage.loadSync().entries[0]?.index).to.equal(n1.lastSnapshot + 1);
    });

    it('sends InstallSnapshot to a follower whose next entry was compacted away', () => {
      const c = new Cluster(ids3, { snapshotThreshold: 5, trailingLogs: 1 });
      c.elect('n1');
      c.isolate('n3');
      for (let i = 0; i < 20; i++) c.propose('n1', `v${i}`);
      c.stabilize();
      const msgs = sent(c);
      c.heal();
      run(c, 3);
      const snaps = msgs.filter((m) => m.type === 'MsgSnap' && m.to === 'n3');
      expect(snaps.length).to.be.greaterThan(0);
      expect(items(c, 'n3')).to.deep.equal(items(c, 'n1'));
      expect(items(c, 'n3')).to.have.length(20);
      expect(c.node('n3').storage.loadSync().snapshot?.meta.index).to.be.greaterThan(1);
    });

    it('a follower restarted after installing a snapshot recovers its state from storage', () => {
      const c = new Cluster(ids3, { snapshotThreshold: 5, trailingLogs: 0 });
      c.elect('n1');
      c.isolate('n3');
      for (let i = 0; i < 12; i++) c.propose('n1', `v${i}`);
      c.stabilize();
      c.heal();
      run(c, 3);
      c.crash('n3');
      c.restart('n3');
      c.stabilize();
      expect(items(c, 'n3')).to.deep.equal(items(c, 'n1'));
    });
  });

  describe('§6 membership changes (single server)', () => {
    it('adds a learner that replicates but does not vote, then promotes it to voter', () => {
      const c = new Cluster(ids3, { snapshotThreshold: 5 });
      c.elect('n1');
      for (let i = 0; i < 8; i++) c.propose('n1', `v${i}`);
      c.stabilize();
      c.addEmpty('n4');
      c.core('n1').proposeConfChange({ type: ConfChangeType.AddLearner, nodeId: 'n4' });
      c.handleReady('n1');
      run(c, 3);
      expect(c.core('n1').confState).to.deep.equal({ voters: ids3, learners: ['n4'] });
      expect(items(c, 'n4')).to.deep.equal(items(c, 'n1'));
      expect(c.core('n4').confState.learners).to.include('n4');
      // A learner never campaigns, and commits do not wait for it.
      c.isolate('n4');
      for (let i = 0; i < 50; i++) c.tick('n4');
      expect(c.core('n4').role).to.equal('follower');
      c.propose('n1', 'without-n4');
      c.stabilize();
      expect(items(c, 'n1')).to.include('without-n4');
      c.heal();
      run(c, 2);
      const pr = c.core('n1').status().progress?.['n4'];
      expect(pr?.match).to.equal(c.core('n1').log.lastIndex());
      c.core('n1').proposeConfChange({ type: ConfChangeType.PromoteVoter, nodeId: 'n4' });
      c.handleReady('n1');
      run(c, 2);
      for (const id of ['n1', 'n2', 'n3', 'n4']) expect(c.core(id).confState).to.deep.equal({ voters: ['n1', 'n2', 'n3', 'n4'], learners: [] });
      // Now a majority is 3 of 4: the leader and one follower cannot commit alone.
      c.partition([['n1', 'n2'], ['n3'], ['n4']]);
      c.propose('n1', 'half?');
      c.stabilize();
      expect(items(c, 'n1')).to.not.include('half?');
      c.heal();
      run(c, 2);
      expect(items(c, 'n1')).to.include('half?');
    });

    it('allows one pending change at a time', () => {
      const c = new Cluster(ids3);
      c.elect('n1');
      c.core('n1').proposeConfChange({ type: ConfChangeType.AddLearner, nodeId: 'n4' });
      expect(() => c.core('n1').proposeConfChange({ type: ConfChangeType.AddLearner, nodeId: 'n5' })).to.throw(ConfChangeError);
      c.stabilize();
      c.core('n1').proposeConfChange({ type: ConfChangeType.AddLearner, nodeId: 'n5' });
    });

    it('refuses to remove the last voter and refuses changes off the leader', () => {
      const c = new Cluster(['n1']);
      c.elect('n1');
      expect(() => c.core('n1').proposeConfChange({ type: ConfChangeType.RemoveNode, nodeId: 'n1' })).to.throw(ConfChangeError);
      const d = new Cluster(ids3);
      d.elect('n1');
      expect(() => d.core('n2').proposeConfChange({ type: ConfChangeType.AddLearner, nodeId: 'n9' })).to.throw(NotLeaderError);
    });

    it('removes a follower; the rest keep committing', () => {
      const c = new Cluster(ids3);
      c.elect('n1');
      c.core('n1').proposeConfChange({ type: ConfChangeType.RemoveNode, nodeId: 'n3' });
      c.handleReady('n1');
      c.stabilize();
      expect(c.core('n1').confState.voters).to.deep.equal(['n1', 'n2']);
      c.crash('n3');
      c.propose('n1', 'after');
      c.stabilize();
      expect(items(c, 'n2')).to.deep.equal(['after']);
    });

    it('a removed leader steps down and the remaining voters elect a new one', () => {
      const c = new Cluster(ids3);
      c.elect('n1');
      c.core('n1').proposeConfChange({ type: ConfChangeType.RemoveNode, nodeId: 'n1' });
      c.handleReady('n1');
      c.stabilize();
      expect(c.core('n1').role).to.equal('follower');
      run(c, 40);
      const leaders = c.leaders();
      expect(leaders).to.have.length(1);
      expect(leaders[0]).to.not.equal('n1');
      expect(c.core(leaders[0] as string).confState.voters).to.deep.equal(['n2', 'n3']);
    });
  });

  describe('leadership transfer', () => {
    it('hands leadership to an up-to-date voter with TimeoutNow', () => {
      const c = new Cluster(ids3);
      const t = c.elect('n1');
      c.core('n1').transferLeader('n2');
      c.handleReady('n1');
      c.stabilize();
      expect(c.core('n2').role).to.equal('leader');
      expect(c.core('n2').term).to.equal(t + 1);
      expect(c.core('n1').leader).to.equal('n2');
    });

    it('catches a lagging target up first, and drops proposals meanwhile', () => {
      const c = new Cluster(ids3);
      c.elect('n1');
      c.isolate('n3');
      for (let i = 0; i < 5; i++) c.propose('n1', `v${i}`);
      c.stabilize();
      c.heal();
      c.core('n1').transferLeader('n3');
      expect(() => c.core('n1').propose(new Uint8Array([1]))).to.throw(ProposalDroppedError);
      c.handleReady('n1');
      c.stabilize();
      expect(c.core('n3').role).to.equal('leader');
      expect(items(c, 'n3')).to.have.length(5);
    });

    it('gives up after an election timeout if the target does not respond', () => {
      const c = new Cluster(ids3, { core: { electionTicks: 10 } });
      c.elect('n1');
      c.partition([['n1', 'n2'], ['n3']]);
      c.propose('n1', 'x');
      c.stabilize();
      c.core('n1').transferLeader('n3');
      expect(c.core('n1').status().leadTransferee).to.equal('n3');
      run(c, 11);
      expect(c.core('n1').role).to.equal('leader');
      expect(c.core('n1').status().leadTransferee).to.equal('');
      expect(c.propose('n1', 'y')?.index).to.be.a('number');
    });
  });

  describe('ReadIndex (linearizable reads)', () => {
    it('the leader answers after a quorum acknowledges a heartbeat round', () => {
      const c = new Cluster(ids3);
      c.elect('n1');
      c.propose('n1', 'a');
      c.stabilize();
      const states: { node: string; index: number; context: string }[] = [];
      c.onReady = (n, rd) => rd.readStates.forEach((r) => states.push({ node: n.id, ...r }));
      c.core('n1').readIndex('q1');
      c.handleReady('n1');
      expect(states).to.deep.equal([]);
      c.stabilize();
      expect(states).to.deep.equal([{ node: 'n1', index: 3, context: 'q1' }]);
    });

    it('a follower\'s read is forwarded and answered with the leader\'s commit index', () => {
      const c = new Cluster(ids3);
      c.elect('n1');
      c.propose('n1', 'a');
      c.stabilize();
      const states: { node: string; index: number; context: string }[] = [];
      c.onReady = (n, rd) => rd.readStates.forEach((r) => states.push({ node: n.id, ...r }));
      c.core('n3').readIndex('f1');
      c.handleReady('n3');
      c.stabilize();
      expect(states).to.deep.equal([{ node: 'n3', index: 3, context: 'f1' }]);
    });

    it('a leader cut off from the majority cannot complete a read', () => {
      const c = new Cluster(ids3);
      c.elect('n1');
      c.stabilize();
      const states: string[] = [];
      c.onReady = (_n, rd) => rd.readStates.forEach((r) => states.push(r.context));
      c.isolate('n1');
      c.core('n1').readIndex('stale?');
      c.handleReady('n1');
      for (let i = 0; i < 5; i++) {
        c.tick('n1');
        c.stabilize();
      }
      expect(states).to.deep.equal([]);
    });

    it('a new leader answers reads only once an entry of its term is committed', () => {
      const c = new Cluster(ids3);
      c.elect('n1');
      const states: string[] = [];
      c.onReady = (_n, rd) => rd.readStates.forEach((r) => states.push(`${r.context}@${r.index}`));
      c.partition([['n1', 'n2'], ['n3']]);
      c.campaign('n2', true);
      // Only vote traffic: n2 becomes leader but its no-op is not yet committed.
      for (let i = 0; i < 3; i++) c.deliverAll((m) => m.type === 'MsgVote' || m.type === 'MsgVoteResp');
      expect(c.core('n2').role).to.equal('leader');
      c.queue = [];
      c.core('n2').readIndex('early');
      c.handleReady('n2');
      expect(states).to.deep.equal([]);
      run(c, 3);
      // Answered at the index of the new leader's no-op (term 3, index 3).
      expect(c.core('n2').log.term(3)).to.equal(3);
      expect(states).to.deep.equal(['early@3']);
    });
  });

  describe('restart', () => {
    it('a restarted node recovers term, vote, log and state machine from storage', () => {
      const c = new Cluster(ids3);
      c.elect('n1');
      for (let i = 0; i < 3; i++) c.propose('n1', `v${i}`);
      c.stabilize();
      const before = c.core('n2').hardState();
      c.crash('n2');
      c.restart('n2');
      c.stabilize();
      expect(c.core('n2').term).to.equal(before.term);
      expect(items(c, 'n2')).to.deep.equal(['v0', 'v1', 'v2']);
      expect(dec(c.core('n2').log.slice(5, 6)[0]?.data ?? new Uint8Array())).to.equal('v2');
    });
  });
});
