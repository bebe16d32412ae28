/**
 * {@link DnsCatalogReader} over a local {@link StateStore} (a server's replica, or a test's).
 */
import type { StateStore } from '../catalog/state/index.js';
import type { DnsCatalogReader, DnsNode, DnsRead } from './reader.js';

export interface StoreReaderOptions {
  /**
   * Name of the service every server registers for itself (Consul registers `consul`). The
   * nodes running a passing or warning instance of it are the zone's name servers.
   * Default 'consul'.
   */
  serverService?: string;
  /** Replaces the lookup of servers entirely (e.g. from gossip membership). */
  servers?: () => DnsRead<DnsNode[]>;
}

/** A reader that reads `store` directly (synchronously, always current). */
export function storeReader(store: StateStore, opts: StoreReaderOptions = {}): DnsCatalogReader {
  const serverService = opts.serverService ?? 'consul';
  return {
    serviceInstances: (name, tag) => store.serviceInstances(name, tag === null ? {} : { tags: [tag] }),
    node: (name) => {
      const r = store.node(name);
      return { value: r.value === null ? null : r.value.Node, index: r.index, watch: r.watch };
    },
    lookupAddress: (ip) => store.lookupAddress(ip),
    servers: opts.servers ?? (() => {
      const r = store.serviceInstances(serverService);
      const seen = new Set<string>();
      const value: DnsNode[] = [];
      for (const i of r.value) {
        if (i.Status !== 'passing' && i.Status !== 'warning') continue;
        if (seen.has(i.Node.toLowerCase())) continue;
        seen.add(i.Node.toLowerCase());
        value.push({ Node: i.Node, Address: i.NodeAddress, Datacenter: i.Datacenter, TaggedAddresses: i.NodeTaggedAddresses, Meta: i.NodeMeta });
      }
      return { value, index: r.index, watch: r.watch };
    }),
    watch: (keys, cb) => store.watch(keys, cb),
  };
}
