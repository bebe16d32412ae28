import type { Rng } from '../../runtime.js';
import {
  EntryType,
  type ConfChange,
  type ConfState,
  type Entry,
  type HardState,
  type PersistedState,
  type Snapshot,
} from '../types.js';
import { applyConfChange, decodeConfChange, encodeConfChange } from './confchange.js';
import { ConfChangeError, NoLeaderError, NotLeaderError, ProposalDroppedError, RaftError } from './errors.js';
import { RaftLog } from './log.js';
import { CAMPAIGN_TRANSFER, isLeaderMessage, voteResponseType, type Message, type MessageType } from './messages.js';
import { Progress } from './progress.js';
import { committedIndex, voteResult } from './quorum.js';

export type Role = 'follower' | 'precandidate' | 'candidate' | 'leader';

/** Volatile state worth reporting to the application when it changes. */
export interface SoftState {
  leader: string;
  role: Role;
}

/** A completed linearizable read: the state machine may serve `context` once `index` is applied. */
export interface ReadState {
  index: number;
  context: string;
}

/**
 * Work for the driver. Contract:
 * - `earlyMessages` may be sent at once, before or while this Ready is persisted;
 * - persist `snapshot`, then `entries` and `hardState` (one durable batch), BEFORE sending
 *   `messages` and before applying `committedEntries` (after restoring `snapshot`, if any);
 * - then call {@link RaftCore.advance} with this object; advance() is the driver's report
 *   that `entries` are durable (the leader counts its own entries toward the commit
 *   quorum only from then on).
 */
export interface Ready {
  softState?: SoftState;
  hardState?: HardState;
  entries: Entry[];
  snapshot?: Snapshot;
  committedEntries: Entry[];
  /**
   * Leader-to-follower replication (MsgApp, MsgSnap, MsgHeartbeat) of a term that is
   * already durable here. They acknowledge nothing of this Ready, so sending them in
   * parallel with the local fsync is safe (Raft thesis §10.2.1): the leader's own copy
   * counts toward commit only after advance().
   */
  earlyMessages: Message[];
  /** Everything else (acknowledgements, votes, ...): only after this Ready is durable. */
  messages: Message[];
  readStates: ReadState[];
}

/** Message kinds that may leave before the sender's Ready is persisted (see {@link Ready.earlyMessages}). */
function mayPrecedePersist(m: Message, durableTerm: number): boolean {
  return (m.type === 'MsgApp' || m.type === 'MsgSnap' || m.type === 'MsgHeartbeat') && m.term <= durableTerm;
}

export interface RaftCoreConfig {
  id: string;
  /** Randomness for election timeouts. */
  rng: Rng;
  /** Ticks without hearing from a leader before campaigning; randomized in [e, 2e). Default 10. */
  electionTicks?: number;
  /** Ticks between leader heartbeats. Default 1. */
  heartbeatTicks?: number;
  /** Pre-vote phase before real elections (no term inflation by partitioned nodes). Default true. */
  preVote?: boolean;
  /** Leader steps down without a quorum's contact in an election timeout; followers honour a lease. Default true. */
  checkQuorum?: boolean;
  /** Max entries in one AppendEntries. Default 512. */
  maxEntriesPerMsg?: number;
  /** Max data bytes in one AppendEntries (at least one entry is always sent). Default 1 MiB. */
  maxBytesPerMsg?: number;
  /** Max AppendEntries in flight per follower in replicate state. Default 64. */
  maxInflight?: number;
  /** Max committed entries handed out per Ready. Default 4096. */
  maxCommittedPerReady?: number;
  /** Followers drop proposals instead of forwarding them to the leader. Default false. */
  disableProposalForwarding?: boolean;
  /** What was loaded from storage. Empty (a fresh, unbootstrapped node) when absent. */
  initial?: PersistedState;
}

export interface ProgressStatus {
  match: number;
  next: number;
  state: string;
  learner: boolean;
  recentActive: boolean;
}

export interface Status {
  id: string;
  term: number;
  vote: string;
  role: Role;
  leader: string;
  commit: number;
  applied: number;
  lastIndex: number;
  firstIndex: number;
  conf: ConfState;
  /** Only on the leader. */
  progress?: Record<string, ProgressStatus>;
  leadTransferee: string;
}

interface PendingRead {
  index: number;
  from: string;
  context: string;
  acks: Set<string>;
}

/**
 * The pure, deterministic Raft state machine (shaped like etcd-io/raft): no I/O, no timers,
 * no wall clock. Time advances only through {@link tick}; all output goes through
 * {@link ready}. Given the same config, rng seed and inputs, it produces the same outputs.
 *
 * Membership changes take effect when their entry is applied (in {@link advance}); at
 * most one may be pending (proposed but not applied) at a time, which with single-server
 * changes keeps any two consecutive majorities overlapping.
 */
export class RaftCore {
  readonly id: string;
  private readonly rng: Rng;
  private readonly electionTicks: number;
  private readonly heartbeatTicks: number;
  private readonly preVote: boolean;
  private readonly checkQuorum: boolean;
  private readonly maxEntriesPerMsg: number;
  private readonly maxBytesPerMsg: number;
  private readonly maxInflight: number;
  private readonly maxCommittedPerReady: number;
  private readonly disableProposalForwarding: boolean;

  /** The in-memory log. Exposed for introspection and tests; mutate only through the core. */
  readonly log = new RaftLog();
  private _term = 0;
  private _vote = '';
  private _role: Role = 'follower';
  private _leader = '';
  private conf: ConfState = { voters: [], learners: [] };
  private prs = new Map<string, Progress>();
  private votes = new Map<string, boolean>();

  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;
  private leadTransferee = '';
  /** Index of the latest conf change entry proposed by this leader (or lastIndex at election). */
  private pendingConfIndex = 0;

  private msgs: Message[] = [];
  private readStates: ReadState[] = [];
  private pendingReads = new Map<string, PendingRead>();
  private readQueue: string[] = [];
  /** Reads received before the leader committed an entry of its term. */
  private deferredReads: { from: string; context: string }[] = [];
  /** Proposals were appended since the last broadcast (broadcast lazily: batching). */
  private needBroadcast = false;

  private prevHard: HardState;
  private prevSoft: SoftState;

  constructor(cfg: RaftCoreConfig) {
    this.id = cfg.id;
    this.rng = cfg.rng;
    this.electionTicks = cfg.electionTicks ?? 10;
    this.heartbeatTicks = cfg.heartbeatTicks ?? 1;
    if (this.heartbeatTicks < 1 || this.electionTicks <= this.heartbeatTicks) {
      throw new RaftError('election ticks must exceed heartbeat ticks (>= 1)');
    }
    this.preVote = cfg.preVote ?? true;
    this.checkQuorum = cfg.checkQuorum ?? true;
    this.maxEntriesPerMsg = cfg.maxEntriesPerMsg ?? 512;
    this.maxBytesPerMsg = cfg.maxBytesPerMsg ?? 1024 * 1024;
    this.maxInflight = cfg.maxInflight ?? 64;
    this.maxCommittedPerReady = cfg.maxCommittedPerReady ?? 4096;
    this.disableProposalForwarding = cfg.disableProposalForwarding ?? false;

    const init = cfg.initial;
    if (init) {
      this.log.init(init.snapshot, init.entries, init.hardState.commit);
      this._term = init.hardState.term;
      this._vote = init.hardState.vote;
      if (init.snapshot) this.setConf(init.snapshot.meta.conf);
    }
    this.prevHard = this.hardState();
    this.prevSoft = this.softState();
    this.becomeFollower(this._term, '');
  }

  // ---------------------------------------------------------------- getters

  get term(): number {
    return this._term;
  }
  get role(): Role {
    return this._role;
  }
  get leader(): string {
    return this._leader;
  }
  get vote(): string {
    return this._vote;
  }
  /** Current membership (as of the applied index). */
  get confState(): ConfState {
    return { voters: [...this.conf.voters], learners: [...this.conf.learners] };
  }

  hardState(): HardState {
    return { term: this._term, vote: this._vote, commit: this.log.committed };
  }

  softState(): SoftState {
    return { leader: this._leader, role: this._role };
  }

  status(): Status {
    const s: Status = {
      id: this.id,
      term: this._term,
      vote: this._vote,
      role: this._role,
      leader: this._leader,
      commit: this.log.committed,
      applied: this.log.applied,
      lastIndex: this.log.lastIndex(),
      firstIndex: this.log.firstIndex(),
      conf: this.confState,
      leadTransferee: this.leadTransferee,
    };
    if (this._role === 'leader') {
      s.progress = {};
      for (const [id, pr] of this.prs) {
        s.progress[id] = { match: pr.match, next: pr.next, state: pr.state, learner: pr.isLearner, recentActive: pr.recentActive };
      }
    }
    return s;
  }

  private promotable(): boolean {
    return this.conf.voters.includes(this.id);
  }

  // ---------------------------------------------------------------- inputs

  /** Advances logical time by one tick. */
  tick(): void {
    if (this._role === 'leader') this.tickLeader();
    else this.tickElection();
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.campaign();
    }
  }

  private tickLeader(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    for (const [id, pr] of this.prs) {
      if (id !== this.id && pr.state === 'snapshot' && ++pr.snapshotTicks >= this.electionTicks) {
        pr.becomeProbe();
      }
    }
    if (this.electionElapsed >= this.electionTicks) {
      this.electionElapsed = 0;
      if (this.checkQuorum) {
        if (!this.quorumActive()) {
          this.becomeFollower(this._term, '');
          return;
        }
      }
      if (this.leadTransferee !== '') this.leadTransferee = '';
    }
    if (this.heartbeatElapsed >= this.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.bcastHeartbeat(undefined);
    }
  }

  private quorumActive(): boolean {
    const active = new Map<string, boolean>();
    for (const [id, pr] of this.prs) {
      if (id === this.id || pr.recentActive) active.set(id, true);
      if (id !== this.id) pr.recentActive = false;
    }
    return voteResult(this.conf.voters, active) === 'won';
  }

  /**
   * Starts an election now (pre-vote first when enabled). No-op for leaders, non-voters,
   * and while a committed conf change is not yet applied. `force` skips pre-vote and
   * asks voters to ignore their leader lease, as a leadership transfer does (operator
   * and test use; it can disrupt a healthy leader).
   */
  campaign(force = false): void {
    if (this._role === 'leader' || !this.promotable()) return;
    if (this.hasUnappliedConfChange()) return;
    if (force) this.startCampaign('MsgVote', true);
    else if (this.preVote) this.startCampaign('MsgPreVote', false);
    else this.startCampaign('MsgVote', false);
  }

  private hasUnappliedConfChange(): boolean {
    if (this.log.committed <= this.log.applied) return false;
    const from = Math.max(this.log.applied + 1, this.log.firstIndex());
    for (const e of this.log.slice(from, this.log.committed + 1)) if (e.type === EntryType.ConfChange) return true;
    return false;
  }

  private startCampaign(kind: 'MsgPreVote' | 'MsgVote', transfer: boolean): void {
    let term: number;
    if (kind === 'MsgPreVote') {
      this.becomePreCandidate();
      term = this._term + 1;
    } else {
      this.becomeCandidate();
      term = this._term;
    }
    this.votes.set(this.id, true);
    if (this.pollResult() === 'won') {
      if (kind === 'MsgPreVote') this.startCampaign('MsgVote', transfer);
      else this.becomeLeader();
      return;
    }
    for (const v of this.conf.voters) {
      if (v === this.id) continue;
      const m = this.msg(v, kind, { term, index: this.log.lastIndex(), logTerm: this.log.lastTerm() });
      if (transfer) m.context = CAMPAIGN_TRANSFER;
      this.send(m);
    }
  }

  private pollResult(): 'won' | 'lost' | 'pending' {
    return voteResult(this.conf.voters, this.votes);
  }

  /**
   * Proposes `data` for the log. On the leader, returns the entry's index and term; on a
   * follower, forwards it to the leader and returns undefined.
   * @throws NoLeaderError when no leader is known, NotLeaderError when forwarding is disabled,
   *   ProposalDroppedError during a leadership transfer.
   */
  propose(data: Uint8Array): { index: number; term: number } | undefined {
    return this.proposeEntry(EntryType.Normal, data);
  }

  /**
   * Proposes a single-server membership change (leader only).
   * @throws NotLeaderError off the leader; ConfChangeError when another change is pending
   *   or the change is invalid.
   */
  proposeConfChange(cc: ConfChange): { index: number; term: number } {
    if (this._role !== 'leader') throw new NotLeaderError(this._leader);
    if (this.pendingConfIndex > this.log.applied) throw new ConfChangeError('another change is pending');
    const next = applyConfChange(this.conf, cc);
    if (next.voters.length === 0) throw new ConfChangeError('would remove the last voter');
    const r = this.proposeEntry(EntryType.ConfChange, encodeConfChange(cc));
    if (!r) throw new NotLeaderError(this._leader);
    this.pendingConfIndex = r.index;
    return r;
  }

  private proposeEntry(type: EntryType, data: Uint8Array): { index: number; term: number } | undefined {
    if (this._role === 'leader') {
      if (this.leadTransferee !== '') throw new ProposalDroppedError('leadership transfer in progress');
      const index = this.appendEntries([{ type, data }]);
      return { index, term: this._term };
    }
    if (this._leader === '') throw new NoLeaderError();
    if (this.disableProposalForwarding || type !== EntryType.Normal) throw new NotLeaderError(this._leader);
    this.send(this.msg(this._leader, 'MsgProp', { term: 0, entries: [{ term: 0, index: 0, type, data }] }));
    return undefined;
  }

  /**
   * Requests a linearizable read tagged `context` (unique per request). The answer comes
   * as a {@link ReadState} in a later Ready, once a quorum confirmed this leadership; a
   * lost request produces nothing (callers time out).
   * @throws NoLeaderError when no leader is known.
   */
  readIndex(context: string): void {
    if (this._role === 'leader') {
      this.handleReadIndex(this.id, context);
      return;
    }
    if (this._leader === '') throw new NoLeaderError();
    this.send(this.msg(this._leader, 'MsgReadIndex', { term: 0, context }));
  }

  /**
   * Hands leadership to voter `to`: the leader stops accepting proposals, brings `to` up
   * to date and sends it TimeoutNow. Abandoned after an election timeout.
   * @throws NotLeaderError off the leader; RaftError if `to` is not a voter.
   */
  transferLeader(to: string): void {
    if (this._role !== 'leader') throw new NotLeaderError(this._leader);
    if (to === this.id) return;
    const pr = this.prs.get(to);
    if (!pr || pr.isLearner) throw new RaftError(`cannot transfer leadership to non-voter ${to}`);
    if (this.leadTransferee === to) return;
    this.leadTransferee = to;
    this.electionElapsed = 0;
    if (pr.match === this.log.lastIndex()) this.send(this.msg(to, 'MsgTimeoutNow', {}));
    else this.sendAppend(to, true);
  }

  /** Feeds a message received from another server. Messages for other nodes throw. */
  step(m: Message): void {
    if (m.to !== this.id) throw new RaftError(`message for ${m.to} stepped into ${this.id}`);
    if (m.term === 0) {
      // Unterminated messages: forwarded proposals and reads. Handled below.
    } else if (m.term > this._term) {
      if (m.type === 'MsgVote' || m.type === 'MsgPreVote') {
        const force = m.context === CAMPAIGN_TRANSFER;
        const inLease = this.checkQuorum && this._leader !== '' && this.electionElapsed < this.electionTicks;
        if (!force && inLease) return;
      }
      if (m.type === 'MsgPreVote') {
        // Never change term on a pre-vote.
      } else if (m.type === 'MsgPreVoteResp' && !m.reject) {
        // A granted pre-vote carries the future term; we bump it only when we win.
      } else if (isLeaderMessage(m.type)) {
        this.becomeFollower(m.term, m.from);
      } else {
        this.becomeFollower(m.term, '');
      }
    } else if (m.term < this._term) {
      if ((this.checkQuorum || this.preVote) && (m.type === 'MsgHeartbeat' || m.type === 'MsgApp')) {
        // Tell a stale leader about the newer term so it steps down.
        this.send(this.msg(m.from, 'MsgAppResp', {}));
      } else if (m.type === 'MsgPreVote') {
        this.send(this.msg(m.from, 'MsgPreVoteResp', { reject: true }));
      }
      return;
    }

    switch (m.type) {
      case 'MsgPreVote':
      case 'MsgVote': {
        const canVote =
          this._vote === m.from ||
          (this._vote === '' && this._leader === '') ||
          (m.type === 'MsgPreVote' && m.term > this._term);
        if (canVote && this.log.isUpToDate(m.index, m.logTerm)) {
          this.send(this.msg(m.from, voteResponseType(m.type), { term: m.term }));
          if (m.type === 'MsgVote') {
            this.electionElapsed = 0;
            this._vote = m.from;
          }
        } else {
          this.send(this.msg(m.from, voteResponseType(m.type), { reject: true }));
        }
        return;
      }
      default:
        break;
    }
    switch (this._role) {
      case 'leader':
        this.stepLeader(m);
        break;
      case 'candidate':
      case 'precandidate':
        this.stepCandidate(m);
        break;
      case 'follower':
        this.stepFollower(m);
        break;
    }
  }

  private stepLeader(m: Message): void {
    switch (m.type) {
      case 'MsgProp':
        if (this.leadTransferee !== '' || !m.entries) return;
        if (!this.prs.has(m.from)) return;
        this.appendEntries(m.entries.filter((e) => e.type === EntryType.Normal));
        return;
      case 'MsgReadIndex':
        if (m.context !== undefined) this.handleReadIndex(m.from, m.context);
        return;
      default:
        break;
    }
    const pr = this.prs.get(m.from);
    if (!pr) return;
    switch (m.type) {
      case 'MsgAppResp': {
        pr.recentActive = true;
        if (m.reject) {
          if (pr.maybeDecrTo(m.index, m.rejectHint ?? 0)) {
            if (pr.state === 'replicate') pr.becomeProbe();
            this.sendAppend(m.from, true);
          }
          return;
        }
        const wasPaused = pr.isPaused();
        if (pr.maybeUpdate(m.index)) {
          if (pr.state === 'probe') pr.becomeReplicate();
          else if (pr.state === 'snapshot' && pr.match >= pr.pendingSnapshot) pr.becomeReplicate();
          else if (pr.state === 'replicate') pr.inflights.freeLE(m.index);
          // A new commit index reaches the followers with the next broadcast (flush()), in the
          // same AppendEntries as the entries proposed meanwhile rather than one of its own.
          if (this.maybeCommit()) this.needBroadcast = true;
          else if (wasPaused) this.sendAppend(m.from, true);
          for (let i = 0; i < this.maxInflight && this.sendAppend(m.from, false); i++) {
            // keep the pipeline full
          }
          if (m.from === this.leadTransferee && pr.match === this.log.lastIndex()) {
            this.send(this.msg(m.from, 'MsgTimeoutNow', {}));
          }
        }
        return;
      }
      case 'MsgHeartbeatResp': {
        pr.recentActive = true;
        pr.probeSent = false;
        if (pr.state === 'replicate' && pr.inflights.full()) pr.inflights.freeFirst();
        if (pr.match < this.log.lastIndex()) this.sendAppend(m.from, true);
        if (m.context !== undefined) this.ackRead(m.from, m.context);
        return;
      }
      default:
        return;
    }
  }

  private stepCandidate(m: Message): void {
    const myResp: MessageType = this._role === 'precandidate' ? 'MsgPreVoteResp' : 'MsgVoteResp';
    switch (m.type) {
      case 'MsgProp':
        return;
      case 'MsgApp':
        this.becomeFollower(m.term, m.from);
        this.handleAppend(m);
        return;
      case 'MsgHeartbeat':
        this.becomeFollower(m.term, m.from);
        this.handleHeartbeat(m);
        return;
      case 'MsgSnap':
        this.becomeFollower(m.term, m.from);
        this.handleSnapshot(m);
        return;
      default:
        break;
    }
    if (m.type !== myResp) return;
    this.votes.set(m.from, !m.reject);
    const r = this.pollResult();
    if (r === 'won') {
      if (this._role === 'precandidate') this.startCampaign('MsgVote', false);
      else {
        this.becomeLeader();
      }
    } else if (r === 'lost') {
      this.becomeFollower(this._term, '');
    }
  }

  private stepFollower(m: Message): void {
    switch (m.type) {
      case 'MsgProp':
        if (this._leader === '' || this.disableProposalForwarding) return;
        this.send({ ...m, from: this.id, to: this._leader, term: 0 });
        return;
      case 'MsgApp':
        this.electionElapsed = 0;
        this._leader = m.from;
        this.handleAppend(m);
        return;
      case 'MsgHeartbeat':
        this.electionElapsed = 0;
        this._leader = m.from;
        this.handleHeartbeat(m);
        return;
      case 'MsgSnap':
        this.electionElapsed = 0;
        this._leader = m.from;
        this.handleSnapshot(m);
        return;
      case 'MsgTimeoutNow':
        if (this.promotable()) this.startCampaign('MsgVote', true);
        return;
      case 'MsgReadIndex':
        if (this._leader === '') return;
        this.send({ ...m, from: m.from, to: this._leader, term: 0 });
        return;
      case 'MsgReadIndexResp':
        if (m.context !== undefined) this.readStates.push({ index: m.index, context: m.context });
        return;
      default:
        return;
    }
  }

  // ---------------------------------------------------------------- follower handlers

  private handleAppend(m: Message): void {
    if (m.index < this.log.committed) {
      this.send(this.msg(m.from, 'MsgAppResp', { index: this.log.committed }));
      return;
    }
    const last = this.log.maybeAppend(m.index, m.logTerm, m.commit, m.entries ?? []);
    if (last !== undefined) {
      this.send(this.msg(m.from, 'MsgAppResp', { index: last }));
    } else {
      const hint = this.log.findConflictByTerm(Math.min(m.index, this.log.lastIndex()), m.logTerm);
      this.send(this.msg(m.from, 'MsgAppResp', { index: m.index, reject: true, rejectHint: hint, logTerm: this.log.term(hint) ?? 0 }));
    }
  }

  private handleHeartbeat(m: Message): void {
    this.log.commitTo(Math.min(m.commit, this.log.lastIndex()));
    const r = this.msg(m.from, 'MsgHeartbeatResp', {});
    if (m.context !== undefined) r.context = m.context;
    this.send(r);
  }

  private handleSnapshot(m: Message): void {
    const s = m.snapshot;
    if (!s) return;
    if (this.restore(s)) {
      this.send(this.msg(m.from, 'MsgAppResp', { index: this.log.lastIndex() }));
    } else {
      this.send(this.msg(m.from, 'MsgAppResp', { index: this.log.committed }));
    }
  }

  /** Installs a leader's snapshot; false when it is not newer than what we have. */
  private restore(s: Snapshot): boolean {
    if (s.meta.index <= this.log.committed) return false;
    if (this.log.matchTerm(s.meta.index, s.meta.term)) {
      this.log.commitTo(s.meta.index);
      return false;
    }
    this.log.restore(s);
    this.setConf(s.meta.conf);
    return true;
  }

  // ---------------------------------------------------------------- leader duties

  /** Appends new entries with the leader's term; returns the last new index. */
  private appendEntries(es: { type: EntryType; data: Uint8Array }[]): number {
    let li = this.log.lastIndex();
    const ents: Entry[] = es.map((e) => ({ term: this._term, index: ++li, type: e.type, data: e.data }));
    if (ents.length === 0) return li;
    this.log.append(ents);
    // The leader's own match advances only when the driver reports the entries durable
    // (advance()): it replicates them in parallel with its fsync, so they must not count
    // toward the commit quorum before they are on its disk.
    this.needBroadcast = true;
    return li;
  }

  /** Commits the highest index stored on a majority of voters, if it is of the current term. */
  private maybeCommit(): boolean {
    const matches = this.conf.voters.map((v) => this.prs.get(v)?.match ?? 0);
    const mci = committedIndex(matches);
    if (mci > this.log.committed && this.log.term(mci) === this._term) {
      this.log.commitTo(mci);
      this.releaseDeferredReads();
      return true;
    }
    return false;
  }

  private committedInTerm(): boolean {
    return this.log.term(this.log.committed) === this._term;
  }

  private releaseDeferredReads(): void {
    if (this.deferredReads.length === 0 || !this.committedInTerm()) return;
    const rs = this.deferredReads;
    this.deferredReads = [];
    for (const r of rs) this.handleReadIndex(r.from, r.context);
  }

  private handleReadIndex(from: string, context: string): void {
    if (!this.committedInTerm()) {
      this.deferredReads.push({ from, context });
      return;
    }
    const index = this.log.committed;
    if (this.conf.voters.length === 1 && this.conf.voters[0] === this.id) {
      this.respondRead({ index, from, context, acks: new Set() });
      return;
    }
    if (this.pendingReads.has(context)) return;
    this.pendingReads.set(context, { index, from, context, acks: new Set([this.id]) });
    this.readQueue.push(context);
    this.bcastHeartbeat(context);
  }

  private ackRead(from: string, context: string): void {
    const r = this.pendingReads.get(context);
    if (!r) return;
    r.acks.add(from);
    const votes = new Map<string, boolean>();
    for (const a of r.acks) votes.set(a, true);
    if (voteResult(this.conf.voters, votes) !== 'won') return;
    // A quorum confirmed leadership at this point: every earlier request is answered too.
    const pos = this.readQueue.indexOf(context);
    const done = this.readQueue.splice(0, pos + 1);
    for (const c of done) {
      const pr = this.pendingReads.get(c);
      this.pendingReads.delete(c);
      if (pr) this.respondRead(pr);
    }
  }

  private respondRead(r: PendingRead): void {
    if (r.from === this.id) this.readStates.push({ index: r.index, context: r.context });
    else this.send(this.msg(r.from, 'MsgReadIndexResp', { term: 0, index: r.index, context: r.context }));
  }

  /**
   * Sends `to` what it lacks: entries from its `next`, or the latest snapshot if they are
   * compacted. Returns whether a message was sent.
   */
  private sendAppend(to: string, sendIfEmpty: boolean): boolean {
    const pr = this.prs.get(to);
    if (!pr || to === this.id || pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    const prevTerm = this.log.term(prevIndex);
    const ents = this.log.entriesFrom(pr.next, this.maxEntriesPerMsg, this.maxBytesPerMsg);
    if (prevTerm === undefined || ents === undefined) {
      const snap = this.log.latestSnapshot;
      if (!snap) throw new RaftError(`log compacted below ${pr.next} but no snapshot held`);
      this.send(this.msg(to, 'MsgSnap', { snapshot: snap }));
      pr.becomeSnapshot(snap.meta.index);
      return true;
    }
    if (ents.length === 0 && !sendIfEmpty) return false;
    this.send(this.msg(to, 'MsgApp', { index: prevIndex, logTerm: prevTerm, entries: ents, commit: this.log.committed }));
    pr.sentCommit = Math.max(pr.sentCommit, this.log.committed);
    if (ents.length > 0) {
      const last = (ents[ents.length - 1] as Entry).index;
      if (pr.state === 'replicate') {
        pr.next = last + 1;
        pr.inflights.add(last);
      } else {
        pr.probeSent = true;
      }
    }
    return true;
  }

  /**
   * Sends every follower what it lacks; in replicate state, pipelines up to the inflight
   * window. A follower in replicate state that has every entry sent and the current commit
   * index is skipped (no empty AppendEntries that would only repeat the commit).
   */
  private bcastAppend(): void {
    this.needBroadcast = false;
    const last = this.log.lastIndex();
    for (const [id, pr] of this.prs) {
      if (id === this.id) continue;
      if (pr.state === 'replicate' && pr.next > last && pr.sentCommit >= this.log.committed) continue;
      if (!this.sendAppend(id, true)) continue;
      for (let i = 1; i < this.maxInflight && pr.state === 'replicate' && this.sendAppend(id, false); i++) {
        // pipelined
      }
    }
  }

  private bcastHeartbeat(context: string | undefined): void {
    for (const [id, pr] of this.prs) {
      if (id === this.id) continue;
      const m = this.msg(id, 'MsgHeartbeat', { commit: Math.min(pr.match, this.log.committed) });
      pr.sentCommit = Math.max(pr.sentCommit, m.commit);
      if (context !== undefined) m.context = context;
      this.send(m);
    }
  }

  // ---------------------------------------------------------------- role changes

  private reset(term: number): void {
    if (term !== this._term) {
      this._term = term;
      this._vote = '';
    }
    this._leader = '';
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizedElectionTimeout = this.electionTicks + this.rng.int(this.electionTicks);
    this.leadTransferee = '';
    this.votes = new Map();
    this.pendingReads = new Map();
    this.readQueue = [];
    this.deferredReads = [];
    this.needBroadcast = false;
    this.resetProgress();
  }

  private resetProgress(): void {
    const prs = new Map<string, Progress>();
    const next = this.log.lastIndex() + 1;
    for (const v of this.conf.voters) prs.set(v, new Progress(next, this.maxInflight, false));
    for (const l of this.conf.learners) prs.set(l, new Progress(next, this.maxInflight, true));
    const self = prs.get(this.id);
    if (self) self.match = this.log.stable;
    this.prs = prs;
  }

  private becomeFollower(term: number, leader: string): void {
    this.reset(term);
    this._role = 'follower';
    this._leader = leader;
  }

  private becomePreCandidate(): void {
    // Pre-vote changes neither term nor vote.
    this.votes = new Map();
    this._role = 'precandidate';
    this._leader = '';
  }

  private becomeCandidate(): void {
    this.reset(this._term + 1);
    this._vote = this.id;
    this._role = 'candidate';
  }

  private becomeLeader(): void {
    this.reset(this._term);
    this._role = 'leader';
    this._leader = this.id;
    for (const pr of this.prs.values()) pr.recentActive = true;
    this.pendingConfIndex = this.log.lastIndex();
    this.appendEntries([{ type: EntryType.Noop, data: new Uint8Array(0) }]);
    this.bcastAppend();
  }

  /** Replaces the configuration, keeping existing progress for nodes that stay. */
  private setConf(conf: ConfState): void {
    this.conf = { voters: [...conf.voters].sort(), learners: [...conf.learners].sort() };
    const next = this.log.lastIndex() + 1;
    const prs = new Map<string, Progress>();
    for (const v of this.conf.voters) {
      const old = this.prs.get(v);
      if (old && !old.isLearner) prs.set(v, old);
      else {
        const p = new Progress(next, this.maxInflight, false);
        if (old) {
          p.match = old.match;
          p.next = old.next;
        }
        p.recentActive = true;
        prs.set(v, p);
      }
    }
    for (const l of this.conf.learners) {
      const p = this.prs.get(l) ?? new Progress(next, this.maxInflight, true);
      p.recentActive = true;
      prs.set(l, p);
    }
    this.prs = prs;
    const self = prs.get(this.id);
    if (self) self.match = Math.max(self.match, this.log.stable);
  }

  private applyConfEntry(e: Entry): void {
    const cc = decodeConfChange(e.data);
    this.setConf(applyConfChange(this.conf, cc));
    if (this._role !== 'leader') return;
    if (!this.promotable()) {
      // The leader was removed (or is no voter): step down; the rest elect a new leader.
      this.becomeFollower(this._term, '');
      return;
    }
    if (this.leadTransferee !== '' && !this.conf.voters.includes(this.leadTransferee)) this.leadTransferee = '';
    // The quorum changed: the commit index may move, and new members need the log.
    this.maybeCommit();
    this.bcastAppend();
  }

  // ---------------------------------------------------------------- ready / advance

  private msg(to: string, type: MessageType, f: Partial<Message>): Message {
    return { type, from: this.id, to, term: this._term, logTerm: 0, index: 0, commit: 0, ...f };
  }

  private send(m: Message): void {
    this.msgs.push(m);
  }

  private flush(): void {
    if (this.needBroadcast && this._role === 'leader') this.bcastAppend();
    this.needBroadcast = false;
  }

  /** Whether {@link ready} has anything to hand out. */
  hasReady(): boolean {
    this.flush();
    const hs = this.hardState();
    const soft = this.softState();
    return (
      this.msgs.length > 0 ||
      this.readStates.length > 0 ||
      this.log.pendingSnapshot !== undefined ||
      this.log.stable < this.log.lastIndex() ||
      this.log.nextCommitted(1).length > 0 ||
      hs.term !== this.prevHard.term ||
      hs.vote !== this.prevHard.vote ||
      hs.commit !== this.prevHard.commit ||
      soft.leader !== this.prevSoft.leader ||
      soft.role !== this.prevSoft.role
    );
  }

  /**
   * Collects pending work. Messages and read states are handed out once; entries,
   * committed entries and the snapshot stay pending until {@link advance}.
   */
  ready(): Ready {
    this.flush();
    const durableTerm = this.prevHard.term;
    const rd: Ready = {
      entries: this.log.unstableEntries(),
      committedEntries: this.log.nextCommitted(this.maxCommittedPerReady),
      earlyMessages: this.msgs.filter((m) => mayPrecedePersist(m, durableTerm)),
      messages: this.msgs.filter((m) => !mayPrecedePersist(m, durableTerm)),
      readStates: this.readStates,
    };
    this.msgs = [];
    this.readStates = [];
    const hs = this.hardState();
    if (hs.term !== this.prevHard.term || hs.vote !== this.prevHard.vote || hs.commit !== this.prevHard.commit) {
      rd.hardState = hs;
    }
    const soft = this.softState();
    if (soft.leader !== this.prevSoft.leader || soft.role !== this.prevSoft.role) {
      rd.softState = soft;
      this.prevSoft = soft;
    }
    if (this.log.pendingSnapshot) rd.snapshot = this.log.pendingSnapshot;
    return rd;
  }

  /**
   * Acknowledges that `rd` was persisted, sent and applied. On a leader, its newly durable
   * entries now count toward the commit quorum (a single voter commits here). Applies
   * membership changes among its committed entries.
   */
  advance(rd: Ready): void {
    if (rd.hardState) this.prevHard = rd.hardState;
    if (rd.snapshot && this.log.pendingSnapshot === rd.snapshot) {
      this.log.pendingSnapshot = undefined;
      this.log.applied = Math.max(this.log.applied, rd.snapshot.meta.index);
    }
    const lastE = rd.entries[rd.entries.length - 1];
    if (lastE) {
      this.log.stableTo(lastE.index, lastE.term);
      if (this._role === 'leader' && this.prs.get(this.id)?.maybeUpdate(this.log.stable) && this.maybeCommit()) this.needBroadcast = true;
    }
    for (const e of rd.committedEntries) {
      if (e.index <= this.log.applied) continue;
      this.log.applied = e.index;
      if (e.type === EntryType.ConfChange) this.applyConfEntry(e);
    }
    if (this._role === 'leader') this.releaseDeferredReads();
  }

  /**
   * For a driver that keeps stepping messages while a Ready is being persisted: returns
   * the committed entries up to `maxIndex` that are not applied yet, and counts them as
   * applied now (membership changes among them take effect). The caller must apply them, in
   * order, before anything else, and should bound `maxIndex` by what it already has on
   * disk. Entries a pending Ready handed out are returned again; the caller skips what it
   * applied. Nothing is returned while a received snapshot awaits its Ready.
   */
  takeCommitted(maxIndex: number): Entry[] {
    if (this.log.pendingSnapshot) return [];
    const out = this.log.nextCommitted(this.maxCommittedPerReady).filter((e) => e.index <= maxIndex);
    for (const e of out) {
      this.log.applied = e.index;
      if (e.type === EntryType.ConfChange) this.applyConfEntry(e);
    }
    if (out.length > 0 && this._role === 'leader') this.releaseDeferredReads();
    return out;
  }

  /**
   * Records a snapshot the application took of its state at the applied index and
   * compacts the log, keeping `trailing` entries before it for slow followers.
   * Returns the snapshot, to be stored durably by the driver.
   */
  snapshotTaken(data: Uint8Array, trailing: number): Snapshot {
    const index = this.log.applied;
    const term = this.log.term(index);
    if (term === undefined) throw new RaftError(`snapshot at ${index}: term unknown (compacted)`);
    const snap: Snapshot = { meta: { index, term, conf: this.confState }, data };
    if (!this.log.latestSnapshot || this.log.latestSnapshot.meta.index < index) this.log.latestSnapshot = snap;
    this.log.compact(Math.min(index - Math.max(0, trailing), this.log.stable));
    return snap;
  }
}
