import { storeReader } from '../../dns/catalog-reader.js';
import { DnsServer, type DnsServerOptions } from '../../dns/server.js';
import type { Catalog } from './helpers.js';

/** A started server on 127.0.0.1 (free port) over the catalog, alt domain herald.test, SOA serial 42 / min TTL 7. */
export async function startServer(c: Catalog, extra: Partial<DnsServerOptions> = {}): Promise<DnsServer> {
  const s = new DnsServer({ host: '127.0.0.1', port: 0, reader: storeReader(c.store), altDomain: 'herald.test', soa: { serial: 42, minTtl: 7 }, ...extra });
  await s.start();
  return s;
}
