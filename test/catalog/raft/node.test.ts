import { expect } from 'chai';
import { pack, unpack } from 'msgpackr';
import { ManualClock } from '../../../agent/runtime/clock.js';
import { SeededRng } from '../../../agent/runtime/rng.js';
import { RaftNode, type StateMachine } from '../../../catalog/raft/node.js';
import { MemoryStorage } from '../../../catalog/raft/memory-storage.js';
import type { Message } from '../../../catalog/raft/core/messages.js';
import { NotLeaderError } from '../../../catalog/raft/core/errors.js';
import { ConfChangeType, EntryType, type Entry, type RaftTransport } from '../../../catalog/raft/types.js';

/** In-process network; every message goes through a msgpack round trip (the wire format). */
class Hub {
  handlers = new Map<string, (m: Message) => void>();
  down = new Set<string>();
  /** Called on every send, before delivery (for ordering assertions). */
  onSend: ((m: Message) => void) | undefined;
  transport(id: string): RaftTransport<Message> {
    return {
      send: (m) => {
        this.onSend?.(m);
        const wire = pack(m);
        setImmediate(() => {
          if (this.down.has(m.from) || this.down.has(m.to)) return;
          this.handlers.get(m.to)?.(unpack(wire) as Message);
        });
      },
      setPeer: () => undefined,
      removePeer: () => undefined,
      onMessage: (h) => {
        this.handlers.set(id, h);
      },
      close: async () => undefined,
    };
  }
}

class Counter implements StateMachine {
  values: string[] = [];
  apply(e: Entry): unknown {
    this.values.push(new TextDecoder().decode(e.data));
    return this.values.length;
  }
  snapshot(): Uint8Array {
    return new TextEncoder().encode(JSON.stringify(this.values));
  }
  restore(data: Uint8Array): void {
    this.values = data.length ? (JSON.parse(new TextDecoder().decode(data)) as string[]) : [];
  }
}

/** MemoryStorage whose save() can be held (a slow fsync) while the driver keeps running. */
class GatedStorage extends MemoryStorage {
  hold: ((entries: Entry[]) => boolean) | undefined;
  held = 0;
  private waiters: (() => void)[] = [];
  release(): void {
    this.hold = undefined;
    for (const w of this.waiters.splice(0)) w();
  }
  override async save(hardState: Parameters<MemoryStorage['save']>[0], entries: Entry[]): Promise<void> {
    if (this.hold?.(entries)) {
      this.held++;
      await new Promise<void>((r) => this.waiters.push(r));
    }
    return super.save(hardState, entries);
  }
}

interface Server {
  node: RaftNode;
  storage: MemoryStorage;
  sm: Counter;
}

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('raft node (driver)', function () {
  this.timeout(20_000);
  let clock: ManualClock;
  let hub: Hub;
  let servers: Map<string, Server>;

  function make(id: string, storage = new MemoryStorage(), opts: { snapshotThreshold?: number } = {}): Server {
    const sm = new Counter();
    const node = new RaftNode({
      id,
      storage,
      transport: hub.transport(id),
      stateMachine: sm,
      clock,
      rng: new SeededRng(id.charCodeAt(1)),
      tickMs: 100,
      snapshotThreshold: opts.snapshotThreshold ?? 1000,
      trailingLogs: 2,
    });
    const s = { node, storage, sm };
    servers.set(id, s);
    return s;
  }

  /** Advances time tick by tick, letting async work settle after each. */
  async function advance(ms: number): Promise<void> {
    for (let t = 0; t < ms; t += 100) {
      clock.advance(100);
      for (let i = 0; i < 6; i++) await flush();
    }
  }

  async function until(cond: () => boolean, maxMs = 10_000): Promise<void> {
    for (let t = 0; t < maxMs && !cond(); t += 100) await advance(100);
    expect(cond(), 'condition not reached in time').to.equal(true);
  }

  const leaderOf = (): Server | undefined => [...servers.values()].find((s) => s.node.isLeader);

  async function cluster(ids: string[], opts: { snapshotThreshold?: number } = {}): Promise<void> {
    for (const id of ids) {
      const s = make(id, new MemoryStorage(), opts);
      await s.node.start();
      expect(await s.node.bootstrap({ voters: ids, learners: [] })).to.equal(true);
    }
    await until(() => leaderOf() !== undefined);
  }

  beforeEach(() => {
    clock = new ManualClock(0);
    hub = new Hub();
    servers = new Map();
  });

  afterEach(async () => {
    for (const s of servers.values()) await s.node.stop();
  });

  it('elects a leader within 2 s of simulated time and reports it through change events', async () => {
    const changes: string[] = [];
    for (const id of ['n1', 'n2', 'n3']) {
      const s = make(id);
      s.node.on('change', (c: { leader: string; role: string; term: number }) => changes.push(`${id}:${c.role}:${c.leader}`));
      await s.node.start();
      await s.node.bootstrap({ voters: ['n1', 'n2', 'n3'], learners: [] });
    }
    await until(() => leaderOf() !== undefined, 2000);
    const lead = leaderOf() as Server;
    expect(changes).to.include(`${lead.node.id}:leader:${lead.node.id}`);
    await until(() => [...servers.values()].every((s) => s.node.leader === lead.node.id));
  });

  it('propose resolves with the index and the state machine result once applied; followers refuse', async () => {
    await cluster(['n1', 'n2', 'n3']);
    const lead = leaderOf() as Server;
    const p = lead.node.propose(enc('a'));
    await until(() => lead.sm.values.length === 1);
    const r = await p;
    expect(r.result).to.equal(1);
    expect(r.index).to.equal(3);
    const follower = [...servers.values()].find((s) => !s.node.isLeader) as Server;
    try {
      await follower.node.propose(enc('b'));
      expect.fail('follower accepted a proposal');
    } catch (e) {
      expect(e).to.be.instanceOf(NotLeaderError);
      expect((e as NotLeaderError).leader).to.equal(lead.node.id);
    }
    await until(() => [...servers.values()].every((s) => s.sm.values.join() === 'a'));
  });

  it('persists votes and acknowledged entries before sending the messages that reveal them; a leader replicates before its own fsync', async () => {
    let violations = 0;
    let appBeforeOwnPersist = 0;
    hub.onSend = (m) => {
      const st = servers.get(m.from)?.storage;
      if (!st) return;
      const last = m.entries?.[m.entries.length - 1];
      if (m.type === 'MsgApp' && st.hardStateSync().term < m.term) violations++;
      if (m.type === 'MsgApp' && last && st.lastIndex() < last.index) appBeforeOwnPersist++;
      if (m.type === 'MsgVoteResp' && !m.reject && st.hardStateSync().vote !== m.to) violations++;
      if (m.type === 'MsgAppResp' && !m.reject && st.lastIndex() < m.index) violations++;
    };
    await cluster(['n1', 'n2', 'n3']);
    const lead = leaderOf() as Server;
    await Promise.all([lead.node.propose(enc('x')), lead.node.propose(enc('y')), advance(1000)]);
    expect(violations).to.equal(0);
    expect(appBeforeOwnPersist, 'AppendEntries sent in parallel with the leader fsync').to.be.greaterThan(0);
  });

  it('sequential proposals cost one durable write each per server: a commit-only hard state change is not written on its own', async () => {
    await cluster(['n1', 'n2', 'n3']);
    const lead = leaderOf() as Server;
    await Promise.all([lead.node.propose(enc('warm')), advance(300)]);
    await until(() => [...servers.values()].every((s) => s.sm.values.length === 1));
    const before = new Map([...servers].map(([id, s]) => [id, s.storage.writes]));
    const n = 10;
    for (let i = 0; i < n; i++) await lead.node.propose(enc(`s${i}`));
    for (let i = 0; i < 20; i++) await flush();
    for (const [id, s] of servers) {
      const writes = s.storage.writes - (before.get(id) ?? 0);
      expect(writes, `${id}: durable writes for ${n} sequential proposals`).to.be.within(n, n + 1);
    }
    // What was skipped is only the commit index: a full restart recovers every entry.
    const stores = new Map([...servers].map(([id, s]) => [id, s.storage]));
    for (const s of servers.values()) await s.node.stop();
    servers = new Map();
    hub = new Hub();
    for (const [id, st] of stores) await make(id, st).node.start();
    await until(() => [...servers.values()].every((s) => s.sm.values.length === n + 1));
  });

  const holds = (st: MemoryStorage, value: string): boolean => st.loadSync().entries.some((e) => new TextDecoder().decode(e.data) === value);

  /** A 3-voter cluster led by n1, whose storage can hold a write; returns n1's server and its storage. */
  async function gatedLeader(): Promise<{ lead: Server; gated: GatedStorage }> {
    hub = new Hub();
    const gated = new GatedStorage();
    for (const id of ['n1', 'n2', 'n3']) {
      const st = id === 'n1' ? gated : new MemoryStorage();
      const s = make(id, st);
      await s.node.start();
      await s.node.bootstrap({ voters: ['n1', 'n2', 'n3'], learners: [] });
    }
    await until(() => servers.get('n1')!.node.isLeader || leaderOf() !== undefined);
    if (!servers.get('n1')!.node.isLeader) {
      await servers.get('n1')!.node.campaign(true);
      await until(() => servers.get('n1')!.node.isLeader);
    }
    const lead = servers.get('n1')!;
    await Promise.all([lead.node.propose(enc('warm')), advance(300)]);
    return { lead, gated };
  }

  it('while the leader writes one batch, an earlier batch acknowledged by a quorum is applied and answered', async () => {
    const { lead, gated } = await gatedLeader();
    let aDone = false;
    const last = gated.lastIndex();
    const a = lead.node.propose(enc('A')).then((r) => ((aDone = true), r));
    // Microtasks only: A's batch gets written, but no acknowledgement (setImmediate) arrives yet.
    for (let i = 0; i < 1000 && gated.lastIndex() === last; i++) await Promise.resolve();
    for (let i = 0; i < 20; i++) await Promise.resolve();
    expect(gated.lastIndex(), 'A written').to.equal(last + 1);
    expect(aDone).to.equal(false);
    // B's write is held, as if its fsync were slow; A's acknowledgements arrive meanwhile.
    gated.hold = (es) => es.some((e) => new TextDecoder().decode(e.data) === 'B');
    const b = lead.node.propose(enc('B'));
    for (let i = 0; i < 50 && !aDone; i++) await flush();
    const [held, answered, values] = [gated.held, aDone, [...lead.sm.values]];
    gated.release();
    expect(held, 'B write held').to.equal(1);
    expect(answered, 'A answered while B is being written').to.equal(true);
    expect(values).to.include('A');
    const rb = await b;
    expect((await a).index).to.be.lessThan(rb.index);
  });

  it('a batch both followers acknowledged is applied and answered while the leader\'s own write of it is still held', async () => {
    const { lead, gated } = await gatedLeader();
    gated.hold = (es) => es.some((e) => new TextDecoder().decode(e.data) === 'C');
    let cDone = false;
    const c = lead.node.propose(enc('C')).then((r) => ((cDone = true), r));
    for (let i = 0; i < 50 && !cDone; i++) await flush();
    expect(gated.held, 'C write held').to.equal(1);
    expect(holds(gated, 'C'), 'not on the leader disk').to.equal(false);
    expect(cDone, 'answered on the two followers\' copies').to.equal(true);
    expect(lead.sm.values).to.include('C');
    for (const id of ['n2', 'n3']) expect(holds(servers.get(id)!.storage, 'C'), id).to.equal(true);
    gated.release();
    await c;
    await until(() => holds(gated, 'C'));
  });

  it('with one follower cut off, a batch whose leader write is held waits for that write: one follower is no quorum', async () => {
    const { lead, gated } = await gatedLeader();
    hub.down.add('n3');
    gated.hold = (es) => es.some((e) => new TextDecoder().decode(e.data) === 'D');
    let dDone = false;
    const d = lead.node.propose(enc('D')).then((r) => ((dDone = true), r));
    for (let i = 0; i < 50; i++) await flush();
    expect(gated.held, 'D write held').to.equal(1);
    expect(holds(servers.get('n2')!.storage, 'D'), 'n2 has it').to.equal(true);
    expect(dDone, 'not answered on n2 alone').to.equal(false);
    expect(lead.sm.values).to.not.include('D');
    gated.release();
    await d;
    expect(lead.sm.values).to.include('D');
  });

  it('a follower acknowledges a new batch as soon as it is written, while an earlier entry is still being applied', async () => {
    hub = new Hub();
    const f = make('f');
    await f.node.start();
    await f.node.bootstrap({ voters: ['l', 'f'], learners: [] });
    const base = f.storage.lastIndex();
    const persistedState = f.storage.loadSync();
    const baseTerm = persistedState.entries.at(-1)?.term ?? persistedState.snapshot?.meta.term ?? 0;
    const sent: Message[] = [];
    hub.onSend = (m) => void sent.push(m);
    // The state machine holds the apply of 'slow' until released.
    let release: () => void = () => undefined;
    const inner = f.sm.apply.bind(f.sm);
    f.sm.apply = (e: Entry) => {
      if (new TextDecoder().decode(e.data) !== 'slow') return inner(e);
      return new Promise((r) => (release = () => r(inner(e))));
    };
    const deliver = hub.handlers.get('f')!;
    const entry = (index: number, data: string): Entry => ({ term: baseTerm + 1, index, type: EntryType.Normal, data: enc(data) });
    const app = (prevIndex: number, prevTerm: number, e: Entry, commit: number): Message => ({
      type: 'MsgApp', from: 'l', to: 'f', term: baseTerm + 1, logTerm: prevTerm, index: prevIndex, commit, entries: [e],
    });
    const acked = (index: number): boolean => sent.some((m) => m.type === 'MsgAppResp' && !m.reject && m.index === index);
    deliver(app(base, baseTerm, entry(base + 1, 'slow'), base));
    for (let i = 0; i < 20 && !acked(base + 1); i++) await flush();
    expect(acked(base + 1), 'slow acknowledged').to.equal(true);
    // 'next' arrives with the commit of 'slow': the same Ready writes 'next' and applies 'slow'.
    deliver(app(base + 1, baseTerm + 1, entry(base + 2, 'next'), base + 1));
    for (let i = 0; i < 20 && !acked(base + 2); i++) await flush();
    const ackedWhileApplying = acked(base + 2);
    const appliedBefore = [...f.sm.values];
    release();
    await flush();
    expect(appliedBefore, 'slow still being applied').to.not.include('slow');
    expect(ackedWhileApplying, 'next acknowledged while slow was being applied').to.equal(true);
    expect(f.storage.lastIndex()).to.equal(base + 2);
    await f.node.stop();
  });

  // MemoryStorage takes a batch when save() is called, so this checks that nothing is applied
  // before its write to this server was issued (committed entries may be applied while it runs).
  it('never applies an entry before this server issued its write (single server and three servers, batches in flight)', async () => {
    for (const ids of [['n1'], ['n1', 'n2', 'n3']]) {
      for (const s of servers.values()) await s.node.stop();
      servers = new Map();
      hub = new Hub();
      await cluster(ids);
      let violations = 0;
      let applied = 0;
      for (const s of servers.values()) {
        const inner = s.sm.apply.bind(s.sm);
        s.sm.apply = (e: Entry) => {
          if (s.storage.lastIndex() < e.index) violations++;
          applied++;
          return inner(e);
        };
      }
      const lead = leaderOf() as Server;
      const waves: Promise<unknown>[] = [];
      for (let w = 0; w < 5; w++) {
        for (let i = 0; i < 10; i++) waves.push(lead.node.propose(enc(`${w}-${i}`)));
        await flush();
      }
      await Promise.all([...waves, advance(1000)]);
      expect(violations, `cluster ${ids.join(',')}`).to.equal(0);
      expect(applied, `cluster ${ids.join(',')}`).to.be.at.least(50);
    }
  });

  it('readIndex resolves only after the local state machine caught up', async () => {
    await cluster(['n1', 'n2', 'n3']);
    const lead = leaderOf() as Server;
    const w = lead.node.propose(enc('w1'));
    await advance(300);
    await w;
    const follower = [...servers.values()].find((s) => !s.node.isLeader) as Server;
    const pr = follower.node.readIndex();
    await advance(500);
    const idx = await pr;
    expect(idx).to.be.at.least(3);
    expect(follower.node.appliedIndex).to.be.at.least(idx);
    expect(follower.sm.values).to.include('w1');
  });

  it('elects a new leader after the leader stops, and keeps committing', async () => {
    await cluster(['n1', 'n2', 'n3']);
    const old = leaderOf() as Server;
    hub.down.add(old.node.id);
    await old.node.stop();
    servers.delete(old.node.id);
    await until(() => leaderOf() !== undefined, 5000);
    const lead = leaderOf() as Server;
    expect(lead.node.id).to.not.equal(old.node.id);
    const p = lead.node.propose(enc('after'));
    await advance(500);
    expect((await p).result).to.equal(1);
  });

  it('restarts from storage: state machine rebuilt from snapshot + log, and never bootstraps twice', async () => {
    await cluster(['n1', 'n2', 'n3'], { snapshotThreshold: 4 });
    const lead = leaderOf() as Server;
    for (let i = 0; i < 10; i++) {
      const p = lead.node.propose(enc(`v${i}`));
      await advance(100);
      await p;
    }
    const victim = [...servers.values()].find((s) => !s.node.isLeader) as Server;
    await until(() => victim.sm.values.length === 10);
    expect(victim.storage.loadSync().snapshot?.meta.index).to.be.greaterThan(1);
    await victim.node.stop();
    const again = make(victim.node.id, victim.storage);
    await again.node.start();
    expect(await again.node.bootstrap({ voters: ['n1', 'n2', 'n3'], learners: [] })).to.equal(false);
    await advance(300);
    expect(again.sm.values).to.deep.equal(['v0', 'v1', 'v2', 'v3', 'v4', 'v5', 'v6', 'v7', 'v8', 'v9']);
  });

  it('adds a learner, promotes it once caught up, and transfers leadership to it', async () => {
    await cluster(['n1', 'n2', 'n3']);
    const lead = leaderOf() as Server;
    const confEvents: string[] = [];
    lead.node.on('change', (c: { conf: { voters: string[] } }) => confEvents.push(c.conf.voters.join(',')));
    await Promise.all([lead.node.propose(enc('a')), advance(300)]);
    const n4 = make('n4');
    await n4.node.start();
    await Promise.all([lead.node.proposeConfChange({ type: ConfChangeType.AddLearner, nodeId: 'n4', address: '127.0.0.1:1' }), advance(300)]);
    await until(() => lead.node.isCaughtUp('n4'));
    expect(n4.sm.values).to.deep.equal(['a']);
    await Promise.all([lead.node.proposeConfChange({ type: ConfChangeType.PromoteVoter, nodeId: 'n4' }), advance(300)]);
    expect(lead.node.conf.voters).to.deep.equal(['n1', 'n2', 'n3', 'n4']);
    await until(() => n4.node.conf.voters.includes('n4'));
    expect(confEvents.some((v) => v === 'n1,n2,n3,n4')).to.equal(true);
    await lead.node.transferLeader('n4');
    await until(() => n4.node.isLeader);
    expect(n4.node.term).to.be.greaterThan(lead.node.term - 1);
  });
  it('a learner joining after compaction catches up from a snapshot and reports it with snapshot-restored', async () => {
    await cluster(['n1', 'n2', 'n3'], { snapshotThreshold: 4 });
    const lead = leaderOf() as Server;
    for (let i = 0; i < 12; i++) await Promise.all([lead.node.propose(enc(`v${i}`)), advance(100)]);
    expect(lead.storage.loadSync().snapshot?.meta.index).to.be.greaterThan(4);
    const n4 = make('n4', new MemoryStorage(), { snapshotThreshold: 4 });
    const restored: Array<{ index: number; term: number }> = [];
    n4.node.on('snapshot-restored', (x: { index: number; term: number }) => restored.push(x));
    await n4.node.start();
    await Promise.all([lead.node.proposeConfChange({ type: ConfChangeType.AddLearner, nodeId: 'n4', address: '127.0.0.1:1' }), advance(300)]);
    await until(() => n4.sm.values.length === 12);
    expect(restored).to.have.length.greaterThan(0);
    expect(restored[0]!.index).to.be.greaterThan(4);
    expect(restored[0]!.term).to.equal(lead.node.term);
    expect(n4.sm.values).to.deep.equal(Array.from({ length: 12 }, (_, i) => `v${i}`));
  });
});
