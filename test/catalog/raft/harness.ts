/**
 * Test harness: Raft cores wired to MemoryStorage and an in-process network, driven
 * synchronously. Each node follows the driver contract (persist, then send, then apply,
 * then advance). Used by the paper-property tests, the data-driven tests and the simulation.
 */
import { SeededRng, type Rng } from '../../../agent/runtime/rng.js';
import { RaftCore, type RaftCoreConfig, type Ready } from '../../../catalog/raft/core/raft.js';
import type { Message } from '../../../catalog/raft/core/messages.js';
import { bootstrapHardState, bootstrapSnapshot } from '../../../catalog/raft/core/bootstrap.js';
import { MemoryStorage } from '../../../catalog/raft/memory-storage.js';
import { EntryType, type ConfState, type Entry } from '../../../catalog/raft/types.js';

/** Same shape as the driver's state machine. */
export interface TestStateMachine {
  apply(e: Entry): unknown;
  snapshot(): Uint8Array;
  restore(data: Uint8Array): void;
}

/** Records applied entries' data as strings; the snapshot is the JSON of that list. */
export class ListMachine implements TestStateMachine {
  items: string[] = [];
  apply(e: Entry): unknown {
    this.items.push(new TextDecoder().decode(e.data));
    return this.items.length;
  }
  snapshot(): Uint8Array {
    return new TextEncoder().encode(JSON.stringify(this.items));
  }
  restore(data: Uint8Array): void {
    this.items = data.length === 0 ? [] : (JSON.parse(new TextDecoder().decode(data)) as string[]);
  }
}

export type CoreOptions = Omit<RaftCoreConfig, 'id' | 'rng' | 'initial'>;

export interface ApplyEvent {
  node: string;
  entry: Entry;
  result: unknown;
}

export class TestNode {
  core!: RaftCore;
  sm: TestStateMachine;
  /** Index of the last snapshot taken locally or installed. */
  lastSnapshot = 0;
  up = true;
  constructor(
    readonly id: string,
    readonly storage: MemoryStorage,
    private readonly opts: CoreOptions,
    private readonly rng: Rng,
    private readonly makeSm: () => TestStateMachine,
  ) {
    this.sm = makeSm();
    this.boot();
  }

  /** (Re)creates the core and state machine from storage, as after a crash. */
  boot(): void {
    const initial = this.storage.loadSync();
    this.core = new RaftCore({ ...this.opts, id: this.id, rng: this.rng.fork(), initial });
    this.sm = this.makeSm();
    if (initial.snapshot) {
      this.sm.restore(initial.snapshot.data);
      this.lastSnapshot = initial.snapshot.meta.index;
    } else {
      this.lastSnapshot = 0;
    }
  }
}

export interface ClusterOptions {
  seed?: number;
  core?: CoreOptions;
  makeSm?: () => TestStateMachine;
  /** Take a snapshot when applied - lastSnapshot exceeds this (0 = never). */
  snapshotThreshold?: number;
  trailingLogs?: number;
}

/**
 * Nodes plus a FIFO message queue. Delivery policy is up to the caller: `deliverAll`
 * (reliable), or `takeMessages` to reorder, drop or delay them (the simulation does).
 */
export class Cluster {
  readonly nodes = new Map<string, TestNode>();
  readonly rng: SeededRng;
  queue: Message[] = [];
  /** Pairs "a|b" that cannot talk (both directions). */
  private cut = new Set<string>();
  onApply: ((ev: ApplyEvent) => void) | undefined;
  onReady: ((node: TestNode, rd: Ready) => void) | undefined;
  /**
   * Asked after a Ready's early messages are sent and before it is persisted; returning
   * true crashes the node right there (its unpersisted entries and hard state are lost).
   */
  crashBeforePersist: ((node: TestNode, rd: Ready) => boolean) | undefined;

  constructor(
    ids: string[],
    readonly opts: ClusterOptions = {},
  ) {
    this.rng = new SeededRng(opts.seed ?? 1);
    const conf: ConfState = { voters: [...ids], learners: [] };
    for (const id of ids) {
      const st = new MemoryStorage();
      st.saveSnapshotSync(bootstrapSnapshot(conf));
      st.saveSync(bootstrapHardState(), []);
      this.addWithStorage(id, st);
    }
  }

  private addWithStorage(id: string, st: MemoryStorage): TestNode {
    const n = new TestNode(id, st, this.opts.core ?? {}, this.rng, this.opts.makeSm ?? (() => new ListMachine()));
    this.nodes.set(id, n);
    return n;
  }

  /** A new, empty (not bootstrapped) server, to be added by a conf change. */
  addEmpty(id: string): TestNode {
    return this.addWithStorage(id, new MemoryStorage());
  }

  node(id: string): TestNode {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  core(id: string): RaftCore {
    return this.node(id).core;
  }

  ids(): string[] {
    return [...this.nodes.keys()];
  }

  // ------------------------------------------------------------ network

  private key(a: string, b: string): string {
    return a < b ? `${a}|${b}` : `${b}|${a}`;
  }

  /** Splits the cluster: nodes in different groups cannot talk. Unlisted nodes form their own group. */
  partition(groups: string[][]): void {
    this.cut.clear();
    const groupOf = new Map<string, number>();
    groups.forEach((g, i) => g.forEach((id) => groupOf.set(id, i)));
    const ids = this.ids();
    for (const a of ids) for (const b of ids) {
      if (a < b && (groupOf.get(a) ?? `x${a}`) !== (groupOf.get(b) ?? `x${b}`)) this.cut.add(this.key(a, b));
    }
  }

  isolate(id: string): void {
    this.partition([this.ids().filter((x) => x !== id), [id]]);
  }

  heal(): void {
    this.cut.clear();
  }

  canTalk(a: string, b: string): boolean {
    return !this.cut.has(this.key(a, b));
  }

  // ------------------------------------------------------------ driving

  /**
   * Runs one Ready cycle of `id` (send early messages, persist, send the rest, apply, maybe
   * snapshot, advance).
   */
  handleReady(id: string): Ready | undefined {
    const n = this.node(id);
    if (!n.up || !n.core.hasReady()) return undefined;
    const rd = n.core.ready();
    for (const m of rd.earlyMessages) this.queue.push(m);
    if (this.crashBeforePersist?.(n, rd)) {
      n.up = false;
      return rd;
    }
    if (rd.snapshot) {
      n.storage.saveSnapshotSync(rd.snapshot);
    }
    n.storage.saveSync(rd.hardState, rd.entries);
    for (const m of rd.messages) this.queue.push(m);
    if (rd.snapshot) {
      n.sm.restore(rd.snapshot.data);
      n.lastSnapshot = rd.snapshot.meta.index;
    }
    for (const e of rd.committedEntries) {
      const result = e.type === EntryType.Normal ? n.sm.apply(e) : undefined;
      this.onApply?.({ node: id, entry: e, result });
    }
    this.onReady?.(n, rd);
    n.core.advance(rd);
    const th = this.opts.snapshotThreshold ?? 0;
    if (th > 0 && n.core.log.applied - n.lastSnapshot > th) {
      const snap = n.core.snapshotTaken(n.sm.snapshot(), this.opts.trailingLogs ?? 0);
      n.storage.saveSnapshotSync(snap);
      n.lastSnapshot = snap.meta.index;
    }
    return rd;
  }

  /** Runs Ready cycles of every live node until none has work left. */
  flushReady(): void {
    for (let round = 0; round < 100; round++) {
      let any = false;
      for (const id of this.ids()) if (this.handleReady(id)) any = true;
      if (!any) return;
    }
  }

  /** Steps one message into its recipient (dropped if the recipient is down or cut off). */
  deliver(m: Message): void {
    const n = this.nodes.get(m.to);
    if (!n || !n.up || !this.canTalk(m.from, m.to)) return;
    n.core.step(m);
  }

  /** Delivers the current queue once (FIFO) and returns how many were delivered. */
  deliverAll(filter?: (m: Message) => boolean): number {
    const q = this.queue;
    this.queue = [];
    let k = 0;
    for (const m of q) {
      if (filter && !filter(m)) continue;
      this.deliver(m);
      k++;
      if (this.nodes.has(m.to)) this.handleReady(m.to);
    }
    return k;
  }

  /** Delivers messages and handles readies until the cluster is quiet. */
  stabilize(maxRounds = 1000): void {
    for (let i = 0; i < maxRounds; i++) {
      this.flushReady();
      if (this.queue.length === 0) return;
      this.deliverAll();
    }
    throw new Error(`cluster did not stabilize in ${maxRounds} rounds`);
  }

  tick(id: string, times = 1): void {
    for (let i = 0; i < times; i++) {
      if (this.node(id).up) this.node(id).core.tick();
      this.handleReady(id);
    }
  }

  tickAll(times = 1): void {
    for (let i = 0; i < times; i++) for (const id of this.ids()) this.tick(id);
  }

  campaign(id: string, force = false): void {
    this.core(id).campaign(force);
    this.handleReady(id);
  }

  /**
   * Elects `id` with reliable delivery (forced campaigns, so leases do not interfere;
   * retried as terms catch up) and returns its term.
   */
  elect(id: string): number {
    const c = this.core(id);
    for (let i = 0; i < 5 && c.role !== 'leader'; i++) {
      this.campaign(id, true);
      this.stabilize();
    }
    if (c.role !== 'leader') throw new Error(`${id} did not become leader (role ${c.role})`);
    return c.term;
  }

  propose(id: string, data: string): { index: number; term: number } | undefined {
    const r = this.core(id).propose(new TextEncoder().encode(data));
    this.handleReady(id);
    return r;
  }

  crash(id: string): void {
    const n = this.node(id);
    n.up = false;
  }

  restart(id: string): void {
    const n = this.node(id);
    n.boot();
    n.up = true;
    this.handleReady(id);
  }

  leaders(): string[] {
    return this.ids().filter((id) => this.node(id).up && this.core(id).role === 'leader');
  }
}

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const dec = (b: Uint8Array): string => new TextDecoder().decode(b);
