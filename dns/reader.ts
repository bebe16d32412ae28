/**
 * What the DNS resolver reads from the catalog. Implemented over the local state store by
 * `catalog-reader.ts`; an RPC-backed reader (reads served by a server) implements the same
 * interface later. Every read reports the watch keys that cover it, so cached answers can be
 * dropped exactly when something they were built from changes.
 */
import type { ServiceInstanceView, NodeView, AddressLookupView, WatchKey } from '../catalog/state/index.js';

export interface DnsRead<T> {
  value: T;
  /** Catalog index the value was read at. */
  index: number;
  /** Keys whose change may change `value`. */
  watch: WatchKey[];
}

/** A node with the fields DNS answers use. */
export type DnsNode = Pick<NodeView, 'Node' | 'Address' | 'Datacenter' | 'TaggedAddresses' | 'Meta'>;

export interface DnsCatalogReader {
  /** Instances of a service (any health) carrying `tag` if given (case-insensitive). */
  serviceInstances(name: string, tag: string | null): DnsRead<ServiceInstanceView[]>;
  /** A node by name (case-insensitive), or null. */
  node(name: string): DnsRead<DnsNode | null>;
  /** Nodes and service instances using exactly this address (PTR). */
  lookupAddress(ip: string): DnsRead<AddressLookupView>;
  /**
   * The servers of our datacenter, for the zone's NS records (with their addresses as glue).
   * Healthy ones only; ordered deterministically.
   */
  servers(): DnsRead<DnsNode[]>;
  /**
   * Calls `cb` once, at the first catalog change under `keys`; returns a cancel function.
   * Used by the answer cache for invalidation.
   */
  watch(keys: readonly WatchKey[], cb: () => void): () => void;
}
