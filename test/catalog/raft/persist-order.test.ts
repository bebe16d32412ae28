/**
 * The leader replicates in parallel with its own fsync (Raft thesis §10.2.1): its
 * AppendEntries leave in `Ready.earlyMessages`, before the Ready is persisted, but its own
 * entries count toward the commit quorum only once `advance()` reports them durable.
 * Followers and candidates still persist before they acknowledge or vote. These tests
 * drive the pure core by hand, one Ready at a time, through the test harness.
 */
import { expect } from 'chai';
import { Cluster, dec, enc } from './harness.js';
import type { Ready } from '../../../catalog/raft/core/raft.js';
import type { Message } from '../../../catalog/raft/core/messages.js';
import { EntryType } from '../../../catalog/raft/types.js';

const ids3 = ['n1', 'n2', 'n3'];

/** What the harness does for a Ready, minus the sending: persist, then advance. */
function persistAndAdvance(c: Cluster, id: string, rd: Ready): void {
  const n = c.node(id);
  if (rd.snapshot) n.storage.saveSnapshotSync(rd.snapshot);
  n.storage.saveSync(rd.hardState, rd.entries);
  n.core.advance(rd);
}

function appsTo(ms: Message[], to: string, index: number): Message[] {
  return ms.filter((m) => m.type === 'MsgApp' && m.to === to && (m.entries ?? []).some((e) => e.index === index));
}

/** Steps `m` into its recipient and runs that node's Ready cycle; returns what it sent. */
function deliverAndReady(c: Cluster, m: Message): Message[] {
  c.queue = [];
  c.deliver(m);
  c.handleReady(m.to);
  const out = c.queue;
  c.queue = [];
  return out;
}

describe('raft persist ordering (leader fsync in parallel with replication)', () => {
  it('a 3-voter leader sends AppendEntries before persisting, but does not commit on one follower ack until its own persist is reported', () => {
    const c = new Cluster(ids3);
    c.elect('n1');
    const lead = c.core('n1');
    const before = lead.log.committed;
    const p = lead.propose(enc('x'));
    expect(p).to.not.equal(undefined);
    const idx = p!.index;

    const rd = lead.ready();
    expect(rd.entries.map((e) => e.index)).to.deep.equal([idx]);
    expect(appsTo(rd.earlyMessages, 'n2', idx)).to.have.length(1);
    expect(appsTo(rd.earlyMessages, 'n3', idx)).to.have.length(1);
    expect(rd.messages.filter((m) => m.type === 'MsgApp'), 'no AppendEntries waits for the fsync').to.have.length(0);
    expect(c.node('n1').storage.lastIndex(), 'not yet on the leader disk').to.be.lessThan(idx);

    // n2 persists and acknowledges; n3 hears nothing. The leader has not reported its persist.
    const acks = deliverAndReady(c, appsTo(rd.earlyMessages, 'n2', idx)[0]!).filter((m) => m.type === 'MsgAppResp' && !m.reject);
    expect(acks.map((m) => m.index)).to.deep.equal([idx]);
    expect(c.node('n2').storage.lastIndex(), 'the follower persisted before acknowledging').to.equal(idx);
    c.deliver(acks[0]!);
    expect(lead.log.committed, 'one follower + an unpersisted leader copy is no quorum').to.equal(before);
    expect(lead.status().progress?.['n1']?.match).to.be.lessThan(idx);

    persistAndAdvance(c, 'n1', rd);
    expect(lead.status().progress?.['n1']?.match).to.equal(idx);
    expect(lead.log.committed, 'committed once the leader copy is durable').to.equal(idx);
    const next = lead.ready();
    expect(next.committedEntries.map((e) => dec(e.data))).to.deep.equal(['x']);
    expect(next.hardState?.commit).to.equal(idx);
    persistAndAdvance(c, 'n1', next);
  });

  it('two follower acks commit an entry the leader has not persisted yet (the quorum is durable without it)', () => {
    const c = new Cluster(ids3);
    c.elect('n1');
    const lead = c.core('n1');
    const idx = lead.propose(enc('y'))!.index;
    const rd = lead.ready();
    for (const to of ['n2', 'n3']) {
      const acks = deliverAndReady(c, appsTo(rd.earlyMessages, to, idx)[0]!).filter((m) => m.type === 'MsgAppResp');
      for (const a of acks) c.deliver(a);
    }
    expect(lead.log.committed).to.equal(idx);
    persistAndAdvance(c, 'n1', rd);
    c.stabilize();
    for (const id of ids3) expect(c.core(id).log.applied, id).to.equal(idx);
  });

  it('a single voter commits its entries only after their persist is reported', () => {
    const c = new Cluster(['n1']);
    for (let i = 0; i < 25 && c.core('n1').role !== 'leader'; i++) c.tick('n1');
    expect(c.core('n1').role).to.equal('leader');
    const core = c.core('n1');
    c.flushReady();
    const before = core.log.committed;
    const idx = core.propose(enc('solo'))!.index;
    const rd = core.ready();
    expect(rd.entries.map((e) => e.index)).to.deep.equal([idx]);
    expect(rd.committedEntries).to.have.length(0);
    expect(core.log.committed).to.equal(before);
    persistAndAdvance(c, 'n1', rd);
    expect(core.log.committed).to.equal(idx);
    const next = core.ready();
    expect(next.committedEntries.map((e) => dec(e.data))).to.deep.equal(['solo']);
    persistAndAdvance(c, 'n1', next);
    expect(core.log.applied).to.equal(idx);
  });

  it('a new leader counts its no-op only once persisted; a single voter elected from scratch still commits it', () => {
    const c = new Cluster(['n1']);
    const core = c.core('n1');
    for (let i = 0; i < 25 && core.role !== 'leader'; i++) core.tick();
    expect(core.role).to.equal('leader');
    const rd = core.ready();
    expect(rd.entries.some((e) => e.type === EntryType.Noop)).to.equal(true);
    expect(core.log.committed).to.be.lessThan(core.log.lastIndex());
    // Term and vote changed in this very Ready: nothing may leave before it is durable.
    expect(rd.earlyMessages).to.have.length(0);
    persistAndAdvance(c, 'n1', rd);
    expect(core.log.committed).to.equal(core.log.lastIndex());
  });

  it('followers and candidates put votes and acknowledgements only in the after-persist messages', () => {
    const c = new Cluster(ids3);
    c.elect('n1');
    c.propose('n1', 'z');
    const follower: Message[] = [];
    const leader: Message[] = [];
    c.onReady = (n, rd) => {
      for (const m of rd.earlyMessages) (n.core.role === 'leader' ? leader : follower).push(m);
    };
    c.stabilize();
    c.campaign('n2', true);
    c.stabilize();
    expect(c.core('n2').role).to.equal('leader');
    expect(follower.map((m) => m.type).filter((t) => t !== 'MsgApp' && t !== 'MsgHeartbeat' && t !== 'MsgSnap')).to.deep.equal([]);
    expect(leader.length).to.be.greaterThan(0);
  });

  it('takeCommitted hands out entries committed while a later Ready is being persisted, bounded and only once', () => {
    const c = new Cluster(ids3);
    c.elect('n1');
    const lead = c.core('n1');
    const i1 = lead.propose(enc('p1'))!.index;
    const rd1 = lead.ready();
    persistAndAdvance(c, 'n1', rd1);
    const acks: Message[] = [];
    for (const to of ['n2', 'n3']) acks.push(...deliverAndReady(c, appsTo(rd1.earlyMessages, to, i1)[0]!));
    const i2 = lead.propose(enc('p2'))!.index;
    const rd2 = lead.ready(); // being persisted: the driver keeps stepping meanwhile
    for (const a of acks) c.deliver(a);
    expect(lead.log.committed).to.equal(i1);
    expect(lead.takeCommitted(i1 - 1)).to.deep.equal([]);
    expect(lead.takeCommitted(i2).map((e) => dec(e.data))).to.deep.equal(['p1']);
    expect(lead.log.applied).to.equal(i1);
    expect(lead.takeCommitted(i2)).to.deep.equal([]);
    persistAndAdvance(c, 'n1', rd2);
    c.stabilize();
    const applied = c.node('n1').sm as unknown as { items: string[] };
    // The harness applies only what Readies hand out: p1 went through takeCommitted instead.
    expect(applied.items).to.deep.equal(['p2']);
    expect(lead.log.applied).to.equal(i2);
  });

  it('a leader that crashes after sending but before its fsync loses only uncommitted entries', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const c = new Cluster(ids3, { seed });
      c.elect('n1');
      c.propose('n1', 'acked');
      c.stabilize();
      const acked = c.core('n1').log.committed;
      const idx = c.core('n1').propose(enc('lost'))!.index;
      const rd = c.core('n1').ready();
      // Only n2 gets the AppendEntries and acknowledges it; n1 crashes before persisting.
      for (const m of deliverAndReady(c, appsTo(rd.earlyMessages, 'n2', idx)[0]!)) c.deliver(m);
      // What n1 would apply and answer clients with, were it committed.
      const ackedData = ['acked'];
      if (c.core('n1').log.committed >= idx) ackedData.push('lost');
      c.crash('n1');
      expect(c.core('n2').log.committed, `seed ${seed}`).to.be.lessThan(idx);
      c.restart('n1');
      expect(c.node('n1').core.log.lastIndex(), `seed ${seed}: the unpersisted tail is gone`).to.equal(idx - 1);
      // Anyone may win now; whatever happens, the acknowledged entry stays everywhere.
      const winner = (['n1', 'n2', 'n3'] as const)[seed % 3]!;
      c.elect(winner);
      c.propose(winner, 'after');
      c.stabilize();
      for (const id of ids3) {
        const log = c.core(id).log;
        const got = log.slice(log.firstIndex(), log.committed + 1).filter((e) => e.type === EntryType.Normal).map((e) => dec(e.data));
        for (const a of ackedData) expect(got, `seed ${seed} ${id}: acknowledged entry lost`).to.include(a);
        expect(got, `seed ${seed} ${id}`).to.include('after');
        expect(c.core(id).log.committed, `seed ${seed} ${id}`).to.be.at.least(acked);
      }
    }
  });
});

describe('raft commit broadcast', () => {
  it('a new commit index rides with the entries proposed meanwhile, and no follower gets an empty append that repeats a commit it has', () => {
    const c = new Cluster(ids3);
    c.elect('n1');
    const lead = c.core('n1');
    const i1 = lead.propose(enc('a'))!.index;
    const rd1 = lead.ready();
    // Both followers persist and acknowledge while the leader's own write is in flight.
    const acks: Message[] = [];
    for (const to of ['n2', 'n3']) acks.push(...deliverAndReady(c, appsTo(rd1.earlyMessages, to, i1)[0]!));
    for (const a of acks) c.deliver(a);
    expect(lead.log.committed, 'two followers are a quorum').to.equal(i1);
    // A proposal arrives before the next Ready: one AppendEntries per follower carries both
    // the new entry and the new commit index.
    const i2 = lead.propose(enc('b'))!.index;
    persistAndAdvance(c, 'n1', rd1);
    const rd2 = lead.ready();
    for (const to of ['n2', 'n3']) {
      const apps = rd2.earlyMessages.filter((m) => m.type === 'MsgApp' && m.to === to);
      expect(apps, `to ${to}`).to.have.length(1);
      expect(apps[0]!.commit, `to ${to}`).to.equal(i1);
      expect(apps[0]!.entries!.map((e) => e.index), `to ${to}`).to.deep.equal([i2]);
    }
    persistAndAdvance(c, 'n1', rd2);
    // Only n2 acknowledges i2 (n3's copy is still on its way): the commit of i2 goes out at
    // the next broadcast, and a second broadcast before anything changes sends nothing.
    c.queue = [];
    for (const m of deliverAndReady(c, rd2.earlyMessages.find((m) => m.to === 'n2')!)) c.deliver(m);
    expect(lead.log.committed).to.equal(i2);
    const rd3 = lead.ready();
    const commits = rd3.earlyMessages.filter((m) => m.type === 'MsgApp');
    expect(commits.map((m) => [m.to, m.commit, (m.entries ?? []).length])).to.have.deep.members([['n2', i2, 0], ['n3', i2, 0]]);
    persistAndAdvance(c, 'n1', rd3);
    const i3 = lead.propose(enc('c'))!.index;
    const rd4 = lead.ready();
    expect(rd4.earlyMessages.filter((m) => m.type === 'MsgApp').map((m) => [m.to, m.commit, m.entries!.map((e) => e.index)])).to.have.deep.members([['n2', i2, [i3]], ['n3', i2, [i3]]]);
    persistAndAdvance(c, 'n1', rd4);
    expect(lead.hasReady(), 'no empty append repeats a commit the followers were sent').to.equal(false);
    // Everything sent so far reaches the followers, which then hold every commit.
    for (const m of [rd2.earlyMessages.find((m) => m.to === 'n3')!, ...rd3.earlyMessages, ...rd4.earlyMessages]) c.queue.push(m);
    c.stabilize();
    for (const id of ['n2', 'n3']) expect(c.core(id).log.committed, id).to.equal(i3);
  });
});
