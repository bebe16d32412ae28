/**
 * A write transaction over the catalog tables: every change is recorded for rollback, and
 * what it touched (tables, node names, service names) is collected so that the store can
 * move exactly those indexes forward and wake exactly those watchers on commit.
 *
 * Touch rules (what a blocking query on a key must see):
 * - node row: its node, and every service name on the node (health/catalog service results
 *   embed node fields);
 * - service row: its node and its service name (old and new name on a rename);
 * - check row: its node; a service check its service name; a node-level check every service
 *   name on the node (it counts toward each instance's health).
 */
import type { CatalogTables, TableName } from './schema.js';
import type { Table } from './table.js';
import { nameKey, type CheckRow, type KVRow, type LockDelayRow, type NodeRow, type ServiceRow, type SessionRow } from './types.js';

/** What the leader's session timers need to hear about. */
export interface SessionEvent {
  kind: 'create' | 'renew' | 'destroy';
  id: string;
}

export class WriteTx {
  readonly touchedTables = new Set<TableName>();
  readonly touchedNodes = new Set<string>();
  readonly touchedServices = new Set<string>();
  /** KV keys written or deleted (a watch on any prefix of one of them fires). */
  readonly touchedKeys = new Set<string>();
  /** Session lifecycle events of this write, reported to the store's session listeners on commit. */
  readonly sessionEvents: SessionEvent[] = [];
  private readonly undo: Array<() => void> = [];

  constructor(readonly index: number, private readonly t: CatalogTables) {}

  get nodes() { return this.t.nodes; }
  get services() { return this.t.services; }
  get checks() { return this.t.checks; }
  get kvs() { return this.t.kvs; }
  get sessions() { return this.t.sessions; }
  get tombstones() { return this.t.tombstones; }
  get lockDelays() { return this.t.lockDelays; }

  /** Writes a KV entry; a tombstone left by an earlier delete of the key goes. */
  putKV(row: KVRow): void {
    this.putRow(this.t.kvs, row.Key, row);
    this.touchedTables.add('kvs');
    this.touchedKeys.add(row.Key);
    if (this.t.tombstones.get(row.Key) !== undefined) this.deleteRow(this.t.tombstones, row.Key);
  }

  /** Deletes a KV entry, leaving a tombstone at this index; a missing key changes nothing. */
  deleteKV(key: string): boolean {
    if (!this.deleteRow(this.t.kvs, key)) return false;
    this.touchedTables.add('kvs');
    this.touchedTables.add('tombstones');
    this.touchedKeys.add(key);
    this.putRow(this.t.tombstones, key, { Key: key, Index: this.index });
    return true;
  }

  /** Removes a tombstone (reap). Moves the tombstones table index but wakes no KV watcher. */
  reapTombstone(key: string): void {
    if (this.deleteRow(this.t.tombstones, key)) this.touchedTables.add('tombstones');
  }

  putSession(row: SessionRow): void {
    this.putRow(this.t.sessions, row.ID, row);
    this.touchedTables.add('sessions');
  }

  deleteSession(id: string): void {
    if (this.deleteRow(this.t.sessions, id)) this.touchedTables.add('sessions');
  }

  putLockDelay(row: LockDelayRow): void {
    this.putRow(this.t.lockDelays, row.Key, row);
  }

  deleteLockDelay(key: string): void {
    this.deleteRow(this.t.lockDelays, key);
  }

  private putRow<R>(table: Table<R>, pk: string, row: R): void {
    const old = table.put(row);
    this.undo.push(() => (old === undefined ? table.delete(pk) : table.put(old)));
  }

  private deleteRow<R>(table: Table<R>, pk: string): boolean {
    const old = table.delete(pk);
    if (old === undefined) return false;
    this.undo.push(() => table.put(old));
    return true;
  }

  putNode(row: NodeRow): void {
    const old = this.t.nodes.put(row);
    this.undo.push(() => (old === undefined ? this.t.nodes.delete(nameKey(row.Node)) : this.t.nodes.put(old)));
    this.touchNode(nameKey(row.Node));
  }

  /** Deletes a node with all its checks and services. */
  deleteNode(nk: string): void {
    for (const c of this.t.checks.by('node', nk)) this.deleteCheck(c);
    for (const s of this.t.services.by('node', nk)) this.deleteService(s);
    const old = this.t.nodes.delete(nk);
    if (old === undefined) return;
    this.undo.push(() => this.t.nodes.put(old));
    this.touchNode(nk);
  }

  /** Writes a service row; its checks get the (possibly new) ServiceName and ServiceTags. */
  putService(row: ServiceRow): void {
    const nk = nameKey(row.Node);
    const old = this.t.services.put(row);
    this.undo.push(() => (old === undefined ? this.t.services.delete(`${nk}\u0000${row.ID}`) : this.t.services.put(old)));
    this.touchedTables.add('services');
    this.touchedNodes.add(nk);
    this.touchedServices.add(nameKey(row.Service));
    if (old !== undefined) this.touchedServices.add(nameKey(old.Service));
    for (const c of this.t.checks.by('service', `${nk}\u0000${row.ID}`)) {
      if (c.ServiceName === row.Service && sameStrings(c.ServiceTags, row.Tags)) continue;
      this.putCheck({ ...c, ServiceName: row.Service, ServiceTags: [...row.Tags], ModifyIndex: this.index });
    }
  }

  /** Deletes a service instance with its checks. */
  deleteService(row: ServiceRow): void {
    const nk = nameKey(row.Node);
    for (const c of this.t.checks.by('service', `${nk}\u0000${row.ID}`)) this.deleteCheck(c);
    const old = this.t.services.delete(`${nk}\u0000${row.ID}`);
    if (old === undefined) return;
    this.undo.push(() => this.t.services.put(old));
    this.touchedTables.add('services');
    this.touchedNodes.add(nk);
    this.touchedServices.add(nameKey(old.Service));
  }

  putCheck(row: CheckRow): void {
    const nk = nameKey(row.Node);
    const old = this.t.checks.put(row);
    this.undo.push(() => (old === undefined ? this.t.checks.delete(`${nk}\u0000${row.CheckID}`) : this.t.checks.put(old)));
    this.touchCheck(row);
    if (old !== undefined) this.touchCheck(old);
  }

  deleteCheck(row: CheckRow): void {
    const old = this.t.checks.delete(`${nameKey(row.Node)}\u0000${row.CheckID}`);
    if (old === undefined) return;
    this.undo.push(() => this.t.checks.put(old));
    this.touchCheck(old);
  }

  /** Undoes every change, newest first. The touched sets must then be ignored. */
  rollback(): void {
    for (let i = this.undo.length - 1; i >= 0; i--) this.undo[i]!();
    this.undo.length = 0;
    this.sessionEvents.length = 0;
  }

  private touchNode(nk: string): void {
    this.touchedTables.add('nodes');
    this.touchedNodes.add(nk);
    for (const s of this.t.services.by('node', nk)) this.touchedServices.add(nameKey(s.Service));
  }

  private touchCheck(c: CheckRow): void {
    const nk = nameKey(c.Node);
    this.touchedTables.add('checks');
    this.touchedNodes.add(nk);
    if (c.ServiceID !== '') {
      this.touchedServices.add(nameKey(c.ServiceName));
    } else {
      for (const s of this.t.services.by('node', nk)) this.touchedServices.add(nameKey(s.Service));
    }
  }
}

function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
