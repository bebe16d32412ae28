/**
 * The server role: a Raft group member holding the catalog state machine, plus the leader's
 * duties over the server set (bootstrap once `bootstrap_expect` servers are seen, add
 * joining servers as non-voters and promote them once caught up, remove servers that left
 * and, while quorum allows, servers that failed).
 *
 * Contract:
 * - The agent feeds the gossip view of servers through {@link CatalogServer.updateServers}
 *   (every member event and periodically); nothing here reads gossip directly.
 * - Only the leader changes membership, one change at a time, each waiting for the
 *   previous one to be applied.
 * - A server that comes back with a new ID under a known name or address replaces its old ID
 *   (removed first, then the new one added as a non-voter); see replaced-servers.ts.
 * - A server bootstraps at most once: never when its storage already holds Raft state, and
 *   never when any peer reports having Raft state (it will be added by that cluster).
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { Clock, Rng, TimerHandle } from './runtime.js';
import { RaftNode, type RaftNodeChange, type StateMachine } from './raft/node.js';
import type { Message } from './raft/core/messages.js';
import { NotLeaderError } from './raft/core/errors.js';
import { ConfChangeType, type ConfState, type Entry, type RaftStorage, type RaftTransport } from './raft/types.js';
import { StateStore, encodeCommand, type ApplyResult } from './state/index.js';
import { reconcileCommands, type MemberView } from './reconcile.js';
import { LeaderKVDuties } from './sessions.js';
import { replacedServerIds, type KnownServer } from './replaced-servers.js';

/** A server as gossip sees it. */
export interface ServerInfo {
  /** Raft server ID (the node ID). */
  id: string;
  /** Node name. */
  name: string;
  /** Raft/RPC address "ip:port". */
  address: string;
  status: 'alive' | 'suspect' | 'failed' | 'left' | 'leaving';
  /** The server's bootstrap_expect (0 when not set). */
  expect: number;
}

export interface RaftServerEntry {
  ID: string;
  Node: string;
  Address: string;
  Leader: boolean;
  Voter: boolean;
  ProtocolVersion: string;
}

export interface CatalogServerOptions {
  id: string;
  name: string;
  /** This server's own Raft/RPC address. */
  address: string;
  datacenter: string;
  storage: RaftStorage;
  transport: RaftTransport<Message>;
  clock: Clock;
  rng: Rng;
  logger: Logger;
  /** Single-server bootstrap (dev mode, `-bootstrap`). */
  bootstrap: boolean;
  /** Bootstrap once this many servers are seen (0: never by count). */
  bootstrapExpect: number;
  /** Milliseconds per Raft tick (election timeout 10–20 ticks). Default 100. */
  tickMs?: number;
  /** Raft entries applied between snapshots. Default 8192 (RaftNode's). */
  snapshotThreshold?: number;
  /** Raft entries kept behind a snapshot for slow followers. Default 10240 (RaftNode's). */
  trailingLogs?: number;
  /** Asks a peer whether it already has Raft state (so we must not bootstrap). */
  peerHasState?: (server: ServerInfo) => Promise<boolean>;
  /** How often the leader re-runs membership reconciliation. Default 2000 ms. */
  reconcileIntervalMs?: number;
  /** Failed voters are removed only after being failed this long. Default 10 s (autopilot's stabilization). */
  deadServerAfterMs?: number;
  /** Full member reconciliation period on the leader. Default 60 s, like Consul. */
  memberReconcileIntervalMs?: number;
}

/** Server state machine glue: Raft entries → catalog commands. */
class CatalogStateMachine implements StateMachine {
  constructor(readonly store: StateStore) {}
  apply(entry: Entry): unknown {
    return this.store.applyEntry(entry.index, entry.data);
  }
  snapshot(): Uint8Array {
    return this.store.snapshot();
  }
  restore(data: Uint8Array): void {
    if (data.length === 0) this.store.restore(new StateStore({ datacenter: this.store.datacenter }).snapshot());
    else this.store.restore(data);
  }
}

/** Wraps the transport to note when this server last heard from the leader. */
class ContactTransport implements RaftTransport<Message> {
  lastFrom = new Map<string, number>();
  constructor(
    private readonly inner: RaftTransport<Message>,
    private readonly clock: Clock,
  ) {}
  send(msg: Message): void {
    this.inner.send(msg);
  }
  setPeer(id: string, address: string): void {
    this.inner.setPeer(id, address);
  }
  removePeer(id: string): void {
    this.inner.removePeer(id);
  }
  onMessage(handler: (msg: Message) => void): void {
    this.inner.onMessage((m) => {
      this.lastFrom.set(m.from, this.clock.monotonic());
      handler(m);
    });
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

export class CatalogServer extends EventEmitter<{ change: [RaftNodeChange] }> {
  readonly store: StateStore;
  readonly raft: RaftNode;
  private readonly log: Logger;
  private readonly transport: ContactTransport;
  private servers = new Map<string, ServerInfo>();
  /** Last gossip view of every server ID ever seen (also IDs gossip has since forgotten). */
  private readonly known = new Map<string, KnownServer>();
  private readonly failedSince = new Map<string, number>();
  private bootstrapTried = false;
  private reconciling = false;
  private timer: TimerHandle | undefined;
  private memberTimer: TimerHandle | undefined;
  private startedAt = 0;
  /** The last leader this server knew of (itself included), for {@link leaderContactAgeMs}. */
  private lastLeader = '';
  /** When this server last stopped being the leader (monotonic ms). */
  private leftLeadershipAt = 0;
  private members: MemberView[] = [];
  private reconcilingMembers = false;
  private membersDirty = false;
  private stopped = false;
  /** Session TTL timers and tombstone reaping; runs while this server is leader. */
  readonly kvDuties: LeaderKVDuties;

  constructor(private readonly opts: CatalogServerOptions) {
    super();
    this.log = opts.logger.child({ component: 'server' });
    this.store = new StateStore({ datacenter: opts.datacenter });
    this.transport = new ContactTransport(opts.transport, opts.clock);
    this.raft = new RaftNode({
      id: opts.id,
      storage: opts.storage,
      transport: this.transport,
      stateMachine: new CatalogStateMachine(this.store),
      clock: opts.clock,
      rng: opts.rng,
      tickMs: opts.tickMs ?? 100,
      ...(opts.snapshotThreshold !== undefined ? { snapshotThreshold: opts.snapshotThreshold } : {}),
      ...(opts.trailingLogs !== undefined ? { trailingLogs: opts.trailingLogs } : {}),
    });
    this.raft.on('snapshot-restored', (s: { index: number; term: number }) =>
      this.log.info({ index: s.index, term: s.term }, `raft: state restored from a leader's snapshot at index ${s.index}`),
    );
    this.raft.on('change', (c: RaftNodeChange) => {
      if (this.lastLeader === opts.id && c.leader !== opts.id) this.leftLeadershipAt = opts.clock.monotonic();
      if (c.leader) this.lastLeader = c.leader;
      this.log.info({ leader: c.leader, role: c.role, term: c.term }, `raft: ${c.role} in term ${c.term}${c.leader ? `, leader ${this.nameOf(c.leader)}` : ', no leader'}`);
      this.emit('change', c);
      if (c.role === 'leader') {
        void this.reconcile();
        void this.reconcileMembers();
      }
    });
    this.kvDuties = new LeaderKVDuties({
      store: this.store,
      clock: opts.clock,
      logger: opts.logger,
      propose: async (cmd) => (await this.propose(encodeCommand(cmd))).result as ApplyResult,
    });
    this.raft.on('change', (c: RaftNodeChange) => (c.role === 'leader' && !this.stopped ? this.kvDuties.start() : this.kvDuties.stop()));
    this.raft.on('error', (err: Error) => this.log.error({ err }, 'raft: fatal error'));
  }

  async start(): Promise<void> {
    await this.raft.start();
    if (this.opts.bootstrap) {
      const did = await this.raft.bootstrap({ voters: [this.opts.id], learners: [] });
      this.log.info(did ? 'raft: bootstrapped a single-server cluster' : 'raft: existing state found; not bootstrapping');
      this.bootstrapTried = true;
      // Alone in the configuration: no one to wait for, so elect at once instead of after a timeout.
      const conf = this.raft.conf;
      if (conf.voters.length === 1 && conf.voters[0] === this.opts.id) await this.raft.campaign();
    }
    this.timer = this.opts.clock.setInterval(() => void this.reconcile(), this.opts.reconcileIntervalMs ?? 2000);
    this.startedAt = this.opts.clock.monotonic();
    this.memberTimer = this.opts.clock.setInterval(() => void this.reconcileMembers(true), this.opts.memberReconcileIntervalMs ?? 60_000);
  }

  /** The gossip view of every member (clients and servers); the leader mirrors it into the catalog. */
  updateMembers(members: MemberView[]): void {
    this.members = members;
    void this.reconcileMembers();
  }

  /** Leader only: registers members with serfHealth, marks failed ones critical, removes those that left. */
  private async reconcileMembers(full = false): Promise<void> {
    if (this.stopped || !this.raft.isLeader || this.members.length === 0) return;
    if (this.reconcilingMembers) {
      this.membersDirty = true;
      return;
    }
    this.reconcilingMembers = true;
    try {
      do {
        this.membersDirty = false;
        // Reaping nodes gossip has never heard of waits until gossip had a full period to learn them.
        const period = this.opts.memberReconcileIntervalMs ?? 60_000;
        const reapUnknown = full && this.opts.clock.monotonic() - this.startedAt >= period;
        for (const cmd of reconcileCommands(this.store, this.members, this.opts.name, reapUnknown)) {
          if (!this.raft.isLeader) return;
          await this.raft.propose(encodeCommand(cmd));
        }
      } while (this.membersDirty && this.raft.isLeader);
    } catch (e) {
      this.log.warn(`member reconciliation failed: ${(e as Error).message}`);
    } finally {
      this.reconcilingMembers = false;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.kvDuties.stop();
    this.opts.clock.clearInterval(this.timer);
    this.opts.clock.clearInterval(this.memberTimer);
    await this.raft.stop();
    await this.transport.close();
    await this.opts.storage.close();
  }

  /** The gossip view of every server in this datacenter (this one included). */
  updateServers(servers: ServerInfo[]): void {
    const next = new Map(servers.map((s) => [s.id, s]));
    for (const s of servers) {
      if (s.id === this.opts.id) continue;
      this.known.set(s.id, { name: s.name, address: s.address });
      // Every time, not only on news: applying a RemoveNode drops the transport peer, and a
      // server that missed the later re-add (it was itself removed meanwhile) would otherwise
      // never again reach the leader that re-added it. setPeer is a no-op when nothing changed.
      this.transport.setPeer(s.id, s.address);
      if (s.status === 'failed') {
        if (!this.failedSince.has(s.id)) this.failedSince.set(s.id, this.opts.clock.monotonic());
      } else this.failedSince.delete(s.id);
    }
    this.servers = next;
    void this.maybeBootstrap();
    void this.reconcile();
  }

  // ----------------------------------------------------------------- status

  get isLeader(): boolean {
    return this.raft.isLeader;
  }

  /** The leader's Raft/RPC address, or '' while there is none. */
  leaderAddress(): string {
    const id = this.raft.leader;
    return id ? this.addressOf(id) : '';
  }

  /** Addresses of the voters, as `/v1/status/peers` reports them. */
  peers(): string[] {
    return this.raft.conf.voters.map((id) => this.addressOf(id)).filter(Boolean);
  }

  /** Milliseconds since this server heard from the leader (0 on the leader, or when there is none). */
  lastContactMs(): number {
    if (this.raft.isLeader) return 0;
    const at = this.transport.lastFrom.get(this.raft.leader);
    return at === undefined ? 0 : Math.max(0, this.opts.clock.monotonic() - at);
  }

  /**
   * Milliseconds since this server last heard from a leader: the staleness bound that
   * `max_stale` is compared with. 0 on the leader. Unlike {@link lastContactMs} it keeps
   * growing while there is no leader: it then counts from the last message of the previous
   * leader (from losing leadership when that was this server; from start when there never
   * was one).
   */
  leaderContactAgeMs(): number {
    if (this.raft.isLeader) return 0;
    const now = this.opts.clock.monotonic();
    const id = this.raft.leader || this.lastLeader;
    if (id === this.opts.id) return Math.max(0, now - this.leftLeadershipAt);
    const at = id ? this.transport.lastFrom.get(id) : undefined;
    return Math.max(0, now - (at ?? this.startedAt));
  }

  configuration(): { Servers: RaftServerEntry[]; Index: number } {
    const conf = this.raft.conf;
    const leader = this.raft.leader;
    const entry = (id: string, voter: boolean): RaftServerEntry => ({
      ID: id,
      Node: this.nameOf(id),
      Address: this.addressOf(id),
      Leader: id === leader,
      Voter: voter,
      ProtocolVersion: '3',
    });
    return {
      Servers: [...conf.voters.map((id) => entry(id, true)), ...conf.learners.map((id) => entry(id, false))],
      Index: this.raft.appliedIndex,
    };
  }

  /** Removes a server from the Raft configuration (leader only). */
  async removePeer(by: { id?: string; address?: string }): Promise<void> {
    const conf = this.raft.conf;
    const all = [...conf.voters, ...conf.learners];
    const id = by.id ?? all.find((x) => this.addressOf(x) === by.address);
    if (!id || !all.includes(id)) throw new ServerError('NotFound', `raft: no server ${by.id ?? by.address} in the configuration`);
    if (!this.raft.isLeader) throw new ServerError('NotLeader', 'raft: not leader');
    await this.raft.proposeConfChange({ type: ConfChangeType.RemoveNode, nodeId: id });
  }

  /** Hands leadership to `id`, or to the most caught-up other voter. */
  async transferLeader(id?: string): Promise<string> {
    if (!this.raft.isLeader) throw new ServerError('NotLeader', 'raft: not leader');
    const voters = this.raft.conf.voters.filter((v) => v !== this.opts.id);
    const target = id ?? voters.find((v) => this.raft.isCaughtUp(v)) ?? voters[0];
    if (!target || !this.raft.conf.voters.includes(target)) throw new ServerError('NotFound', `raft: ${id ?? 'no other voter'} cannot take leadership`);
    await this.raft.transferLeader(target);
    return target;
  }

  /** Proposes an encoded catalog command; resolves with the state machine's result once applied here. */
  async propose(data: Uint8Array): Promise<{ index: number; result: unknown }> {
    try {
      return await this.raft.propose(data);
    } catch (e) {
      if (e instanceof NotLeaderError) throw new ServerError(e.leader ? 'NotLeader' : 'NoLeader', e.leader ? 'raft: not leader' : 'No cluster leader');
      throw e;
    }
  }

  // ---------------------------------------------------------------- internals

  addressOf(id: string): string {
    if (id === this.opts.id) return this.opts.address;
    return this.servers.get(id)?.address ?? this.known.get(id)?.address ?? '';
  }

  private nameOf(id: string): string {
    if (id === this.opts.id) return this.opts.name;
    return this.servers.get(id)?.name ?? this.known.get(id)?.name ?? id;
  }

  /** bootstrap_expect: once enough servers are alive and none has Raft state, bootstrap with all of them. */
  private async maybeBootstrap(): Promise<void> {
    const expect = this.opts.bootstrapExpect;
    if (this.bootstrapTried || expect <= 0 || this.stopped) return;
    const alive = [...this.servers.values()].filter((s) => s.status === 'alive' && s.expect > 0);
    if (!alive.some((s) => s.id === this.opts.id)) alive.push({ id: this.opts.id, name: this.opts.name, address: this.opts.address, status: 'alive', expect });
    if (alive.length < expect) return;
    for (const s of alive) {
      if (s.expect !== expect) {
        this.log.error(`raft: server ${s.name} expects ${s.expect} servers, this one ${expect}; not bootstrapping`);
        return;
      }
    }
    this.bootstrapTried = true;
    if (this.opts.peerHasState) {
      for (const s of alive) {
        if (s.id === this.opts.id) continue;
        try {
          if (await this.opts.peerHasState(s)) {
            this.log.info(`raft: ${s.name} already has Raft state; waiting to be added instead of bootstrapping`);
            return;
          }
        } catch (e) {
          this.log.warn(`raft: cannot ask ${s.name} for its Raft state (${(e as Error).message}); will retry`);
          this.bootstrapTried = false;
          return;
        }
      }
    }
    const conf: ConfState = { voters: alive.map((s) => s.id).sort(), learners: [] };
    const did = await this.raft.bootstrap(conf);
    this.log.info(did ? `raft: bootstrapped with ${conf.voters.length} servers` : 'raft: existing state found; not bootstrapping');
  }

  /** Leader only: bring the Raft configuration in line with the servers gossip knows. */
  private async reconcile(): Promise<void> {
    if (this.reconciling || this.stopped || !this.raft.isLeader) return;
    this.reconciling = true;
    try {
      const conf = this.raft.conf;
      const members = new Set([...conf.voters, ...conf.learners]);
      const now = this.opts.clock.monotonic();
      for (const s of this.servers.values()) {
        if (s.id === this.opts.id || !this.raft.isLeader) continue;
        if (s.status === 'alive' && !members.has(s.id)) {
          const replaced = replacedServerIds([...members].filter((id) => id !== this.opts.id), this.known, s);
          if (replaced.length > 0) {
            const old = replaced[0] as string;
            this.log.warn(`raft: removing server ID ${old}, replaced by ${s.name} (${s.address}) with new ID ${s.id}`);
            await this.raft.proposeConfChange({ type: ConfChangeType.RemoveNode, nodeId: old });
            return;
          }
          this.log.info(`raft: adding server ${s.name} (${s.address}) as a non-voter`);
          await this.raft.proposeConfChange({ type: ConfChangeType.AddLearner, nodeId: s.id, address: s.address });
          return;
        }
        if (s.status === 'alive' && conf.learners.includes(s.id) && this.raft.isCaughtUp(s.id, 16)) {
          this.log.info(`raft: promoting ${s.name} to voter (caught up)`);
          await this.raft.proposeConfChange({ type: ConfChangeType.PromoteVoter, nodeId: s.id });
          return;
        }
        if ((s.status === 'left' || s.status === 'leaving') && members.has(s.id)) {
          this.log.info(`raft: removing server ${s.name}, which left`);
          await this.raft.proposeConfChange({ type: ConfChangeType.RemoveNode, nodeId: s.id });
          return;
        }
      }
      // Autopilot-style dead server cleanup: one failed voter at a time, only while the healthy
      // voters stay a majority of the configuration that remains.
      for (const [id, since] of this.failedSince) {
        if (!conf.voters.includes(id) || now - since < (this.opts.deadServerAfterMs ?? 10_000)) continue;
        const healthy = conf.voters.filter((v) => v === this.opts.id || this.servers.get(v)?.status === 'alive').length;
        const remaining = conf.voters.length - 1;
        if (healthy > remaining / 2) {
          this.log.warn(`raft: removing failed server ${this.nameOf(id)}`);
          await this.raft.proposeConfChange({ type: ConfChangeType.RemoveNode, nodeId: id });
          this.failedSince.delete(id);
          return;
        }
      }
    } catch (e) {
      this.log.warn(`raft: membership reconciliation failed: ${(e as Error).message}`);
    } finally {
      this.reconciling = false;
    }
  }
}

export type ServerErrorCode = 'NotLeader' | 'NoLeader' | 'NotFound';

/** Server-side failures with a code the RPC layer carries to clients. */
export class ServerError extends Error {
  override name = 'ServerError';
  constructor(
    readonly rpcCode: ServerErrorCode,
    message: string,
  ) {
    super(message);
  }
}
