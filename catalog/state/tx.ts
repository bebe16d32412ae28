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
import { nameKey, type CheckRow, type NodeRow, type ServiceRow } from './types.js';

export class WriteTx {
  readonly touchedTables = new Set<TableName>();
  readonly touchedNodes = new Set<string>();
  readonly touchedServices = new Set<string>();
  private readonly undo: Array<() => void> = [];

  constructor(readonly index: number, private readonly t: CatalogTables) {}

  get nodes() { return this.t.nodes; }
  get services() { return this.t.services; }
  get checks() { return this.t.checks; }

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
