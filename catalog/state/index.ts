/**
 * Public surface of the catalog state machine. Other components import from here; the
 * files behind it (tables, transaction, write rules) are internal.
 */
export { StateStore, type ApplyResult, type ReadResult, type StateStoreOptions, type ServiceQuery, type HealthServiceQuery } from './store.js';
export {
  CommandType, encodeCommand, decodeCommand,
  type Command, type RegisterRequest, type DeregisterRequest, type ServiceDefinition, type CheckDefinition,
  KV_OPS, SESSION_OPS, TXN_KV_VERBS, MAX_TXN_OPS,
  type KVOp, type KVSRequest, type DirEntInput, type SessionOp, type SessionInput, type SessionRequest,
  type TombstoneRequest, type TxnKVVerb, type TxnKVOp, type TxnRequest, type RestoreRequest,
} from './commands.js';
export type { TxnOutcome, TxnErrorView, TxnResultView } from './kv-writes.js';
export type { SessionEvent } from './tx.js';
export { StateError, CommandDecodeError, SnapshotError, StateInvariantError } from './errors.js';
export { SNAPSHOT_VERSION } from './snapshot.js';
export type { WatchKey } from './watch.js';
export type { TableName } from './schema.js';
export type { HealthStatus, StringMap, ServiceAddress, Weights, KVRow, SessionRow, SessionBehavior, TombstoneRow } from './types.js';
export { HEALTH_STATUSES } from './types.js';
export { canonicalFlags, parseFlags, MAX_FLAGS, type KVFlags } from './flags.js';
export type {
  NodeView, NodeServiceView, CatalogServiceView, HealthCheckView, CheckServiceNodeView,
  NodeInfoView, NodeServicesView, ServiceInstanceView, AddressLookupView,
} from './views.js';
