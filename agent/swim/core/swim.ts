import type { Rng } from '../../runtime/rng.js';
import { Awareness } from './awareness.js';
import { BroadcastQueue, retransmitLimit } from './broadcast.js';
import { msToTicks, type SwimConfig } from './config.js';
import { SwimError } from './errors.js';
import { EventDedup, LamportClock } from './events.js';
import { isLive, memberInfo, MemberTable, sameTags, type Member, type MemberInfo } from './membership.js';
import {
  MAX_EVENT_BYTES,
  MAX_TAGS_BYTES,
  COMPRESSED_PACKET_BYTES,
  MAX_UDP_PACKET,
  MsgType,
  PACKET_OVERHEAD,
  PROTOCOL_MAX,
  PROTOCOL_MIN,
  PROTOCOL_VERSION,
  WireStatus,
  estimateSize,
  formatAddress,
  tagsSize,
  utf8Length,
  type Address,
  type AliveMsg,
  type DeadMsg,
  type KeyringAckMsg,
  type KeyringOpKind,
  type KeyringOpMsg,
  type Message,
  type NodeState,
  type Packet,
  type PushPullMsg,
  type SuspectMsg,
  type Tags,
  type UserEventMsg,
} from './messages.js';
import { ProbeOrder, type ProbeState, type RelayState } from './probe.js';
import { pushPullScale } from './pushpull.js';
import { expectedConfirmations, Suspicion, suspicionTimeout } from './suspicion.js';

/** Something the application should know about. */
export type SwimEvent =
  | { type: 'member-join' | 'member-update' | 'member-failed' | 'member-leave' | 'member-reap'; member: MemberInfo }
  /** A packet claimed a known live name from another address; it was refused. */
  | { type: 'member-conflict'; member: MemberInfo; claimedAddr: string; claimedPort: number }
  | { type: 'user-event'; name: string; payload: Uint8Array; ltime: number; coalesce: boolean }
  /** A cluster keyring change to apply locally; answer with {@link SwimCore.keyringAck}. */
  | { type: 'keyring-op'; op: KeyringOpMsg }
  | { type: 'keyring-ack'; ack: KeyringAckMsg };

/**
 * Work for the driver:
 * - `udp`: send `packet` as one datagram to `to`.
 * - `stream`: open TCP to `to`, send `packet` as one frame, read one reply frame and pass it
 *   to {@link SwimCore.handle}; on error or timeout simply drop it.
 * - `event`: deliver to the application.
 */
export type Output =
  | { kind: 'udp'; to: Address; packet: Packet }
  | { kind: 'stream'; to: Address; packet: Packet }
  | { kind: 'event'; event: SwimEvent };

export interface SwimCoreOptions {
  name: string;
  /** Advertised address and port of this member. */
  addr: string;
  port: number;
  tags?: Tags;
  config: SwimConfig;
  rng: Rng;
  /** Starting incarnation (e.g. restored after a restart); default 0. */
  incarnation?: number;
}

export interface SwimCoreStats {
  awareness: number;
  probes: number;
  probeFailures: number;
  refutations: number;
  /** Accusations about this node at an already refuted incarnation, answered directly. */
  staleAccusations: number;
  /** Failure verdicts ignored because the member that declared them is suspect, failed or left here. */
  staleVerdicts: number;
  /** Unconfirmed suspicions told to the suspect directly before a verdict. */
  lastCalls: number;
  droppedVersion: number;
  queuedBroadcasts: number;
}

/** Ticks derived from {@link SwimConfig}. */
interface Ticks {
  probeInterval: number;
  probeTimeout: number;
  gossip: number;
  gossipEager: number;
  gossipToTheDead: number;
  pushPull: number;
  reconnect: number;
  reconnectTimeout: number;
  tombstone: number;
  reap: number;
}

const VSN: [number, number, number] = [PROTOCOL_MIN, PROTOCOL_MAX, PROTOCOL_VERSION];
const KEYRING_SEEN_MAX = 1024;

/**
 * The SWIM + Lifeguard protocol as a deterministic state machine. It never performs I/O:
 * the driver calls {@link tick} once per `config.tickMs`, feeds every received packet to
 * {@link handle} (UDP, or a TCP reply) or {@link handleStream} (a TCP request), and carries
 * out what {@link takeOutputs} returns. Time is the tick count; randomness comes from the
 * injected Rng, so equal inputs give equal outputs.
 */
export class SwimCore {
  readonly name: string;
  readonly config: SwimConfig;
  private readonly rng: Rng;
  private readonly t: Ticks;
  /** Bytes of messages one UDP packet may carry (before compression and encryption). */
  private readonly packetBytes: number;
  private now = 0;
  private readonly self: Member;
  private readonly table = new MemberTable();
  private readonly order: ProbeOrder;
  private readonly awareness: Awareness;
  private readonly suspicions = new Map<string, Suspicion>();
  private readonly queue = new BroadcastQueue();
  private readonly eventClock = new LamportClock();
  private readonly dedup: EventDedup;
  private readonly keyringSeen = new Set<string>();
  private outputs: Output[] = [];
  private seq = 0;
  private probe: ProbeState | undefined;
  private readonly relays = new Map<number, RelayState>();
  private nextProbeAt: number;
  private nextGossipAt: number;
  private lastGossipAt = -Infinity;
  /** Tick of the pending eager gossip round, Infinity when none is due. */
  private nextEagerAt = Infinity;
  private eagerRound = 0;
  /** True while handling a received packet: news queued then is relayed, not first-hand. */
  private relaying = false;
  private nextPushPullAt: number;
  private nextReconnectAt: number;
  private nextReapAt: number;
  private leaving = false;
  private keyringOpCounter = 0;
  private readonly counters = { probes: 0, probeFailures: 0, refutations: 0, staleAccusations: 0, staleVerdicts: 0, lastCalls: 0, droppedVersion: 0 };

  constructor(opts: SwimCoreOptions) {
    if (!opts.name || utf8Length(opts.name) > 128) throw new SwimError('swim: node name must be 1..128 bytes');
    const tags = { ...(opts.tags ?? {}) };
    checkTags(tags);
    this.name = opts.name;
    this.config = opts.config;
    this.rng = opts.rng;
    const c = opts.config;
    const tk = (ms: number): number => msToTicks(ms, c.tickMs);
    this.t = {
      probeInterval: tk(c.probeIntervalMs),
      probeTimeout: tk(c.probeTimeoutMs),
      gossip: tk(c.gossipIntervalMs),
      gossipEager: tk(c.gossipEagerMs),
      gossipToTheDead: tk(c.gossipToTheDeadMs),
      pushPull: tk(c.pushPullIntervalMs),
      reconnect: tk(c.reconnectIntervalMs),
      reconnectTimeout: tk(c.reconnectTimeoutMs),
      tombstone: tk(c.tombstoneTimeoutMs),
      reap: tk(c.reapIntervalMs),
    };
    this.packetBytes = (c.compression ? COMPRESSED_PACKET_BYTES : MAX_UDP_PACKET) - PACKET_OVERHEAD;
    this.order = new ProbeOrder(this.rng);
    this.awareness = new Awareness(c.awarenessMaxMultiplier);
    this.dedup = new EventDedup(c.eventBufferSize);
    this.self = {
      name: opts.name,
      addr: opts.addr,
      port: opts.port,
      tags,
      incarnation: opts.incarnation ?? 0,
      status: 'alive',
      statusSince: 0,
      vsn: [...VSN],
    };
    this.table.add(this.self);
    // Announce ourselves (memberlist's setAlive): once joined, our own alive message goes out
    // with the first gossip rounds, besides what the member we joined through relays.
    this.queue.push(this.name, this.aliveSelf());
    // Stagger periodic work so members started together do not act in lockstep.
    this.nextProbeAt = 1 + this.rng.int(this.t.probeInterval);
    this.nextGossipAt = 1 + this.rng.int(Math.max(1, this.t.gossip));
    this.nextPushPullAt = this.t.pushPull > 0 ? 1 + this.rng.int(this.t.pushPull) : Infinity;
    this.nextReconnectAt = this.t.reconnect > 0 ? 1 + this.rng.int(this.t.reconnect) : Infinity;
    this.nextReapAt = Math.max(1, this.t.reap);
  }

  // ---------------------------------------------------------------- driver interface

  /** Advances time by one tick and runs whatever falls due. */
  tick(): void {
    this.now++;
    const p = this.probe;
    if (p) {
      if (!p.acked && !p.indirectSent && this.now >= p.timeoutAt) this.sendIndirect(p);
      if (this.now >= p.deadline) this.finishProbe(p, false);
    }
    if (!this.probe && !this.leaving && this.now >= this.nextProbeAt) this.startProbe();
    if (this.relays.size > 0) {
      for (const [seq, r] of this.relays) {
        if (this.now < r.deadline) continue;
        this.relays.delete(seq);
        if (r.wantNack) this.sendUdp(r.originAddr, [{ t: MsgType.Nack, seq: r.originSeq }]);
      }
    }
    if (this.suspicions.size > 0) {
      for (const [name, s] of this.suspicions) {
        const m = this.table.get(name);
        // The first last call goes out one probe interval before the timer runs out, so a
        // suspect that does not refute is declared failed on time.
        if (m && m.status === 'suspect' && s.lastCallCount() === 0 && this.now >= s.expiresAt() - this.t.probeInterval) this.lastCall(m, s);
        if (this.now < s.expiresAt()) continue;
        if (m && m.status === 'suspect' && !s.mayConclude(this.awareness.getScore() < this.config.awarenessMaxMultiplier / 2, this.config.awarenessMaxMultiplier)) {
          this.lastCall(m, s);
          continue;
        }
        this.suspicions.delete(name);
        if (m && m.status === 'suspect') this.deadNode({ t: MsgType.Dead, node: name, inc: m.incarnation, from: this.name });
      }
    }
    if (this.now >= this.nextGossipAt) {
      this.nextGossipAt = this.now + Math.max(1, this.t.gossip);
      this.nextEagerAt = Infinity;
      this.gossip();
    } else if (this.now >= this.nextEagerAt) {
      this.nextEagerAt = Infinity;
      this.gossip(++this.eagerRound);
    }
    if (this.now >= this.nextPushPullAt) {
      this.nextPushPullAt = this.now + pushPullScale(this.t.pushPull, this.table.liveCount());
      if (!this.leaving) this.periodicPushPull();
    }
    if (this.now >= this.nextReconnectAt) {
      this.nextReconnectAt = this.now + this.t.reconnect;
      if (!this.leaving) this.reconnect();
    }
    if (this.now >= this.nextReapAt) {
      this.nextReapAt = this.now + Math.max(1, this.t.reap);
      this.reap();
    }
  }

  /**
   * A packet received by UDP, or the reply to a `stream` output. News learnt here is relayed
   * news: it waits for the gossip timer (see {@link broadcast}).
   */
  handle(from: Address, packet: Packet): void {
    if (!this.versionOk(packet)) return;
    this.relaying = true;
    try {
      for (const m of packet.msgs) this.handleMsg(from, m);
    } finally {
      this.relaying = false;
    }
  }

  /**
   * A packet received as a TCP request. Returns the reply frame to write back, if any:
   * an ack for a fallback ping, this node's state for a push-pull (built after merging the
   * sender's state, so it already carries any refutation).
   */
  handleStream(from: Address, packet: Packet): Packet | undefined {
    if (!this.versionOk(packet)) return undefined;
    const reply: Message[] = [];
    for (const m of packet.msgs) {
      if (m.t === MsgType.Ping) {
        if (m.target === this.name) reply.push({ t: MsgType.Ack, seq: m.seq });
      } else if (m.t === MsgType.PushPull && !m.reply) {
        this.mergeState(m);
        reply.push(this.pushPullMsg(m.join, true));
      } else {
        this.handleMsg(from, m);
      }
    }
    return reply.length > 0 ? { v: PROTOCOL_VERSION, msgs: reply } : undefined;
  }

  /** Everything queued for the driver since the last call, in order. */
  takeOutputs(): Output[] {
    const out = this.outputs;
    this.outputs = [];
    return out;
  }

  // ---------------------------------------------------------------- application interface

  /** The join request to send (as a `stream`) to an existing member at `to`. */
  joinRequest(to: Address): Output & { kind: 'stream' } {
    return { kind: 'stream', to, packet: { v: PROTOCOL_VERSION, msgs: [this.pushPullMsg(true, false)] } };
  }

  /**
   * Graceful leave: this node is recorded as `left` and the news gossiped. The node keeps
   * answering probes and gossiping until the driver shuts it down; see {@link leaveDone}.
   */
  leave(): void {
    if (this.leaving) return;
    this.leaving = true;
    this.probe = undefined;
    this.deadNode({ t: MsgType.Dead, node: this.name, inc: this.self.incarnation, from: this.name });
    this.gossip();
  }

  /**
   * True once the leave message has been transmitted its full retransmit limit (it has left
   * the broadcast queue), or when there is no live peer to tell.
   */
  leaveDone(): boolean {
    if (!this.leaving) return false;
    if (this.table.liveCount() === 0) return true;
    return this.queue.transmits(this.name) === undefined;
  }

  isLeaving(): boolean {
    return this.leaving;
  }

  /** Replaces this node's tags and gossips them. Throws SwimError when they exceed 512 bytes. */
  setTags(tags: Tags): void {
    const copy = { ...tags };
    checkTags(copy);
    this.self.tags = copy;
    this.self.incarnation++;
    this.broadcast(this.name, this.aliveSelf());
  }

  /**
   * Records `name` as left on every member (Serf force-leave), for a member that is failed
   * or gone for good. With `prune` it is also removed from every member list at once.
   * Returns false for unknown names and for this node.
   */
  forceLeave(name: string, prune = false): boolean {
    const m = this.table.get(name);
    if (!m || m === this.self) return false;
    const d: DeadMsg = { t: MsgType.Dead, node: name, inc: m.incarnation, from: name };
    if (prune) d.prune = true;
    this.applyLeaveIntent(m, d);
    return true;
  }

  /** Fires a user event to the whole cluster (delivered locally too). */
  fireEvent(name: string, payload: Uint8Array, coalesce = true): number {
    if (!name) throw new SwimError('swim: event name must not be empty');
    if (utf8Length(name) + payload.length > MAX_EVENT_BYTES) {
      throw new SwimError(`swim: user event exceeds ${MAX_EVENT_BYTES} bytes`);
    }
    const ltime = this.eventClock.increment();
    const msg: UserEventMsg = { t: MsgType.UserEvent, ltime, name, payload, coalesce };
    this.dedup.record(ltime, name, payload, this.eventClock.now());
    this.broadcast(`ev:${ltime}:${name}:${this.seq++}`, msg);
    this.emit({ type: 'user-event', name, payload, ltime, coalesce });
    return ltime;
  }

  /** Starts a cluster keyring change; returns its id. Acks arrive as `keyring-ack` events. */
  keyringOp(op: KeyringOpKind, key: string): string {
    const id = `${this.name}/${this.now}/${this.keyringOpCounter++}/${this.rng.int(1 << 30)}`;
    const msg: KeyringOpMsg = { t: MsgType.KeyringOp, id, op, key, origin: this.name, addr: this.self.addr, port: this.self.port };
    this.rememberKeyringOp(id);
    this.broadcast(`kr:${id}`, msg);
    return id;
  }

  /** Answers the origin of a keyring change. */
  keyringAck(op: KeyringOpMsg, ok: boolean, error = ''): void {
    const ack: KeyringAckMsg = { t: MsgType.KeyringAck, id: op.id, node: this.name, ok, error };
    if (op.origin === this.name) {
      this.emit({ type: 'keyring-ack', ack });
      return;
    }
    this.sendUdp(formatAddress(op.addr, op.port), [ack]);
  }

  members(): MemberInfo[] {
    return [...this.table.all()].map(memberInfo);
  }

  member(name: string): MemberInfo | undefined {
    const m = this.table.get(name);
    return m ? memberInfo(m) : undefined;
  }

  /** Members that are alive or suspect, this node included. */
  numLive(): number {
    return this.table.liveCount();
  }

  incarnation(): number {
    return this.self.incarnation;
  }

  currentTick(): number {
    return this.now;
  }

  eventTime(): number {
    return this.eventClock.now();
  }

  stats(): SwimCoreStats {
    return { awareness: this.awareness.getScore(), queuedBroadcasts: this.queue.size(), ...this.counters };
  }

  // ---------------------------------------------------------------- probing

  private startProbe(): void {
    const target = this.order.next(
      (n) => {
        const m = this.table.get(n);
        return m !== undefined && m !== this.self && isLive(m.status);
      },
      (n) => this.table.get(n) !== undefined && n !== this.name,
    );
    if (target === undefined) {
      this.nextProbeAt = this.now + this.t.probeInterval;
      return;
    }
    const m = this.table.get(target) as Member;
    const interval = this.awareness.scale(this.t.probeInterval);
    const timeout = this.awareness.scale(this.t.probeTimeout);
    const p: ProbeState = {
      seq: ++this.seq,
      target,
      timeoutAt: this.now + timeout,
      deadline: this.now + interval,
      acked: false,
      indirectSent: false,
      expectedNacks: 0,
      nacks: 0,
    };
    this.probe = p;
    this.nextProbeAt = this.now + interval;
    this.counters.probes++;
    const msgs: Message[] = [{ t: MsgType.Ping, seq: p.seq, target, from: this.name }];
    // Buddy system: tell a suspect directly that it is suspected so it can refute at once.
    if (m.status === 'suspect') msgs.push({ t: MsgType.Suspect, node: target, inc: m.incarnation, from: this.name });
    this.sendUdp(formatAddress(m.addr, m.port), msgs);
  }

  /**
   * A suspicion is about to run out. Before the verdict the suspect is told directly (the
   * accusation ahead of a ping, so the ack carries its refutation) and gets one probe
   * interval to refute; silence then ends in the verdict as before. The first last call is
   * made one probe interval before the timer expires, so it costs a real failure no
   * detection time (only when confirmations move the deadline to less than one interval
   * away does the verdict wait for the rest of the grace). The suspect may never have heard of
   * the suspicion: when this node raised it while itself cut off or paused it was gossiped
   * into the void, and confirmations may come from members just as stale. A verdict then
   * would be believed by every member holding the same incarnation. While this node's own
   * health is degraded (Lifeguard awareness above 0: it has been missing acks, as after a
   * partition), the last call is repeated up to `awarenessMaxMultiplier` times, so the
   * verdict waits for its links to be trusted again (on such a node a real failure takes
   * longer to declare).
   */
  private lastCall(m: Member, s: Suspicion): void {
    s.lastCall(this.now, this.t.probeInterval);
    this.counters.lastCalls++;
    this.sendUdp(formatAddress(m.addr, m.port), [
      { t: MsgType.Suspect, node: m.name, inc: m.incarnation, from: this.name },
      { t: MsgType.Ping, seq: ++this.seq, target: m.name, from: this.name },
    ]);
  }

  private sendIndirect(p: ProbeState): void {
    p.indirectSent = true;
    const target = this.table.get(p.target);
    if (!target) return;
    const helpers = this.randomMembers(this.config.indirectChecks, (m) => m.status === 'alive' && m.name !== p.target);
    for (const h of helpers) {
      this.sendUdp(formatAddress(h.addr, h.port), [
        { t: MsgType.PingReq, seq: p.seq, target: p.target, addr: target.addr, port: target.port, nack: true, from: this.name },
      ]);
    }
    p.expectedNacks = helpers.length;
    // TCP fallback: reaches the target when only UDP is being lost.
    this.outputs.push({
      kind: 'stream',
      to: formatAddress(target.addr, target.port),
      packet: { v: PROTOCOL_VERSION, msgs: [{ t: MsgType.Ping, seq: p.seq, target: p.target, from: this.name }] },
    });
  }

  private finishProbe(p: ProbeState, success: boolean): void {
    this.probe = undefined;
    if (success) {
      this.awareness.applyDelta(-1);
      return;
    }
    this.counters.probeFailures++;
    // Lifeguard: missed nacks mean our own links or loop are the likely problem.
    this.awareness.applyDelta(p.expectedNacks > 0 ? Math.max(0, p.expectedNacks - p.nacks) : 1);
    // Also for a member already suspect: our own failed probe is an independent confirmation.
    const m = this.table.get(p.target);
    if (m && isLive(m.status)) this.suspectNode({ t: MsgType.Suspect, node: m.name, inc: m.incarnation, from: this.name });
  }

  // ---------------------------------------------------------------- messages

  private versionOk(packet: Packet): boolean {
    if (packet.v < PROTOCOL_MIN || packet.v > PROTOCOL_MAX) {
      this.counters.droppedVersion++;
      return false;
    }
    return true;
  }

  private handleMsg(from: Address, msg: Message): void {
    switch (msg.t) {
      case MsgType.Ping:
        if (msg.target === this.name) this.sendUdp(from, [{ t: MsgType.Ack, seq: msg.seq }]);
        return;
      case MsgType.PingReq: {
        const seq = ++this.seq;
        this.relays.set(seq, {
          originSeq: msg.seq,
          originAddr: from,
          wantNack: msg.nack,
          deadline: this.now + this.t.probeTimeout,
        });
        this.sendUdp(formatAddress(msg.addr, msg.port), [{ t: MsgType.Ping, seq, target: msg.target, from: this.name }]);
        return;
      }
      case MsgType.Ack: {
        const p = this.probe;
        if (p && p.seq === msg.seq && !p.acked) {
          p.acked = true;
          this.finishProbe(p, true);
          return;
        }
        const r = this.relays.get(msg.seq);
        if (r) {
          this.relays.delete(msg.seq);
          this.sendUdp(r.originAddr, [{ t: MsgType.Ack, seq: r.originSeq }]);
        }
        return;
      }
      case MsgType.Nack: {
        const p = this.probe;
        if (p && p.seq === msg.seq) p.nacks++;
        return;
      }
      case MsgType.Suspect:
        this.suspectNode(msg);
        return;
      case MsgType.Alive:
        this.aliveNode(msg);
        return;
      case MsgType.Dead:
        this.deadNode(msg);
        return;
      case MsgType.PushPull:
        this.mergeState(msg);
        return;
      case MsgType.UserEvent:
        this.handleUserEvent(msg);
        return;
      case MsgType.KeyringOp:
        if (this.keyringSeen.has(msg.id)) return;
        this.rememberKeyringOp(msg.id);
        this.broadcast(`kr:${msg.id}`, msg);
        this.emit({ type: 'keyring-op', op: msg });
        return;
      case MsgType.KeyringAck:
        this.emit({ type: 'keyring-ack', ack: msg });
        return;
    }
  }

  // ---------------------------------------------------------------- state transitions

  private aliveNode(a: AliveMsg): void {
    if (this.leaving && a.node === this.name) return;
    if (tagsSize(a.tags) > MAX_TAGS_BYTES) return;
    const m = this.table.get(a.node);
    if (!m) {
      const fresh: Member = {
        name: a.node,
        addr: a.addr,
        port: a.port,
        tags: { ...a.tags },
        incarnation: a.inc,
        status: 'alive',
        statusSince: this.now,
        vsn: [...a.vsn],
      };
      this.table.add(fresh);
      this.order.add(fresh.name);
      this.broadcast(a.node, a);
      this.emit({ type: 'member-join', member: memberInfo(fresh) });
      return;
    }
    const isSelf = m === this.self;
    const moved = m.addr !== a.addr || m.port !== a.port;
    if (moved) {
      // Identity is the name: a live member's name cannot be claimed from another address.
      // A failed or left member may come back elsewhere.
      if (isSelf || isLive(m.status)) {
        this.emit({ type: 'member-conflict', member: memberInfo(m), claimedAddr: a.addr, claimedPort: a.port });
        return;
      }
    }
    if (isSelf) {
      if (a.inc < m.incarnation) return;
      if (a.inc === m.incarnation && sameTags(a.tags, m.tags)) return;
      // Someone holds a different view of us at our incarnation or newer: refute.
      this.refute(a.inc);
      return;
    }
    if (a.inc <= m.incarnation && !moved) return;
    if (a.inc < m.incarnation) return;
    this.suspicions.delete(m.name);
    this.broadcast(a.node, a);
    const wasLive = isLive(m.status);
    const changed = moved || !sameTags(m.tags, a.tags);
    m.incarnation = a.inc;
    m.addr = a.addr;
    m.port = a.port;
    m.tags = { ...a.tags };
    m.vsn = [...a.vsn];
    this.table.setStatus(m, 'alive', this.now);
    if (!wasLive) this.emit({ type: 'member-join', member: memberInfo(m) });
    else if (changed) this.emit({ type: 'member-update', member: memberInfo(m) });
  }

  private suspectNode(s: SuspectMsg): void {
    const m = this.table.get(s.node);
    if (!m) return;
    if (s.inc < m.incarnation) {
      if (m === this.self) this.answerStaleAccusation(s.from);
      return;
    }
    const existing = this.suspicions.get(s.node);
    if (existing && m.status === 'suspect') {
      if (existing.confirm(s.from)) this.broadcast(s.node, s);
      return;
    }
    if (m.status !== 'alive') return;
    if (m === this.self) {
      if (!this.leaving) this.refute(s.inc);
      return;
    }
    this.broadcast(s.node, s);
    m.incarnation = s.inc;
    this.table.setStatus(m, 'suspect', this.now);
    const n = this.table.liveCount();
    const k = expectedConfirmations(this.config.indirectChecks, n);
    const min = suspicionTimeout(this.config.suspicionMult, n, this.t.probeInterval);
    const max = this.config.suspicionMaxTimeoutMult * min;
    this.suspicions.set(s.node, new Suspicion(this.now, k, min, max, s.from));
  }

  private deadNode(d: DeadMsg): void {
    const m = this.table.get(d.node);
    if (!m) return;
    if (d.inc < m.incarnation) {
      if (m === this.self && d.from !== this.name) this.answerStaleAccusation(d.from);
      return;
    }
    if (m.status === 'failed' && d.from === d.node && m !== this.self) {
      // A leave intent (or force-leave) for a member we already consider failed.
      this.applyLeaveIntent(m, d);
      return;
    }
    if (!isLive(m.status)) {
      if (d.prune && m !== this.self) this.applyLeaveIntent(m, d);
      return;
    }
    if (m !== this.self && d.from !== d.node) {
      // A verdict declared by a member we suspect, or consider failed or left, is doubtful
      // news: most likely it was reached while that member was cut off from us or stalled
      // (its accusations then went into the void, so the accused could not refute them).
      // Ignored; if the accused is really down, healthy members will say so.
      const declarer = this.table.get(d.from);
      if (declarer && declarer.status !== 'alive') {
        this.counters.staleVerdicts++;
        return;
      }
    }
    this.suspicions.delete(d.node);
    if (m === this.self) {
      if (!this.leaving) {
        this.refute(d.inc);
        return;
      }
      this.broadcast(this.name, d);
      this.table.setStatus(m, 'left', this.now);
      return;
    }
    this.broadcast(d.node, d);
    m.incarnation = d.inc;
    const left = d.from === d.node;
    this.table.setStatus(m, left ? 'left' : 'failed', this.now);
    this.emit({ type: left ? 'member-leave' : 'member-failed', member: memberInfo(m) });
    if (d.prune) this.removeMember(m);
  }

  private applyLeaveIntent(m: Member, d: DeadMsg): void {
    this.suspicions.delete(m.name);
    const was = m.status;
    this.broadcast(m.name, d);
    m.incarnation = Math.max(m.incarnation, d.inc);
    this.table.setStatus(m, 'left', this.now);
    if (was !== 'left') this.emit({ type: 'member-leave', member: memberInfo(m) });
    if (d.prune) this.removeMember(m);
  }

  private refute(accusedInc: number): void {
    this.self.incarnation = Math.max(this.self.incarnation, accusedInc) + 1;
    this.counters.refutations++;
    this.awareness.applyDelta(1);
    this.broadcast(this.name, this.aliveSelf());
  }

  /**
   * Someone accused this node (suspect or dead) at an incarnation it has already refuted.
   * The accuser missed the refutation: a broadcast goes out only a few times, and members
   * that were paused or busy can miss every copy. Such a member keeps its suspicion even
   * though its probes are acked (only a newer incarnation clears it) and declares us failed
   * when the timer runs out. So the refutation is sent straight to the accuser (it hears
   * the buddy-system accusation on every probe it sends us) and gossiped once more, without
   * a new incarnation. Costs at most one datagram per stale accusation received.
   */
  private answerStaleAccusation(accuser: string): void {
    if (this.leaving) return;
    const a = this.table.get(accuser);
    if (a && a !== this.self && isLive(a.status)) this.sendUdp(formatAddress(a.addr, a.port), [this.aliveSelf()]);
    this.broadcast(this.name, this.aliveSelf());
    this.counters.staleAccusations++;
  }

  private aliveSelf(): AliveMsg {
    const s = this.self;
    return { t: MsgType.Alive, node: s.name, inc: s.incarnation, addr: s.addr, port: s.port, tags: { ...s.tags }, vsn: [...VSN] };
  }

  private removeMember(m: Member): void {
    this.table.remove(m.name);
    this.suspicions.delete(m.name);
    this.emit({ type: 'member-reap', member: memberInfo(m) });
  }

  // ---------------------------------------------------------------- push-pull, reconnect, reap

  private pushPullMsg(join: boolean, reply: boolean): PushPullMsg {
    const states: NodeState[] = [];
    for (const m of this.table.all()) {
      const status =
        m.status === 'alive' ? WireStatus.Alive : m.status === 'suspect' ? WireStatus.Suspect : m.status === 'left' ? WireStatus.Left : WireStatus.Dead;
      states.push({ node: m.name, addr: m.addr, port: m.port, tags: { ...m.tags }, inc: m.incarnation, status, vsn: [...m.vsn] });
    }
    return { t: MsgType.PushPull, from: this.name, join, reply, states, eventClock: this.eventClock.now() };
  }

  private mergeState(pp: PushPullMsg): void {
    this.eventClock.witness(pp.eventClock);
    for (const st of pp.states) {
      const alive: AliveMsg = { t: MsgType.Alive, node: st.node, inc: st.inc, addr: st.addr, port: st.port, tags: st.tags, vsn: st.vsn };
      switch (st.status) {
        case WireStatus.Alive:
          this.aliveNode(alive);
          break;
        case WireStatus.Left:
          this.deadNode({ t: MsgType.Dead, node: st.node, inc: st.inc, from: st.node });
          break;
        case WireStatus.Suspect:
          // Unlike memberlist, learn a suspect we never heard of before suspecting it.
          if (!this.table.get(st.node)) this.aliveNode(alive);
          this.suspectNode({ t: MsgType.Suspect, node: st.node, inc: st.inc, from: pp.from });
          break;
        case WireStatus.Dead:
          // A remote failure verdict only makes us suspect: the member may still refute.
          // Attributed to the sender (memberlist uses the receiver), so hearsay relayed by
          // push-pull never counts as an independent Lifeguard confirmation.
          this.suspectNode({ t: MsgType.Suspect, node: st.node, inc: st.inc, from: pp.from });
          break;
      }
    }
  }

  private periodicPushPull(): void {
    const [peer] = this.randomMembers(1, (m) => m.status === 'alive');
    if (!peer) return;
    this.outputs.push({
      kind: 'stream',
      to: formatAddress(peer.addr, peer.port),
      packet: { v: PROTOCOL_VERSION, msgs: [this.pushPullMsg(false, false)] },
    });
  }

  /** Serf's reconnect: with probability failed/alive, try to re-join one random failed member. */
  private reconnect(): void {
    const failed: Member[] = [];
    let left = 0;
    for (const m of this.table.all()) {
      if (m.status === 'failed') failed.push(m);
      else if (m.status === 'left') left++;
    }
    if (failed.length === 0) return;
    const alive = Math.max(1, this.table.size() - failed.length - left);
    if (this.rng.next() > failed.length / alive) return;
    const m = failed[this.rng.int(failed.length)] as Member;
    this.outputs.push(this.joinRequest(formatAddress(m.addr, m.port)));
  }

  private reap(): void {
    for (const m of [...this.table.all()]) {
      if (m === this.self) continue;
      const age = this.now - m.statusSince;
      if ((m.status === 'failed' && age >= this.t.reconnectTimeout) || (m.status === 'left' && age >= this.t.tombstone)) {
        this.removeMember(m);
      }
    }
  }

  // ---------------------------------------------------------------- gossip

  /**
   * Queues news for gossip. First-hand news (this member's own state, what its own probes and
   * timers conclude, a join or push-pull it received, a local event or keyring operation)
   * also schedules an eager round, with eager gossip on: at the next tick, but at least
   * `gossipEager` after the previous round. Relayed news (learnt from a received datagram,
   * other than about this member) waits for the timer, so an eager round costs about
   * `gossipNodes` datagrams per piece of news cluster-wide, not per member. An eager round
   * sends each message once and does not count against its retransmit limit, so memberlist's
   * retransmit schedule is kept as it is (see BroadcastQueue.take).
   */
  private broadcast(key: string, msg: Message): void {
    this.queue.push(key, msg);
    if (this.t.gossipEager <= 0 || this.nextEagerAt !== Infinity) return;
    if (this.relaying && key !== this.name) return;
    this.nextEagerAt = Math.max(this.now + 1, this.lastGossipAt + this.t.gossipEager);
  }

  /** One gossip round: the timer's, or with `eagerRound` an eager one. */
  private gossip(eagerRound?: number): void {
    this.lastGossipAt = this.now;
    if (this.queue.size() === 0) return;
    const targets = this.randomMembers(
      this.config.gossipNodes,
      (m) => isLive(m.status) || this.now - m.statusSince < this.t.gossipToTheDead,
    );
    const limit = retransmitLimit(this.config.retransmitMult, this.table.liveCount());
    for (const m of targets) {
      const msgs = this.queue.take(this.packetBytes, limit, eagerRound);
      if (msgs.length === 0) return;
      this.outputs.push({ kind: 'udp', to: formatAddress(m.addr, m.port), packet: { v: PROTOCOL_VERSION, msgs } });
    }
  }

  private handleUserEvent(msg: UserEventMsg): void {
    this.eventClock.witness(msg.ltime);
    if (!this.dedup.record(msg.ltime, msg.name, msg.payload, this.eventClock.now())) return;
    this.broadcast(`ev:${msg.ltime}:${msg.name}:${this.seq++}`, msg);
    this.emit({ type: 'user-event', name: msg.name, payload: msg.payload, ltime: msg.ltime, coalesce: msg.coalesce });
  }

  private rememberKeyringOp(id: string): void {
    this.keyringSeen.add(id);
    if (this.keyringSeen.size > KEYRING_SEEN_MAX) {
      const oldest = this.keyringSeen.values().next().value as string;
      this.keyringSeen.delete(oldest);
    }
  }

  // ---------------------------------------------------------------- helpers

  /** Sends `primary` to `to`, filling the rest of the datagram with queued broadcasts. */
  private sendUdp(to: Address, primary: Message[]): void {
    let used = 0;
    for (const m of primary) used += estimateSize(m);
    const limit = retransmitLimit(this.config.retransmitMult, this.table.liveCount());
    const extra = this.queue.take(this.packetBytes - used, limit);
    this.outputs.push({ kind: 'udp', to, packet: { v: PROTOCOL_VERSION, msgs: extra.length ? [...primary, ...extra] : primary } });
  }

  /** Up to `k` distinct random members other than this node satisfying `pred`. */
  private randomMembers(k: number, pred: (m: Member) => boolean): Member[] {
    const pool: Member[] = [];
    for (const m of this.table.all()) if (m !== this.self && pred(m)) pool.push(m);
    const out: Member[] = [];
    for (let i = 0; i < k && pool.length > 0; i++) {
      const j = this.rng.int(pool.length);
      out.push(pool[j] as Member);
      pool[j] = pool[pool.length - 1] as Member;
      pool.pop();
    }
    return out;
  }

  private emit(event: SwimEvent): void {
    this.outputs.push({ kind: 'event', event });
  }
}

function checkTags(tags: Tags): void {
  for (const [k, v] of Object.entries(tags)) {
    if (typeof v !== 'string') throw new SwimError(`swim: tag ${k} must be a string`);
  }
  const size = tagsSize(tags);
  if (size > MAX_TAGS_BYTES) throw new SwimError(`swim: tags are ${size} bytes, limit is ${MAX_TAGS_BYTES}`);
}
