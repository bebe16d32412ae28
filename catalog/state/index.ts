/**
 * Public surface of the catalog state machine. Other components import from here; the
 * files behind it (tables, transaction, write rules) are internal.
 */
export { StateStore, type ApplyResult, type ReadResult, type StateStoreOptions, type ServiceQuery, type HealthServiceQuery } from './store.js';
export {
  CommandType, encodeCommand, decodeCommand,
  type Command, type RegisterRequest, type DeregisterRequest, type ServiceDefinition, type CheckDefinition,
} from './commands.js';
export { StateError, CommandDecodeError, SnapshotError, StateInvariantError } from './errors.js';
export { SNAPSHOT_VERSION } from './snapshot.js';
export type { WatchKey } from './watch.js';
export type { TableName } from './schema.js';
export type { HealthStatus, StringMap, ServiceAddress, Weights } from './types.js';
export { HEALTH_STATUSES } from './types.js';
export type {
  NodeView, NodeServiceView, CatalogServiceView, HealthCheckView, CheckServiceNodeView,
  NodeInfoView, NodeServicesView, ServiceInstanceView, AddressLookupView,
} from './views.js';
