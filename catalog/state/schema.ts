/**
 * The catalog's table schema: primary keys and secondary indexes. Node names are keyed
 * case-insensitively; service and check IDs are case-sensitive within a node.
 *
 * Tables of the KV issue (kvs, sessions, tombstones) get their slots here, next to these.
 */
import { Table } from './table.js';
import { nameKey, type CheckRow, type KVRow, type LockDelayRow, type NodeRow, type ServiceRow, type SessionRow, type TombstoneRow } from './types.js';

/** Table names as used for per-table indexes and `{table}` watch keys. */
export type TableName = 'nodes' | 'services' | 'checks' | 'kvs' | 'sessions' | 'tombstones';
export const TABLE_NAMES: readonly TableName[] = ['nodes', 'services', 'checks', 'kvs', 'sessions', 'tombstones'];

export interface CatalogTables {
  /** pk: nameKey(Node); index: `id` → lower(ID) ('' for nodes without one). */
  nodes: Table<NodeRow>;
  /** pk: nameKey(Node) NUL ID; indexes: `node` → nameKey(Node), `name` → nameKey(Service). */
  services: Table<ServiceRow>;
  /** pk: nameKey(Node) NUL CheckID; indexes: `node` → nameKey(Node), `service` → nameKey(Node) NUL ServiceID. */
  checks: Table<CheckRow>;
  /** pk: Key (case-sensitive, opaque); index: `session` → Session ('' for unlocked keys). */
  kvs: Table<KVRow>;
  /** pk: ID; index: `node` → nameKey(Node). */
  sessions: Table<SessionRow>;
  /** pk: Key. */
  tombstones: Table<TombstoneRow>;
  /** pk: Key. Not a Consul table (Consul keeps lock delays in memory); replicated here. */
  lockDelays: Table<LockDelayRow>;
}

export function createTables(): CatalogTables {
  return {
    nodes: new Table<NodeRow>('nodes', (n) => nameKey(n.Node), { id: (n) => n.ID.toLowerCase() }),
    services: new Table<ServiceRow>('services', (s) => `${nameKey(s.Node)}\u0000${s.ID}`, {
      node: (s) => nameKey(s.Node),
      name: (s) => nameKey(s.Service),
    }),
    checks: new Table<CheckRow>('checks', (c) => `${nameKey(c.Node)}\u0000${c.CheckID}`, {
      node: (c) => nameKey(c.Node),
      service: (c) => `${nameKey(c.Node)}\u0000${c.ServiceID}`,
    }),
    kvs: new Table<KVRow>('kvs', (e) => e.Key, { session: (e) => e.Session }),
    sessions: new Table<SessionRow>('sessions', (s) => s.ID, { node: (s) => nameKey(s.Node) }),
    tombstones: new Table<TombstoneRow>('tombstones', (t) => t.Key),
    lockDelays: new Table<LockDelayRow>('lockDelays', (d) => d.Key),
  };
}
