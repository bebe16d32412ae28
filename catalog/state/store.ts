/**
 * The catalog state machine that Raft servers apply committed commands to.
 *
 * Contract:
 * - Pure and deterministic: no I/O, no timers, no clock. The same sequence of
 *   `apply(index, command)` calls gives the same state and byte-identical snapshots.
 * - `apply` is all-or-nothing: a command that fails validation returns `{ ok: false }` and
 *   changes nothing (no row, no index, no watcher).
 * - Every written row gets ModifyIndex = the Raft index (CreateIndex on insert). Per-table,
 *   per-node and per-service indexes move to that index when anything under them changed,
 *   deletions included; unchanged rows are not rewritten.
 * - Reads return Consul-shaped views plus the index to report as X-Consul-Index and the watch
 *   keys that cover what was read. Indexes are raw (0 on an empty store); the HTTP layer
 *   reports at least 1, like Consul.
 * - Watchers fire synchronously at the end of the apply that changed their keys, after the
 *   change is visible to reads.
 */
import { decodeCommand, CommandType, MAX_TXN_OPS, type Command } from './commands.js';
import { applyKVS, applyTxn, keysUnder, TXN_READ_VERBS, type TxnOutcome, type WriteOutcome } from './kv-writes.js';
import type { TxnKVOp } from './commands.js';
import { applySession, invalidateForNodes } from './session-writes.js';
import type { SessionEvent } from './tx.js';
import { SnapshotError, StateError, StateInvariantError } from './errors.js';
import { createTables, TABLE_NAMES, type CatalogTables, type TableName } from './schema.js';
import { decodeSnapshot, encodeSnapshot, SNAPSHOT_VERSION, type SnapshotData } from './snapshot.js';
import { WriteTx } from './tx.js';
import { HEALTH_STATUSES, nameKey, type CheckRow, type HealthStatus, type KVRow, type NodeRow, type ServiceRow, type SessionRow } from './types.js';
import {
  catalogServiceView, healthCheckView, nodeServiceView, nodeView, worstStatus,
  type AddressLookupView, type CatalogServiceView, type CheckServiceNodeView, type HealthCheckView,
  type NodeInfoView, type NodeServicesView, type NodeView, type ServiceInstanceView,
} from './views.js';
import { kvWatchStrings, WatchRegistry, watchKeyString, type WatchKey } from './watch.js';
import { deregister, register } from './writes.js';

/**
 * Result of applying a command. `value` is what KV, session and txn commands answer (the
 * boolean of a KV write, a session ID, a txn's Results/Errors); catalog writes have none.
 */
export type ApplyResult =
  | { ok: true; index: number; value?: unknown }
  | { ok: false; index: number; error: string };

/** A read: the Consul-shaped value, the index to report, and the keys to watch for a change. */
export interface ReadResult<T> {
  value: T;
  index: number;
  watch: WatchKey[];
}

export interface StateStoreOptions {
  /** Datacenter given to nodes registered without one. Default 'dc1'. */
  datacenter?: string;
}

export interface ServiceQuery {
  /** Instances must carry every one of these tags (compared case-insensitively, like Consul). */
  tags?: readonly string[];
}

export interface HealthServiceQuery extends ServiceQuery {
  /** Only instances whose node and service checks are all passing (Consul's `?passing`). */
  passingOnly?: boolean;
}

export class StateStore {
  private t: CatalogTables = createTables();
  private tableIndex = new Map<TableName, number>();
  private nodeIndex = new Map<string, number>();
  private serviceIndex = new Map<string, number>();
  private last = 0;
  private readonly watches = new WatchRegistry();
  private readonly sessionListeners = new Set<(ev: SessionEvent | { kind: 'reset' }) => void>();
  readonly datacenter: string;

  constructor(opts: StateStoreOptions = {}) {
    this.datacenter = opts.datacenter ?? 'dc1';
  }

  // ---------------------------------------------------------------- writes

  /** Index of the last applied command (or of the restored snapshot). */
  get lastIndex(): number {
    return this.last;
  }

  /**
   * Applies a committed command at Raft index `index`, which must be greater than every
   * index applied before (else {@link StateInvariantError} is thrown).
   */
  apply(index: number, cmd: Command): ApplyResult {
    if (!Number.isSafeInteger(index) || index <= this.last) {
      throw new StateInvariantError(`apply index ${index} does not move past ${this.last}`);
    }
    this.last = index;
    if (cmd.type === CommandType.Restore) {
      try {
        this.install(cmd.req.Data, index);
      } catch (err) {
        if (err instanceof SnapshotError) return { ok: false, index, error: err.message };
        throw err;
      }
      return { ok: true, index, value: true };
    }
    const tx = new WriteTx(index, this.t);
    let out: WriteOutcome;
    try {
      out = this.applyIn(tx, cmd);
      if (out.ok && tx.touchedNodes.size > 0) invalidateForNodes(tx, tx.touchedNodes);
    } catch (err) {
      tx.rollback();
      throw err;
    }
    if (!out.ok) {
      tx.rollback();
      return { ok: false, index, error: out.error };
    }
    if (out.rollback) tx.rollback();
    else this.commit(tx);
    return out.value === undefined ? { ok: true, index } : { ok: true, index, value: out.value };
  }

  /** Decodes and applies a Raft entry's data; undecodable data is an error result. */
  applyEntry(index: number, data: Uint8Array): ApplyResult {
    let cmd: Command;
    try {
      cmd = decodeCommand(data);
    } catch (err) {
      if (index <= this.last) throw new StateInvariantError(`apply index ${index} does not move past ${this.last}`);
      this.last = index;
      return { ok: false, index, error: (err as Error).message };
    }
    return this.apply(index, cmd);
  }

  private applyIn(tx: WriteTx, cmd: Command): WriteOutcome {
    const plain = (err: string | undefined): WriteOutcome => (err === undefined ? { ok: true } : { ok: false, error: err });
    switch (cmd.type) {
      case CommandType.Register:
        return plain(register(tx, cmd.req, this.datacenter));
      case CommandType.Deregister:
        return plain(deregister(tx, cmd.req));
      case CommandType.Batch:
        for (let i = 0; i < cmd.commands.length; i++) {
          const c = cmd.commands[i]!;
          if (c.type !== CommandType.Register && c.type !== CommandType.Deregister) {
            return { ok: false, error: `batch command ${i}: only register and deregister may be batched` };
          }
          const out = this.applyIn(tx, c);
          if (!out.ok) return { ok: false, error: `batch command ${i}: ${out.error}` };
        }
        return { ok: true };
      case CommandType.KVS:
        return applyKVS(tx, cmd.req);
      case CommandType.Session:
        return applySession(tx, cmd.req);
      case CommandType.Txn:
        return applyTxn(tx, cmd.req, MAX_TXN_OPS);
      case CommandType.Tombstone:
        for (const t of [...tx.tombstones.values()]) if (t.Index <= cmd.req.ReapIndex) tx.reapTombstone(t.Key);
        return { ok: true, value: true };
      default:
        return { ok: false, error: `unsupported command type ${(cmd as { type: unknown }).type}` };
    }
  }

  private commit(tx: WriteTx): void {
    const keys: string[] = [];
    for (const t of tx.touchedTables) {
      this.tableIndex.set(t, tx.index);
      keys.push(t);
    }
    for (const n of tx.touchedNodes) {
      if (this.t.nodes.get(n) !== undefined) this.nodeIndex.set(n, tx.index);
      else this.nodeIndex.delete(n);
      keys.push(watchKeyString({ table: 'node', name: n }));
    }
    for (const s of tx.touchedServices) {
      if (this.t.services.count('name', s) > 0) this.serviceIndex.set(s, tx.index);
      else this.serviceIndex.delete(s);
      keys.push(watchKeyString({ table: 'service', name: s }));
    }
    if (tx.touchedKeys.size > 0) {
      const lengths = [...this.watches.kvPrefixLengths()];
      for (const k of tx.touchedKeys) keys.push(...kvWatchStrings(k, lengths));
    }
    for (const ev of tx.sessionEvents) for (const l of this.sessionListeners) l(ev);
    this.watches.fire(keys);
  }

  /**
   * Calls `l` after every committed session create, renew and destroy (invalidations
   * included), and with `{kind: 'reset'}` after a restore. The leader's TTL timers use it;
   * it is observation only and must not throw. Returns a function that removes `l`.
   */
  onSessionEvent(l: (ev: SessionEvent | { kind: 'reset' }) => void): () => void {
    this.sessionListeners.add(l);
    return () => this.sessionListeners.delete(l);
  }

  // ---------------------------------------------------------------- watches

  /**
   * Calls `cb` once, at the end of the first apply or restore that changes anything under
   * `keys`; returns a function that cancels the watch. Use the `watch` keys of a read.
   */
  watch(keys: readonly WatchKey[], cb: () => void): () => void {
    return this.watches.watch(keys, cb);
  }

  /** Number of pending watches. */
  get watchCount(): number {
    return this.watches.size;
  }

  // ---------------------------------------------------------------- indexes

  /** Index of the last change to `table` (0 if never changed). */
  tableIndexOf(table: TableName): number {
    return this.tableIndex.get(table) ?? 0;
  }

  private maxIndex(...tables: TableName[]): number {
    let m = 0;
    for (const t of tables) m = Math.max(m, this.tableIndex.get(t) ?? 0);
    return m;
  }

  /** Last change to the node (row, services, checks); the tables' max once it is gone. */
  private nodeIdx(nk: string, ...fallback: TableName[]): number {
    return this.nodeIndex.get(nk) ?? this.maxIndex(...fallback);
  }

  /** Last change to the service's instances (incl. checks, nodes); the tables' max once it is gone. */
  private serviceIdx(sk: string, ...fallback: TableName[]): number {
    return this.serviceIndex.get(sk) ?? this.maxIndex(...fallback);
  }

  // ---------------------------------------------------------------- reads

  /** `/v1/catalog/nodes`: every node, sorted by name. */
  nodes(): ReadResult<NodeView[]> {
    const value = this.sortedNodes().map(nodeView);
    return { value, index: this.maxIndex('nodes'), watch: [{ table: 'nodes' }] };
  }

  /** `/v1/catalog/node/:node`: the node with its services by ID, or null. */
  node(name: string): ReadResult<NodeInfoView | null> {
    const nk = nameKey(name);
    const n = this.t.nodes.get(nk);
    let value: NodeInfoView | null = null;
    if (n !== undefined) {
      const Services: NodeInfoView['Services'] = {};
      for (const s of this.nodeServiceRows(nk)) Services[s.ID] = nodeServiceView(s);
      value = { Node: nodeView(n), Services };
    }
    return { value, index: this.nodeIdx(nk, 'nodes', 'services'), watch: [{ table: 'node', name }] };
  }

  /** `/v1/catalog/node-services/:node`: the node with its services as a list, or null. */
  nodeServices(name: string): ReadResult<NodeServicesView | null> {
    const nk = nameKey(name);
    const n = this.t.nodes.get(nk);
    const value = n === undefined ? null : { Node: nodeView(n), Services: this.nodeServiceRows(nk).map(nodeServiceView) };
    return { value, index: this.nodeIdx(nk, 'nodes', 'services'), watch: [{ table: 'node', name }] };
  }

  /** `/v1/catalog/services`: service name → union of tags (sorted), names sorted. */
  services(): ReadResult<Record<string, string[]>> {
    const tags = new Map<string, Set<string>>();
    for (const s of this.t.services.values()) {
      let set = tags.get(s.Service);
      if (set === undefined) tags.set(s.Service, (set = new Set()));
      for (const t of s.Tags) set.add(t);
    }
    const value: Record<string, string[]> = {};
    for (const name of [...tags.keys()].sort()) value[name] = [...tags.get(name)!].sort();
    return { value, index: this.maxIndex('services'), watch: [{ table: 'services' }] };
  }

  /**
   * Every service instance in CatalogService shape, sorted by node then ID: the rows that
   * `/v1/catalog/services?filter=` filters before grouping names and tags.
   */
  allServiceNodes(): ReadResult<CatalogServiceView[]> {
    const value: CatalogServiceView[] = [];
    for (const n of this.sortedNodes()) for (const s of this.nodeServiceRows(nameKey(n.Node))) value.push(catalogServiceView(n, s));
    return { value, index: this.maxIndex('nodes', 'services'), watch: [{ table: 'nodes' }, { table: 'services' }] };
  }

  /** `/v1/catalog/service/:name`: instances (sorted by node, then ID), optionally by tags. */
  serviceNodes(name: string, q: ServiceQuery = {}): ReadResult<CatalogServiceView[]> {
    const sk = nameKey(name);
    const value = this.instances(sk, q.tags).map((s) => catalogServiceView(this.nodeOf(s), s));
    return { value, index: this.serviceIdx(sk, 'nodes', 'services'), watch: [{ table: 'service', name }] };
  }

  /**
   * `/v1/health/service/:name`: instances with their node and checks (node-level checks such
   * as serfHealth included); `passingOnly` drops instances with any non-passing check.
   */
  checkServiceNodes(name: string, q: HealthServiceQuery = {}): ReadResult<CheckServiceNodeView[]> {
    const sk = nameKey(name);
    const value: CheckServiceNodeView[] = [];
    for (const s of this.instances(sk, q.tags)) {
      const n = this.nodeOf(s);
      const checks = this.instanceChecks(s);
      if (q.passingOnly && checks.some((c) => c.Status !== 'passing')) continue;
      value.push({ Node: nodeView(n), Service: nodeServiceView(s), Checks: checks.map((c) => healthCheckView(c, n.Node)) });
    }
    return { value, index: this.serviceIdx(sk, 'nodes', 'services', 'checks'), watch: [{ table: 'service', name }] };
  }

  /** `/v1/health/node/:node`: every check of the node (node-level and service), by CheckID. */
  nodeChecks(name: string): ReadResult<HealthCheckView[]> {
    const nk = nameKey(name);
    const n = this.t.nodes.get(nk);
    const value = n === undefined ? [] : sortChecks(this.t.checks.by('node', nk)).map((c) => healthCheckView(c, n.Node));
    return { value, index: this.nodeIdx(nk, 'nodes', 'checks'), watch: [{ table: 'node', name }] };
  }

  /** `/v1/health/checks/:service`: the service checks of every instance (no node-level checks). */
  serviceChecks(name: string): ReadResult<HealthCheckView[]> {
    const sk = nameKey(name);
    const value: HealthCheckView[] = [];
    for (const s of this.instances(sk)) {
      const n = this.nodeOf(s);
      for (const c of sortChecks(this.t.checks.by('service', `${nameKey(s.Node)}\u0000${s.ID}`))) value.push(healthCheckView(c, n.Node));
    }
    return { value, index: this.serviceIdx(sk, 'services', 'checks'), watch: [{ table: 'service', name }] };
  }

  /**
   * `/v1/health/state/:state`: checks in `state` ('any' for all), sorted by node then CheckID.
   * Throws {@link StateError} for an unknown state.
   */
  checksInState(state: HealthStatus | 'any'): ReadResult<HealthCheckView[]> {
    if (state !== 'any' && !HEALTH_STATUSES.includes(state)) throw new StateError(`invalid check state "${String(state)}"`);
    const value: HealthCheckView[] = [];
    for (const n of this.sortedNodes()) {
      for (const c of sortChecks(this.t.checks.by('node', nameKey(n.Node)))) {
        if (state === 'any' || c.Status === state) value.push(healthCheckView(c, n.Node));
      }
    }
    return { value, index: this.maxIndex('checks'), watch: [{ table: 'checks' }] };
  }

  /** Instances of a service for DNS: addresses, port, tags and worst check status. */
  serviceInstances(name: string, q: ServiceQuery = {}): ReadResult<ServiceInstanceView[]> {
    const sk = nameKey(name);
    const value: ServiceInstanceView[] = [];
    for (const s of this.instances(sk, q.tags)) {
      const n = this.nodeOf(s);
      const cs = catalogServiceView(n, s);
      value.push({
        Node: n.Node,
        NodeID: n.ID,
        Datacenter: n.Datacenter,
        NodeAddress: n.Address,
        NodeTaggedAddresses: cs.TaggedAddresses,
        NodeMeta: cs.NodeMeta,
        ServiceID: s.ID,
        ServiceName: s.Service,
        ServiceKind: s.Kind,
        ServiceAddress: s.Address,
        ServiceTaggedAddresses: cs.ServiceTaggedAddresses,
        ServicePort: s.Port,
        ServiceTags: cs.ServiceTags,
        ServiceMeta: cs.ServiceMeta,
        ServiceWeights: cs.ServiceWeights,
        Status: worstStatus(this.instanceChecks(s).map((c) => c.Status)),
      });
    }
    return { value, index: this.serviceIdx(sk, 'nodes', 'services', 'checks'), watch: [{ table: 'service', name }] };
  }

  /**
   * Nodes and service instances using IP address `ip` (DNS PTR): nodes by Address or a
   * tagged address; services by their own Address or a tagged address. Exact string match.
   */
  lookupAddress(ip: string): ReadResult<AddressLookupView> {
    const Nodes = this.sortedNodes().filter((n) => n.Address === ip || Object.values(n.TaggedAddresses).includes(ip)).map(nodeView);
    const Services: CatalogServiceView[] = [];
    for (const n of this.sortedNodes()) {
      for (const s of this.nodeServiceRows(nameKey(n.Node))) {
        if (s.Address === ip || Object.values(s.TaggedAddresses).some((a) => a.Address === ip)) Services.push(catalogServiceView(n, s));
      }
    }
    return { value: { Nodes, Services }, index: this.maxIndex('nodes', 'services'), watch: [{ table: 'nodes' }, { table: 'services' }] };
  }

  // ---------------------------------------------------------------- KV and session reads

  /** KV index for `prefix`, like Consul: the newest entry or tombstone under it, else the tables' max. */
  private kvIndex(prefix: string, rows: readonly KVRow[]): number {
    if (prefix === '') return this.maxIndex('kvs', 'tombstones');
    let idx = 0;
    for (const r of rows) idx = Math.max(idx, r.ModifyIndex);
    for (const t of this.t.tombstones.values()) if (t.Key.startsWith(prefix)) idx = Math.max(idx, t.Index);
    return idx !== 0 ? idx : this.maxIndex('kvs', 'tombstones');
  }

  /** `GET /v1/kv/:key`: the entry or null; index its ModifyIndex, else the KV tables' max. */
  kvGet(key: string): ReadResult<KVRow | null> {
    const r = this.t.kvs.get(key) ?? null;
    return { value: r, index: r !== null ? r.ModifyIndex : this.maxIndex('kvs', 'tombstones'), watch: [{ table: 'kvs', prefix: key }] };
  }

  /** `GET /v1/kv/:prefix?recurse`: entries under `prefix`, sorted by key. */
  kvList(prefix: string): ReadResult<KVRow[]> {
    const value = keysUnder(this.t, prefix);
    return { value, index: this.kvIndex(prefix, value), watch: [{ table: 'kvs', prefix }] };
  }

  /**
   * `GET /v1/kv/:prefix?keys&separator=`: keys under `prefix`, sorted; with a separator,
   * keys with more of it after the prefix roll up to their part up to and including it.
   */
  kvKeys(prefix: string, separator = ''): ReadResult<string[]> {
    const rows = keysUnder(this.t, prefix);
    const value: string[] = [];
    for (const r of rows) {
      let k = r.Key;
      if (separator !== '') {
        const at = k.indexOf(separator, prefix.length);
        if (at >= 0) k = k.slice(0, at + separator.length);
      }
      if (value[value.length - 1] !== k) value.push(k);
    }
    return { value, index: this.kvIndex(prefix, rows), watch: [{ table: 'kvs', prefix }] };
  }

  /**
   * A transaction of read verbs only (get, get-tree, check-*), answered from the current state
   * without a Raft entry, like Consul's read-only transactions. Throws {@link StateError} for a
   * write verb.
   */
  txnRead(ops: readonly TxnKVOp[]): ReadResult<TxnOutcome> {
    const bad = ops.findIndex((op) => !TXN_READ_VERBS.has(op.Verb));
    if (bad >= 0) throw new StateError(`operation ${bad}: "${ops[bad]!.Verb}" is not a read`);
    const tx = new WriteTx(this.last, this.t);
    const out = applyTxn(tx, { Ops: ops.map((KV) => ({ KV })) }, MAX_TXN_OPS);
    tx.rollback();
    if (!out.ok) throw new StateError(out.error);
    return { value: out.value as TxnOutcome, index: this.maxIndex('kvs', 'tombstones'), watch: [{ table: 'kvs', prefix: '' }] };
  }

  /** `GET /v1/session/info/:id`: the session, or null. */
  sessionGet(id: string): ReadResult<SessionRow | null> {
    return { value: this.t.sessions.get(id) ?? null, index: this.maxIndex('sessions'), watch: [{ table: 'sessions' }] };
  }

  /** `GET /v1/session/list`: every session, sorted by ID. */
  sessionList(): ReadResult<SessionRow[]> {
    return { value: this.t.sessions.sorted(), index: this.maxIndex('sessions'), watch: [{ table: 'sessions' }] };
  }

  /** `GET /v1/session/node/:node`: the node's sessions, sorted by ID. */
  nodeSessions(node: string): ReadResult<SessionRow[]> {
    const value = this.t.sessions.by('node', nameKey(node)).sort((a, b) => cmp(a.ID, b.ID));
    return { value, index: this.maxIndex('sessions'), watch: [{ table: 'sessions' }] };
  }

  /** Number of tombstones with Index <= `index` (what a reap at `index` would remove). */
  tombstonesUpTo(index: number): number {
    let n = 0;
    for (const t of this.t.tombstones.values()) if (t.Index <= index) n++;
    return n;
  }

  private sortedNodes(): NodeRow[] {
    return this.t.nodes.sorted();
  }

  private nodeOf(s: ServiceRow): NodeRow {
    const n = this.t.nodes.get(nameKey(s.Node));
    if (n === undefined) throw new StateInvariantError(`service ${s.ID} on missing node ${s.Node}`);
    return n;
  }

  private nodeServiceRows(nk: string): ServiceRow[] {
    return this.t.services.by('node', nk).sort((a, b) => cmp(a.ID, b.ID));
  }

  /** Instances of service key `sk` carrying all `tags`, sorted by node name then ID. */
  private instances(sk: string, tags?: readonly string[]): ServiceRow[] {
    let rows = this.t.services.by('name', sk);
    if (tags !== undefined && tags.length > 0) {
      const want = tags.map((t) => t.toLowerCase());
      rows = rows.filter((s) => {
        const have = new Set(s.Tags.map((t) => t.toLowerCase()));
        return want.every((t) => have.has(t));
      });
    }
    return rows.sort((a, b) => cmp(nameKey(a.Node), nameKey(b.Node)) || cmp(a.ID, b.ID));
  }

  /** Node-level checks of the instance's node, then the instance's checks; each sorted. */
  private instanceChecks(s: ServiceRow): CheckRow[] {
    const nk = nameKey(s.Node);
    return [
      ...sortChecks(this.t.checks.by('service', `${nk}\u0000`)),
      ...sortChecks(this.t.checks.by('service', `${nk}\u0000${s.ID}`)),
    ];
  }

  // ---------------------------------------------------------------- snapshot

  /** The whole state, encoded; equal states give equal bytes. */
  snapshot(): Uint8Array {
    const pairs = <K extends string>(m: Map<K, number>): Array<[string, number]> =>
      [...m.entries()].sort((a, b) => cmp(a[0], b[0]));
    const data: SnapshotData = {
      Version: SNAPSHOT_VERSION,
      LastIndex: this.last,
      Nodes: this.t.nodes.sorted(),
      Services: this.t.services.sorted(),
      Checks: this.t.checks.sorted(),
      TableIndexes: pairs(this.tableIndex),
      NodeIndexes: pairs(this.nodeIndex),
      ServiceIndexes: pairs(this.serviceIndex),
      KVs: this.t.kvs.sorted(),
      Sessions: this.t.sessions.sorted(),
      Tombstones: this.t.tombstones.sorted(),
      LockDelays: this.t.lockDelays.sorted(),
    };
    return encodeSnapshot(data);
  }

  /**
   * Replaces the whole state with a snapshot and wakes every watcher. Throws
   * {@link SnapshotError} (leaving the state as it was) for bad or inconsistent data.
   */
  restore(bytes: Uint8Array): void {
    this.install(bytes, undefined);
  }

  /**
   * Replaces the state with a snapshot. With `atIndex` (a Restore command applied at that
   * Raft index) the state's index becomes `atIndex` and every row and index newer than it is
   * clamped to it, so indexes never run ahead of the Raft log that follows.
   */
  private install(bytes: Uint8Array, atIndex: number | undefined): void {
    let data = decodeSnapshot(bytes);
    if (atIndex !== undefined) data = clampSnapshot(data, atIndex);
    const t = createTables();
    for (const n of data.Nodes) t.nodes.put(n);
    for (const s of data.Services) {
      if (t.nodes.get(nameKey(s.Node)) === undefined) throw new SnapshotError(`service "${s.ID}" on missing node "${s.Node}"`);
      t.services.put(s);
    }
    for (const c of data.Checks) {
      if (t.nodes.get(nameKey(c.Node)) === undefined) throw new SnapshotError(`check "${c.CheckID}" on missing node "${c.Node}"`);
      if (c.ServiceID !== '' && t.services.get(`${nameKey(c.Node)}\u0000${c.ServiceID}`) === undefined) {
        throw new SnapshotError(`check "${c.CheckID}" of missing service "${c.ServiceID}"`);
      }
      t.checks.put(c);
    }
    const tableIndex = new Map<TableName, number>();
    for (const [k, v] of data.TableIndexes) {
      if (!(TABLE_NAMES as readonly string[]).includes(k)) throw new SnapshotError(`unknown table "${k}"`);
      tableIndex.set(k as TableName, v);
    }
    for (const kv of data.KVs) {
      if (kv.Session !== '' && !data.Sessions.some((x) => x.ID === kv.Session)) throw new SnapshotError(`key "${kv.Key}" held by missing session "${kv.Session}"`);
      t.kvs.put(kv);
    }
    for (const x of data.Sessions) t.sessions.put(x);
    for (const x of data.Tombstones) t.tombstones.put(x);
    for (const x of data.LockDelays) t.lockDelays.put(x);
    this.t = t;
    this.tableIndex = tableIndex;
    this.nodeIndex = new Map(data.NodeIndexes);
    this.serviceIndex = new Map(data.ServiceIndexes);
    this.last = data.LastIndex;
    for (const l of this.sessionListeners) l({ kind: 'reset' });
    this.watches.fireAll();
  }
}

/** A copy of `d` with every index above `at` lowered to `at`, and LastIndex `at`. */
function clampSnapshot(d: SnapshotData, at: number): SnapshotData {
  const c = <R extends { CreateIndex: number; ModifyIndex: number }>(r: R): R =>
    r.ModifyIndex <= at && r.CreateIndex <= at ? r : { ...r, CreateIndex: Math.min(r.CreateIndex, at), ModifyIndex: Math.min(r.ModifyIndex, at) };
  const p = (xs: Array<[string, number]>): Array<[string, number]> => xs.map(([k, v]) => [k, Math.min(v, at)]);
  return {
    ...d,
    LastIndex: at,
    Nodes: d.Nodes.map(c),
    Services: d.Services.map(c),
    Checks: d.Checks.map(c),
    KVs: d.KVs.map(c),
    Sessions: d.Sessions.map(c),
    Tombstones: d.Tombstones.map((t) => ({ ...t, Index: Math.min(t.Index, at) })),
    TableIndexes: p(d.TableIndexes),
    NodeIndexes: p(d.NodeIndexes),
    ServiceIndexes: p(d.ServiceIndexes),
  };
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function sortChecks(cs: CheckRow[]): CheckRow[] {
  return cs.sort((a, b) => cmp(a.CheckID, b.CheckID));
}
