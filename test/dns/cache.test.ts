import { expect } from 'chai';
import dnsPacket from 'dns-packet';
import { SeededRng } from '../../agent/runtime/rng.js';
import { AnswerCache } from '../../dns/cache.js';
import { storeReader } from '../../dns/catalog-reader.js';
import { assemble, parseQuery, queryName, type PreparedResponse, type Query } from '../../dns/wire.js';
import { Catalog, webCatalog } from './helpers.js';

const queryFor = (name: string, type: 'A' | 'SRV' = 'A'): Query => {
  const p = parseQuery(dnsPacket.encode({ type: 'query', id: 5, questions: [{ type, name, class: 'IN' }] }));
  if (p.kind !== 'query') throw new Error('bad test query');
  return p.query;
};

const lookup = (cache: AnswerCache, name: string, type: 'A' | 'SRV' = 'A'): PreparedResponse => {
  return cache.get(queryFor(name, type));
};

describe('dns/cache', () => {
  it('keys names case-insensitively', () => {
    const cache = new AnswerCache({ reader: storeReader(webCatalog().store), resolver: {} });
    expect(lookup(cache, 'WEB.service.Consul.')).to.equal(lookup(cache, 'web.service.consul'));
    expect(queryName(queryFor('WeB.SERVICE.consul'))).to.equal('web.service.consul');
    expect(cache.stats()).to.deep.include({ hits: 1, misses: 1 });
  });

  it('keeps names apart that differ in a non-ASCII byte or in where the label boundaries are', () => {
    const wire = (...labels: number[][]): Query => {
      const name = Buffer.concat([...labels.map((l) => Buffer.from([l.length, ...l])), Buffer.from([0])]);
      const p = parseQuery(Buffer.concat([Buffer.from([0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]), name, Buffer.from([0, 1, 0, 1])]));
      if (p.kind !== 'query') throw new Error('bad test query');
      return p.query;
    };
    const ab = [0x61, 0x62];
    const keys = [
      wire([0xc0], ab), wire([0xe0], ab), // À vs à: not folded together
      wire([0x61, 0x2e, 0x62]), wire([0x61], [0x62]), // "a.b" as one label vs two labels
      wire([0x41], [0x42]), // folds to "a", "b"
    ].map((q) => q.nameKey);
    expect(new Set(keys).size).to.equal(4);
    expect(keys[4]).to.equal(keys[3]);
    expect(queryName(wire([0x61, 0x2e, 0x62]))).to.equal('a\\046b');
    expect(queryName(wire([0xc0], ab))).to.equal('\\192.ab');
  });

  it('serves hits without resolving, and drops an entry at the first change it depends on', () => {
    const c = webCatalog();
    const cache = new AnswerCache({ reader: storeReader(c.store), resolver: {} });
    const first = lookup(cache, 'web.service.consul');
    expect(lookup(cache, 'web.service.consul')).to.equal(first);
    expect(cache.stats()).to.deep.include({ hits: 1, misses: 1, size: 1 });
    lookup(cache, 'n1.node.consul');
    expect(c.store.watchCount).to.equal(2);
    // A change to another service leaves both entries alone.
    c.node('n9', '203.0.113.9').service('n9', 'db', 'db');
    expect(cache.stats()).to.deep.include({ invalidations: 0, size: 2 });
    // A check on web's instance drops the web entry only.
    c.service('n2', 'web2', 'web', 'critical', { Port: 8002 });
    expect(cache.stats()).to.deep.include({ invalidations: 1, size: 1 });
    const again = lookup(cache, 'web.service.consul');
    expect(again).to.not.equal(first);
    expect(again.groups.length).to.equal(2);
  });

  it('keeps pending watches bounded by the cache size (eviction cancels the watch)', () => {
    const c = webCatalog();
    const cache = new AnswerCache({ reader: storeReader(c.store), resolver: {}, max: 10 });
    for (let i = 0; i < 200; i++) lookup(cache, `svc${i}.service.consul`);
    expect(cache.stats().size).to.equal(10);
    expect(c.store.watchCount).to.equal(10);
    cache.clear();
    expect(c.store.watchCount).to.equal(0);
  });

  it('shuffles by splicing encoded records: every response decodes to the same record set, orders vary', () => {
    const c = new Catalog();
    for (let i = 1; i <= 8; i++) c.node(`n${i}`, `203.0.113.${i}`).service(`n${i}`, `w${i}`, 'web', 'passing', { Port: 8000 + i });
    const cache = new AnswerCache({ reader: storeReader(c.store), resolver: {} });
    const q = queryFor('_web._tcp.service.consul', 'SRV');
    const p = lookup(cache, '_web._tcp.service.consul', 'SRV');
    const seed = 99;
    const rng = new SeededRng(seed);
    const orders = new Set<string>();
    for (let i = 0; i < 30; i++) {
      const out = assemble(q, p, { maxSize: 65535, recordLimit: 0, udpLimit: 0, truncateOnLimit: true, ra: false, rng: () => rng.next() });
      const d = dnsPacket.decode(out);
      const ports = d.answers!.map((a) => (a as dnsPacket.SrvAnswer).data.port);
      expect([...ports].sort(), `seed ${seed}`).to.deep.equal([8001, 8002, 8003, 8004, 8005, 8006, 8007, 8008]);
      // Each SRV's additional A record matches its target (groups stay together).
      expect(d.additionals!.map((a) => a.name), `seed ${seed}`).to.deep.equal(d.answers!.map((a) => (a as dnsPacket.SrvAnswer).data.target));
      orders.add(ports.join());
    }
    expect(orders.size, `seed ${seed}`).to.be.greaterThan(20);
    expect(cache.stats().misses).to.equal(1);
  });
});
