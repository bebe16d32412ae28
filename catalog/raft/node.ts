import { EventEmitter } from 'node:events';
import type { Clock, Rng, TimerHandle } from '../runtime.js';
import {
  ConfChangeType,
  EntryType,
  emptyHardState,
  type ConfChange,
  type ConfState,
  type Entry,
  type HardState,
  type RaftStorage,
  type RaftTransport,
} from './types.js';
import { RaftCore, type RaftCoreConfig, type Ready, type Role, type Status } from './core/raft.js';
import type { Message } from './core/messages.js';
import { bootstrapHardState, bootstrapSnapshot } from './core/bootstrap.js';
import { decodeConfChange } from './core/confchange.js';
import { NotLeaderError, ProposalDroppedError, RaftError } from './core/errors.js';
import { writeTracer, type ReadyTrace } from './trace.js';

/**
 * The replicated state machine. `apply` is called once per committed Normal entry, in
 * index order, never concurrently; what it returns (or resolves to) is handed to the
 * proposer. It should report bad commands in its return value: a throw is fatal to the
 * node. `snapshot` serializes the state as of the last applied entry; `restore` replaces
 * the whole state (zero-length data means the empty initial state).
 */
export interface StateMachine {
  apply(entry: Entry): unknown | Promise<unknown>;
  snapshot(): Uint8Array | Promise<Uint8Array>;
  restore(data: Uint8Array): void | Promise<void>;
}

export interface RaftNodeOptions {
  id: string;
  storage: RaftStorage;
  transport: RaftTransport<Message>;
  stateMachine: StateMachine;
  /** Ticks and proposal/read deadlines. */
  clock: Clock;
  /** Randomness for election timeouts. */
  rng: Rng;
  /** Milliseconds per core tick. Default 100 (so election timeouts are 1–2 s with the defaults). */
  tickMs?: number;
  /** Core tuning (election/heartbeat ticks, pre-vote, check-quorum, batching limits). */
  core?: Omit<RaftCoreConfig, 'id' | 'rng' | 'initial'>;
  /** Take a snapshot once this many entries were applied since the last one. Default 8192. */
  snapshotThreshold?: number;
  /** Entries kept in memory behind a snapshot for slow followers. Default 10240. */
  trailingLogs?: number;
  /** A ReadIndex request not answered within this many ticks fails. Default 2 election timeouts. */
  readTimeoutTicks?: number;
  /** A proposal not applied within this many ticks fails (outcome unknown). Default 100 (10 s). */
  proposalTimeoutTicks?: number;
}

/** Emitted as 'change' whenever leader, role, term or membership (as applied) changes. */
export interface RaftNodeChange {
  leader: string;
  role: Role;
  term: number;
  conf: ConfState;
}

export interface ProposeResult {
  index: number;
  /** What {@link StateMachine.apply} returned for the entry (undefined for conf changes). */
  result: unknown;
}

interface PendingProposal {
  term: number;
  deadline: number;
  resolve: (r: ProposeResult) => void;
  reject: (e: Error) => void;
}

interface PendingRead {
  index: number | undefined;
  deadline: number;
  resolve: (index: number) => void;
  reject: (e: Error) => void;
}

/**
 * Drives a {@link RaftCore}: turns clock time into ticks, feeds it transport messages
 * and client requests, and processes each Ready in this order — send the early messages
 * (a leader's AppendEntries, so followers write in parallel with this server), then persist
 * (snapshot, then entries + hard state in one durable batch); while that write is in flight,
 * apply the Ready's committed entries and keep stepping queued events, applying what they
 * commit up to the Ready's last entry; then send the other messages, restore the snapshot
 * (a Ready with a snapshot applies only after it) and apply the remaining committed entries,
 * `advance()` (which tells the core the entries are durable). All core access is
 * serialized through one loop; storage calls are never concurrent. An entry is applied once
 * it is committed (durable on a majority of voters), possibly before this server's own
 * write of it completes, but never before that write was issued; snapshots are taken only
 * between Readies, so they never cover an entry this server has not written.
 *
 * Events: 'change' ({@link RaftNodeChange}: leader, role, term or membership changed), 'snapshot-restored'
 * ({ index, term }: the state machine was replaced by a leader's snapshot), 'error' (fatal storage or state machine failure;
 * the node stops).
 */
export class RaftNode extends EventEmitter {
  readonly id: string;
  private readonly storage: RaftStorage;
  private readonly transport: RaftTransport<Message>;
  private readonly sm: StateMachine;
  private readonly clock: Clock;
  private readonly rng: Rng;
  private readonly tickMs: number;
  private readonly coreOpts: Omit<RaftCoreConfig, 'id' | 'rng' | 'initial'>;
  private readonly snapshotThreshold: number;
  private readonly trailingLogs: number;
  private readonly readTimeoutTicks: number;
  private readonly proposalTimeoutTicks: number;

  private core: RaftCore | undefined;
  private timer: TimerHandle | undefined;
  private inbox: (() => void)[] = [];
  /** Wakes the loop while it waits for a write with nothing queued. */
  private wake: (() => void) | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private ticks = 0;
  private applied = 0;
  /** Last log index this server has durably saved (0 until the first save). */
  private persistedLast = 0;
  /** The hard state last written to storage. */
  private savedHard: HardState = emptyHardState();
  /** A newer hard state that differs from {@link savedHard} only in `commit`; written with the next batch. */
  private unsavedHard: HardState | undefined;
  private lastSnapshotIndex = 0;
  private readSeq = 0;
  private readonly proposals = new Map<number, PendingProposal>();
  private readonly reads = new Map<string, PendingRead>();
  private last: RaftNodeChange = { leader: '', role: 'follower', term: 0, conf: { voters: [], learners: [] } };

  constructor(o: RaftNodeOptions) {
    super();
    this.id = o.id;
    this.storage = o.storage;
    this.transport = o.transport;
    this.sm = o.stateMachine;
    this.clock = o.clock;
    this.rng = o.rng;
    this.tickMs = o.tickMs ?? 100;
    this.coreOpts = o.core ?? {};
    this.snapshotThreshold = o.snapshotThreshold ?? 8192;
    this.trailingLogs = o.trailingLogs ?? 10240;
    this.readTimeoutTicks = o.readTimeoutTicks ?? 2 * 2 * (this.coreOpts.electionTicks ?? 10);
    this.proposalTimeoutTicks = o.proposalTimeoutTicks ?? 100;
  }

  // ------------------------------------------------------------ lifecycle

  /** Loads storage, restores the state machine from the latest snapshot, starts ticking. */
  async start(): Promise<void> {
    if (this.core) throw new RaftError('node already started');
    await this.load();
    this.transport.onMessage((m) => this.onMessage(m));
    this.timer = this.clock.setInterval(() => this.enqueue(() => this.tick()), this.tickMs);
    this.kick();
  }

  private async load(): Promise<void> {
    const initial = await this.storage.load();
    this.core = new RaftCore({ ...this.coreOpts, id: this.id, rng: this.rng, initial });
    this.savedHard = { ...initial.hardState };
    this.unsavedHard = undefined;
    this.persistedLast = initial.entries[initial.entries.length - 1]?.index ?? initial.snapshot?.meta.index ?? 0;
    if (initial.snapshot) {
      await this.sm.restore(initial.snapshot.data);
      this.applied = initial.snapshot.meta.index;
      this.lastSnapshotIndex = initial.snapshot.meta.index;
    }
    this.notifyChange();
  }

  /**
   * Creates the initial cluster state (`conf`) in empty storage. Returns false, changing
   * nothing, when this server already has Raft state (it never bootstraps twice). Call it
   * after {@link start}, on every server of the initial configuration, with the same `conf`.
   */
  async bootstrap(conf: ConfState): Promise<boolean> {
    if (!this.core) throw new RaftError('bootstrap before start');
    if (conf.voters.length === 0) throw new RaftError('bootstrap needs at least one voter');
    return this.exclusive(async () => {
      const core = this.core as RaftCore;
      const st = await this.storage.load();
      if (st.hardState.term !== 0 || st.snapshot || st.entries.length > 0 || core.term !== 0 || core.log.lastIndex() !== 0) return false;
      await this.storage.saveSnapshot(bootstrapSnapshot(conf));
      await this.storage.save(bootstrapHardState(), []);
      await this.load();
      return true;
    });
  }

  /** Stops ticking and processing; fails pending requests. Storage and transport stay open (their owner closes them). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.clock.clearInterval(this.timer);
    this.inbox = [];
    await this.running;
    const err = new RaftError('node stopped');
    for (const p of this.proposals.values()) p.reject(err);
    this.proposals.clear();
    for (const r of this.reads.values()) r.reject(err);
    this.reads.clear();
  }

  // ------------------------------------------------------------ getters

  get leader(): string {
    return this.core?.leader ?? '';
  }
  get role(): Role {
    return this.core?.role ?? 'follower';
  }
  get term(): number {
    return this.core?.term ?? 0;
  }
  get isLeader(): boolean {
    return this.core?.role === 'leader';
  }
  /** Membership as of the applied index. */
  get conf(): ConfState {
    return this.core?.confState ?? { voters: [], learners: [] };
  }
  get appliedIndex(): number {
    return this.applied;
  }
  status(): Status | undefined {
    return this.core?.status();
  }

  /**
   * True if `id` (on the leader) has replicated everything up to the commit index, within
   * `slack` entries; use it to decide when a learner may be promoted.
   */
  isCaughtUp(id: string, slack = 0): boolean {
    const st = this.core?.status();
    const pr = st?.progress?.[id];
    return !!st && !!pr && pr.match + slack >= st.commit;
  }

  // ------------------------------------------------------------ requests

  /**
   * Proposes `data`; resolves once the entry is applied here, with the state machine's
   * result. Rejects with NotLeaderError (carrying the leader id) off the leader, and with
   * ProposalDroppedError if the entry is overwritten or leadership is being transferred.
   */
  propose(data: Uint8Array): Promise<ProposeResult> {
    const trace = writeTracer.enabled ? writeTracer.current : undefined;
    if (trace) (trace.propose = writeTracer.now()), (writeTracer.current = undefined);
    return this.request((core, resolve, reject) => {
      if (core.role !== 'leader') throw new NotLeaderError(core.leader);
      const r = core.propose(data);
      if (!r) throw new NotLeaderError(core.leader);
      if (trace) writeTracer.stepped(trace, r.index);
      this.proposals.set(r.index, { term: r.term, deadline: this.ticks + this.proposalTimeoutTicks, resolve, reject });
    });
  }

  /** Proposes a membership change (leader only); resolves once it is applied here. */
  proposeConfChange(cc: ConfChange): Promise<ProposeResult> {
    return this.request((core, resolve, reject) => {
      const r = core.proposeConfChange(cc);
      this.proposals.set(r.index, { term: r.term, deadline: this.ticks + this.proposalTimeoutTicks, resolve, reject });
    });
  }

  /**
   * Linearizable read barrier: resolves with a read index once this server's state
   * machine has applied at least that far, so a local read then sees every write
   * acknowledged before the call. Rejects on timeout or without a leader.
   */
  readIndex(): Promise<number> {
    return this.request<number>((core, resolve, reject) => {
      const ctx = `${this.id}/${++this.readSeq}`;
      core.readIndex(ctx);
      this.reads.set(ctx, { index: undefined, deadline: this.ticks + this.readTimeoutTicks, resolve, reject });
    });
  }

  /** Asks the leader (this node) to hand leadership to voter `to`. */
  transferLeader(to: string): Promise<void> {
    return this.request<void>((core, resolve) => {
      core.transferLeader(to);
      resolve();
    });
  }

  /** Starts an election now (pre-vote unless `force`). */
  campaign(force = false): Promise<void> {
    return this.request<void>((core, resolve) => {
      core.campaign(force);
      resolve();
    });
  }

  private request<T>(fn: (core: RaftCore, resolve: (v: T) => void, reject: (e: Error) => void) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.stopped || !this.core) {
        reject(new RaftError('node not running'));
        return;
      }
      this.enqueue(() => {
        try {
          fn(this.core as RaftCore, resolve, reject);
        } catch (e) {
          reject(e as Error);
        }
      });
    });
  }

  // ------------------------------------------------------------ loop

  private onMessage(m: Message): void {
    if (m.to !== this.id) return;
    if (writeTracer.enabled && m.type === 'MsgAppResp' && !m.reject) writeTracer.acked(m.index);
    this.enqueue(() => {
      const core = this.core as RaftCore;
      core.step(m);
    });
  }

  private tick(): void {
    this.ticks++;
    (this.core as RaftCore).tick();
    for (const [ctx, r] of this.reads) {
      if (r.index === undefined && this.ticks > r.deadline) {
        this.reads.delete(ctx);
        r.reject(new RaftError('read index timed out'));
      }
    }
    for (const [index, p] of this.proposals) {
      if (this.ticks > p.deadline) {
        this.proposals.delete(index);
        p.reject(new RaftError('proposal timed out (outcome unknown)'));
      }
    }
  }

  private enqueue(fn: () => void): void {
    if (this.stopped) return;
    this.inbox.push(fn);
    this.wake?.();
    this.kick();
  }

  private kick(): void {
    if (this.running || this.stopped) return;
    this.running = this.drain().finally(() => {
      this.running = undefined;
      if (this.inbox.length > 0 && !this.stopped) this.kick();
    });
  }

  /** Runs `fn` with the loop idle (no Ready in flight). */
  private async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    while (this.running) await this.running;
    const p = fn();
    this.running = p.then(
      () => undefined,
      () => undefined,
    );
    try {
      return await p;
    } finally {
      this.running = undefined;
      this.kick();
    }
  }

  private async drain(): Promise<void> {
    try {
      for (let guard = 0; guard < 1_000_000 && !this.stopped; guard++) {
        const batch = this.inbox;
        this.inbox = [];
        for (const fn of batch) fn();
        const core = this.core as RaftCore;
        if (!core.hasReady()) {
          if (this.inbox.length === 0) return;
          continue;
        }
        const rd = core.ready();
        const rt = writeTracer.enabled ? writeTracer.readyTaken(rd.entries[0]?.index ?? 1, rd.entries[rd.entries.length - 1]?.index ?? 0, rd.committedEntries.length) : undefined;
        await this.handleReady(rd, rt);
        core.advance(rd);
        if (rt) writeTracer.readyDone(rt);
        this.notifyChange();
        await this.maybeSnapshot(core);
      }
    } catch (e) {
      this.stopped = true;
      this.clock.clearInterval(this.timer);
      this.emit('error', e);
    }
  }

  private async handleReady(rd: Ready, rt?: ReadyTrace): Promise<void> {
    // Committed entries are applied while this Ready's write is in flight. Committed means
    // stored durably on a majority of voters, so applying one (and answering its client) does
    // not wait for this server's own copy (etcd applies beside its WAL write the same way): a
    // leader whose own write is slow answers once both followers have acknowledged. Nothing
    // past this Ready's last entry (or what is already on disk) is applied before the write
    // completes, so a snapshot, taken only after the Ready, never covers entries this server
    // has not written. A Ready that carries a snapshot applies after restoring it, in order.
    const early = rd.snapshot ? 0 : rd.committedEntries.length;
    const bound = Math.max(this.persistedLast, rd.entries[rd.entries.length - 1]?.index ?? 0);
    for (const m of rd.earlyMessages) this.transport.send(m);
    // What must wait for the disk (a follower's acknowledgements, votes) leaves as soon as
    // the write is done, not after the applies running beside it: the leader's commit waits
    // on these acknowledgements.
    const persisting = this.persist(rd).then(() => {
      if (rt) writeTracer.persisted(rt, rd.entries[0]?.index ?? 1, rd.entries[rd.entries.length - 1]?.index ?? 0);
      for (const m of rd.messages) this.transport.send(m);
    });
    let persisted = false;
    const settled = persisting.then(
      () => void (persisted = true),
      () => void (persisted = true),
    );
    await this.overlap(
      persisting,
      (async () => {
        await this.applyCommitted(rd.committedEntries.slice(0, early));
        if (!rd.snapshot) await this.stepWhilePersisting(() => persisted, settled, bound);
      })(),
    );
    if (rd.entries.length > 0) this.persistedLast = rd.entries[rd.entries.length - 1]!.index;
    if (rd.snapshot) {
      await this.sm.restore(rd.snapshot.data);
      this.applied = rd.snapshot.meta.index;
      this.lastSnapshotIndex = rd.snapshot.meta.index;
      this.persistedLast = Math.max(this.persistedLast, rd.snapshot.meta.index);
      this.emit('snapshot-restored', { index: rd.snapshot.meta.index, term: rd.snapshot.meta.term });
      for (const [index, p] of this.proposals) {
        if (index > this.applied) continue;
        this.proposals.delete(index);
        p.reject(new ProposalDroppedError('outcome unknown (replaced by a snapshot)'));
      }
    }
    await this.applyCommitted(rd.committedEntries.slice(early));
    for (const rs of rd.readStates) {
      const r = this.reads.get(rs.context);
      if (r) r.index = rs.index;
    }
    for (const [ctx, r] of this.reads) {
      if (r.index !== undefined && r.index <= this.applied) {
        this.reads.delete(ctx);
        r.resolve(r.index);
      }
    }
  }

  /**
   * While a Ready is being written: feeds queued events (follower acknowledgements, client
   * requests, ticks) to the core and applies entries that became committed, up to `bound`
   * (the last entry on disk or in this Ready's write). A leader then answers a batch as soon
   * as a quorum acknowledged it: its own write and a follower's, or both followers' while its
   * own is still in flight. Everything else the core produces meanwhile waits for the next Ready.
   */
  private async stepWhilePersisting(done: () => boolean, settled: Promise<void>, bound: number): Promise<void> {
    const core = this.core as RaftCore;
    for (let guard = 0; guard < 1_000_000 && !this.stopped; guard++) {
      if (this.inbox.length === 0) {
        if (done()) return;
        await Promise.race([settled, new Promise<void>((r) => (this.wake = r))]);
        this.wake = undefined;
      }
      if (done()) return;
      const batch = this.inbox;
      this.inbox = [];
      for (const fn of batch) fn();
      const fresh = core.takeCommitted(bound).filter((e) => e.index > this.applied);
      await this.applyCommitted(fresh);
    }
  }

  /**
   * Writes the Ready's snapshot, entries and hard state. A hard state that changed only in
   * `commit` is not worth an fsync of its own (like etcd's MustSync): it is written with the
   * next batch that has entries, a term or a vote. Safe because a commit index read back
   * lower than it was is only a delay (the leader re-announces it), never a wrong answer.
   */
  private async persist(rd: Ready): Promise<void> {
    if (rd.snapshot) await this.storage.saveSnapshot(rd.snapshot);
    const hs = rd.hardState ?? this.unsavedHard;
    const termOrVote = !!hs && (hs.term !== this.savedHard.term || hs.vote !== this.savedHard.vote);
    if (rd.entries.length === 0 && !termOrVote) {
      if (hs && hs.commit !== this.savedHard.commit) this.unsavedHard = hs;
      return;
    }
    await this.storage.save(hs, rd.entries);
    if (hs) this.savedHard = hs;
    this.unsavedHard = undefined;
  }

  /**
   * Awaits both (the disk write runs in libuv's pool while the state machine applies on
   * this thread); the first failure wins, and the other one's is not left unhandled.
   */
  private async overlap(a: Promise<void>, b: Promise<void>): Promise<void> {
    const rs = await Promise.allSettled([a, b]);
    for (const r of rs) if (r.status === 'rejected') throw r.reason;
  }

  private async applyCommitted(entries: Entry[]): Promise<void> {
    for (const e of entries) {
      let result: unknown;
      if (e.type === EntryType.Normal) result = await this.sm.apply(e);
      else if (e.type === EntryType.ConfChange) this.onConfChange(e);
      this.applied = e.index;
      if (writeTracer.enabled) writeTracer.applied(e.index);
      const p = this.proposals.get(e.index);
      if (p) {
        this.proposals.delete(e.index);
        if (p.term === e.term) p.resolve({ index: e.index, result });
        else p.reject(new ProposalDroppedError('entry overwritten by a new leader'));
      }
    }
  }

  private onConfChange(e: Entry): void {
    const cc = decodeConfChange(e.data);
    if (cc.nodeId === this.id) return;
    if (cc.type === ConfChangeType.RemoveNode) this.transport.removePeer(cc.nodeId);
    else if (cc.address) this.transport.setPeer(cc.nodeId, cc.address);
  }

  private async maybeSnapshot(core: RaftCore): Promise<void> {
    if (this.applied - this.lastSnapshotIndex < this.snapshotThreshold) return;
    const t0 = writeTracer.enabled ? writeTracer.now() : 0;
    try {
      await this.takeSnapshot(core);
    } finally {
      if (writeTracer.enabled) writeTracer.snapshotTaken(writeTracer.now() - t0);
    }
  }

  private async takeSnapshot(core: RaftCore): Promise<void> {
    const data = await this.sm.snapshot();
    const snap = core.snapshotTaken(data, this.trailingLogs);
    await this.storage.saveSnapshot(snap);
    await this.storage.compact(snap.meta.index);
    this.lastSnapshotIndex = snap.meta.index;
  }

  private notifyChange(): void {
    const core = this.core;
    if (!core) return;
    const conf = core.confState;
    const last = this.last;
    // Called after every Ready: compare field by field, without building anything.
    if (core.leader === last.leader && core.role === last.role && core.term === last.term && sameIds(conf.voters, last.conf.voters) && sameIds(conf.learners, last.conf.learners)) return;
    const now: RaftNodeChange = { leader: core.leader, role: core.role, term: core.term, conf };
    const leadershipChanged = now.leader !== this.last.leader || now.role !== this.last.role || now.term !== this.last.term;
    this.last = now;
    if (leadershipChanged && now.role !== 'leader') {
      // Reads waiting for a leader's answer may never get one; fail them fast.
      for (const [ctx, r] of this.reads) {
        if (r.index !== undefined) continue;
        this.reads.delete(ctx);
        r.reject(new RaftError('read index aborted: leadership changed'));
      }
    }
    this.emit('change', now);
  }
}

function sameIds(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
