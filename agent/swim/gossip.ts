import { EventEmitter } from 'node:events';
import { SystemClock, type Clock, type TimerHandle } from '../runtime/clock.js';
import { silentLogger, type Logger } from '../runtime/logger.js';
import { randomRng, type Rng } from '../runtime/rng.js';
import { decodePacket, encodeDatagrams, encodePacket, MAX_DATAGRAM_BYTES, MAX_FRAME_BYTES } from './codec.js';
import { makeConfig, type ProfileName, type SwimConfig } from './core/config.js';
import { SwimError } from './core/errors.js';
import type { MemberInfo } from './core/membership.js';
import { formatAddress, parseAddress, type Address, type KeyringOpKind, type KeyringOpMsg, type Packet, type Tags } from './core/messages.js';
import { SwimCore, type Output, type SwimEvent } from './core/swim.js';
import { Keyring, KeyringError, type KeyringListing } from './keyring.js';
import { Transport } from './transport.js';

/** Default gossip port (Serf LAN). */
export const DEFAULT_GOSSIP_PORT = 8301;
/** User events kept for {@link Gossip.userEvents} (like Consul's event list). */
const USER_EVENT_HISTORY = 256;
/** Most ticks run in one burst when the event loop fell behind. */
const MAX_CATCH_UP_TICKS = 1000;

export interface GossipOptions {
  name: string;
  bindAddr: string;
  /** 0 picks a free port. */
  bindPort: number;
  /** Address and port other members use; default the bound ones. */
  advertiseAddr?: string;
  advertisePort?: number;
  tags?: Tags;
  profile?: ProfileName;
  /** Overrides on top of the profile. */
  config?: Partial<SwimConfig>;
  clock?: Clock;
  rng?: Rng;
  logger?: Logger;
  /** When given, every UDP and TCP payload is sealed with it and unsealed packets are dropped. */
  keyring?: Keyring;
}

export interface GossipStats {
  packetsSent: number;
  packetsReceived: number;
  bytesSent: number;
  bytesReceived: number;
  streamsOpened: number;
  streamsAccepted: number;
  /** Packets or frames that failed decryption/authentication (never parsed). */
  droppedAuth: number;
  /** Packets or frames that decrypted but did not decode. */
  droppedMalformed: number;
  awareness: number;
  members: number;
  probes: number;
  probeFailures: number;
  refutations: number;
}

export interface UserEvent {
  /** Unique per receiving agent. */
  id: string;
  name: string;
  payload: Uint8Array;
  ltime: number;
  coalesce: boolean;
}

/** Outcome of a cluster keyring change. */
export interface KeyringOpResult {
  /** Members alive when the change was started, this node included. */
  members: number;
  /** Members that applied the change, this node included. */
  acks: number;
  /** Members that answered with an error, by name. */
  errors: Record<string, string>;
}

export interface GossipEvents {
  'member-join': [MemberInfo];
  'member-update': [MemberInfo];
  'member-failed': [MemberInfo];
  'member-leave': [MemberInfo];
  'member-reap': [MemberInfo];
  'member-conflict': [MemberInfo, { addr: string; port: number }];
  'user-event': [UserEvent];
  /** The local keyring changed (a local or a remote install/use/remove); persist it. */
  'keyring-change': [];
}

/**
 * Gossip driver: owns the sockets and the tick timer around a pure {@link SwimCore}.
 * Emits `member-join`, `member-update`, `member-failed`, `member-leave`, `member-reap`,
 * `member-conflict` and `user-event` (see {@link GossipEvents}).
 */
export class Gossip extends EventEmitter<GossipEvents> {
  readonly name: string;
  readonly config: SwimConfig;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly keyring: Keyring | undefined;
  private readonly opts: GossipOptions;
  private core: SwimCore | undefined;
  private transport: Transport | undefined;
  private timer: TimerHandle | undefined;
  private startedAt = 0;
  private ticksRun = 0;
  private stopped = false;
  private readonly tickWaiters = new Set<() => void>();
  private readonly history: UserEvent[] = [];
  private eventSeq = 0;
  private readonly pendingKeyOps = new Map<string, { result: KeyringOpResult; expect: number; done: () => void }>();
  private readonly counters = {
    packetsSent: 0,
    packetsReceived: 0,
    bytesSent: 0,
    bytesReceived: 0,
    streamsOpened: 0,
    streamsAccepted: 0,
    droppedAuth: 0,
    droppedMalformed: 0,
  };

  constructor(opts: GossipOptions) {
    super();
    this.opts = opts;
    this.name = opts.name;
    this.config = makeConfig(opts.profile ?? 'lan', opts.config ?? {});
    this.clock = opts.clock ?? new SystemClock();
    this.log = (opts.logger ?? silentLogger()).child({ component: 'swim', node: opts.name });
    this.keyring = opts.keyring;
  }

  /** Binds the sockets and starts the protocol. */
  async start(): Promise<void> {
    if (this.core) throw new SwimError('swim: already started');
    const transport = new Transport({
      bindAddr: this.opts.bindAddr,
      bindPort: this.opts.bindPort,
      maxFrameBytes: MAX_FRAME_BYTES + 64,
      streamTimeoutMs: this.config.tcpTimeoutMs,
      onPacket: (from, data) => this.onPacket(from, data),
      onStream: (from, frame) => this.onStream(from, frame),
      onError: (err) => this.log.debug({ err: err.message }, 'transport error'),
    });
    const port = await transport.start();
    this.transport = transport;
    this.core = new SwimCore({
      name: this.name,
      addr: this.opts.advertiseAddr ?? this.opts.bindAddr,
      port: this.opts.advertisePort ?? port,
      tags: this.opts.tags ?? {},
      config: this.config,
      rng: this.opts.rng ?? randomRng(),
    });
    this.startedAt = this.clock.monotonic();
    this.timer = this.clock.setInterval(() => this.onTimer(), this.config.tickMs);
    this.log.info({ addr: this.address() }, 'gossip started');
  }

  /** The advertised `host:port`. */
  address(): Address {
    const c = this.requireCore();
    const self = c.member(this.name) as MemberInfo;
    return formatAddress(self.addr, self.port);
  }

  /**
   * Joins the cluster through any of `addresses` (`host` or `host:port`, default port 8301)
   * by a push-pull state exchange with each. Resolves with how many answered; rejects with
   * SwimError when none did.
   */
  async join(addresses: string[]): Promise<number> {
    const core = this.requireCore();
    const errors: string[] = [];
    const results = await Promise.all(
      addresses.map(async (a) => {
        const p = parseAddress(a, DEFAULT_GOSSIP_PORT);
        if (!p) {
          errors.push(`${a}: bad address`);
          return false;
        }
        try {
          await this.exchange(core.joinRequest(formatAddress(p.host, p.port)));
          return true;
        } catch (err) {
          errors.push(`${a}: ${(err as Error).message}`);
          return false;
        }
      }),
    );
    const n = results.filter(Boolean).length;
    if (n === 0 && addresses.length > 0) throw new SwimError(`swim: join failed: ${errors.join('; ')}`);
    return n;
  }

  /**
   * Gracefully leaves: members record this node as `left`. Resolves once the news has gone
   * out to enough peers or after `timeoutMs`. The node keeps answering until {@link shutdown}.
   */
  async leave(timeoutMs = 5000): Promise<void> {
    const core = this.requireCore();
    core.leave();
    this.flush();
    const deadline = this.clock.monotonic() + timeoutMs;
    while (!core.leaveDone() && this.clock.monotonic() < deadline && !this.stopped) await this.nextTick();
  }

  /** Stops timers and closes sockets. Idempotent. Without a prior leave, peers will see this node fail. */
  async shutdown(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.clock.clearInterval(this.timer);
    for (const w of this.tickWaiters) w();
    this.tickWaiters.clear();
    for (const p of this.pendingKeyOps.values()) p.done();
    await this.transport?.close();
  }

  members(): MemberInfo[] {
    return this.requireCore().members();
  }

  localMember(): MemberInfo {
    return this.requireCore().member(this.name) as MemberInfo;
  }

  /** Replaces this node's tags (≤ 512 bytes) and gossips them. */
  setTags(tags: Tags): void {
    this.requireCore().setTags(tags);
    this.flush();
  }

  /** Marks a (failed) member as left cluster-wide; `prune` also removes it from all lists. */
  forceLeave(name: string, prune = false): boolean {
    const ok = this.requireCore().forceLeave(name, prune);
    this.flush();
    return ok;
  }

  /** Fires a user event (name + payload ≤ 512 bytes); resolves its Lamport time. */
  fireEvent(name: string, payload: Uint8Array | string = new Uint8Array(0), coalesce = true): number {
    const bytes = typeof payload === 'string' ? new TextEncoder().encode(payload) : payload;
    const ltime = this.requireCore().fireEvent(name, bytes, coalesce);
    this.flush();
    return ltime;
  }

  /** Recent user events seen by this node, oldest first. */
  userEvents(): UserEvent[] {
    return [...this.history];
  }

  stats(): GossipStats {
    const s = this.requireCore().stats();
    return {
      ...this.counters,
      awareness: s.awareness,
      members: this.requireCore().numLive(),
      probes: s.probes,
      probeFailures: s.probeFailures,
      refutations: s.refutations,
    };
  }

  /** Local keyring contents; throws when encryption is not enabled. */
  listKeys(): KeyringListing {
    return this.requireKeyring().list();
  }

  /**
   * Cluster keyring changes, done as a broadcast rather than Serf's query: the change is
   * applied locally, gossiped to every member (sealed with the current primary key), each
   * member applies it and answers this node directly. Resolves when every member alive at
   * the start has answered or after `timeoutMs`, with the counts.
   */
  installKey(key: string, timeoutMs = 5000): Promise<KeyringOpResult> {
    return this.keyringOp('install', key, timeoutMs);
  }

  useKey(key: string, timeoutMs = 5000): Promise<KeyringOpResult> {
    return this.keyringOp('use', key, timeoutMs);
  }

  removeKey(key: string, timeoutMs = 5000): Promise<KeyringOpResult> {
    return this.keyringOp('remove', key, timeoutMs);
  }

  // ---------------------------------------------------------------- internals

  private async keyringOp(op: KeyringOpKind, key: string, timeoutMs: number): Promise<KeyringOpResult> {
    const core = this.requireCore();
    applyKeyOp(this.requireKeyring(), op, key);
    this.emit('keyring-change');
    const members = core.numLive();
    const result: KeyringOpResult = { members, acks: 1, errors: {} };
    const id = core.keyringOp(op, key);
    this.flush();
    if (members <= 1) return result;
    await new Promise<void>((resolve) => {
      const t = this.clock.setTimeout(() => finish(), timeoutMs);
      const finish = (): void => {
        this.clock.clearTimeout(t);
        this.pendingKeyOps.delete(id);
        resolve();
      };
      this.pendingKeyOps.set(id, { result, expect: members, done: finish });
    });
    return result;
  }

  private onKeyringOp(op: KeyringOpMsg): void {
    const core = this.core as SwimCore;
    if (op.origin === this.name) return;
    try {
      applyKeyOp(this.requireKeyring(), op.op, op.key);
      core.keyringAck(op, true);
      this.emit('keyring-change');
    } catch (err) {
      core.keyringAck(op, false, (err as Error).message);
    }
  }

  private requireCore(): SwimCore {
    if (!this.core) throw new SwimError('swim: not started');
    return this.core;
  }

  private requireKeyring(): Keyring {
    if (!this.keyring) throw new KeyringError('keyring: encryption is not enabled');
    return this.keyring;
  }

  private onTimer(): void {
    if (this.stopped || !this.core) return;
    const due = Math.floor((this.clock.monotonic() - this.startedAt) / this.config.tickMs) - this.ticksRun;
    if (due <= 0) return;
    const n = Math.min(due, MAX_CATCH_UP_TICKS);
    for (let i = 0; i < n; i++) {
      this.core.tick();
      this.flush();
    }
    this.ticksRun += due;
    if (this.tickWaiters.size > 0) {
      const ws = [...this.tickWaiters];
      this.tickWaiters.clear();
      for (const w of ws) w();
    }
  }

  private nextTick(): Promise<void> {
    return new Promise((resolve) => this.tickWaiters.add(resolve));
  }

  /** Carries out everything the core asked for. */
  private flush(): void {
    const core = this.core;
    if (!core || this.stopped) return;
    for (const o of core.takeOutputs()) this.perform(o);
  }

  private perform(o: Output): void {
    switch (o.kind) {
      case 'udp': {
        for (const d of encodeDatagrams(o.packet, this.config.compression)) {
          const data = this.seal(d);
          this.counters.packetsSent++;
          this.counters.bytesSent += data.length;
          this.transport?.sendUdp(o.to, data);
        }
        return;
      }
      case 'stream':
        this.exchange(o).catch((err: Error) => this.log.debug({ to: o.to, err: err.message }, 'stream failed'));
        return;
      case 'event':
        try {
          this.deliver(o.event);
        } catch (err) {
          // A throwing listener must not cost the outputs queued behind its event.
          this.log.error({ err: (err as Error).message, event: o.event.type }, 'event listener threw');
        }
        return;
    }
  }

  /** Sends a stream request and feeds the reply to the core. */
  private async exchange(o: Output & { kind: 'stream' }): Promise<void> {
    const transport = this.transport;
    if (!transport) throw new SwimError('swim: not started');
    const frame = this.seal(encodePacket(o.packet));
    this.counters.streamsOpened++;
    this.counters.bytesSent += frame.length;
    const reply = await transport.request(o.to, frame, this.config.tcpTimeoutMs);
    this.counters.bytesReceived += reply.length;
    const packet = this.open(reply, MAX_FRAME_BYTES);
    if (!packet) throw new SwimError(`swim: bad reply from ${o.to}`);
    if (this.stopped || !this.core) return;
    this.core.handle(o.to, packet);
    this.flush();
  }

  private onPacket(from: Address, data: Uint8Array): void {
    if (this.stopped || !this.core) return;
    this.counters.packetsReceived++;
    this.counters.bytesReceived += data.length;
    const packet = this.open(data, MAX_DATAGRAM_BYTES);
    if (!packet) return;
    this.core.handle(from, packet);
    this.flush();
  }

  private onStream(from: Address, frame: Uint8Array): Uint8Array | undefined {
    if (this.stopped || !this.core) return undefined;
    this.counters.streamsAccepted++;
    this.counters.bytesReceived += frame.length;
    const packet = this.open(frame, MAX_FRAME_BYTES);
    if (!packet) return undefined;
    const reply = this.core.handleStream(from, packet);
    this.flush();
    if (!reply) return undefined;
    const out = this.seal(encodePacket(reply));
    this.counters.bytesSent += out.length;
    return out;
  }

  private seal(data: Uint8Array): Uint8Array {
    return this.keyring ? this.keyring.encrypt(data) : data;
  }

  /** Unseals (when encrypted) and decodes; counts and drops anything bad. */
  private open(data: Uint8Array, max: number): Packet | undefined {
    let plain = data;
    if (this.keyring) {
      const p = data.length <= max + 64 ? this.keyring.decrypt(data) : undefined;
      if (!p) {
        this.counters.droppedAuth++;
        return undefined;
      }
      plain = p;
    }
    const r = decodePacket(plain, max);
    if (!r.ok) {
      this.counters.droppedMalformed++;
      this.log.debug({ err: r.error }, 'dropped packet');
      return undefined;
    }
    return r.packet;
  }

  private deliver(e: SwimEvent): void {
    switch (e.type) {
      case 'member-join':
      case 'member-update':
      case 'member-failed':
      case 'member-leave':
      case 'member-reap':
        this.log.debug({ member: e.member.name, status: e.member.status }, e.type);
        this.emit(e.type, e.member);
        return;
      case 'member-conflict':
        this.log.warn({ member: e.member.name, addr: e.member.addr, claimed: formatAddress(e.claimedAddr, e.claimedPort) }, 'name conflict: refused');
        this.emit('member-conflict', e.member, { addr: e.claimedAddr, port: e.claimedPort });
        return;
      case 'user-event': {
        const ev: UserEvent = { id: `${this.name}-${this.eventSeq++}`, name: e.name, payload: e.payload, ltime: e.ltime, coalesce: e.coalesce };
        this.history.push(ev);
        if (this.history.length > USER_EVENT_HISTORY) this.history.shift();
        this.emit('user-event', ev);
        return;
      }
      case 'keyring-op':
        this.onKeyringOp(e.op);
        return;
      case 'keyring-ack': {
        const p = this.pendingKeyOps.get(e.ack.id);
        if (!p) return;
        if (e.ack.ok) p.result.acks++;
        else p.result.errors[e.ack.node] = e.ack.error;
        if (p.result.acks + Object.keys(p.result.errors).length >= p.expect) p.done();
        return;
      }
    }
  }
}

function applyKeyOp(k: Keyring, op: KeyringOpKind, key: string): void {
  if (op === 'install') k.install(key);
  else if (op === 'use') k.use(key);
  else k.remove(key);
}
