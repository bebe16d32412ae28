import { expect } from 'chai';
import { SeededRng } from '../../agent/runtime/rng.js';
import { storeReader } from '../../dns/catalog-reader.js';
import { materialize, resolve, serviceTtl, type QType, type ResolverOptions, type Resolution } from '../../dns/resolver.js';
import { Catalog, webCatalog } from './helpers.js';

const SOA_OPTS: ResolverOptions = { soa: { serial: 7, refresh: 10, retry: 20, expire: 30, minTtl: 5 } };

function ask(c: Catalog, name: string, type: QType, opts: ResolverOptions = {}): Resolution {
  return resolve({ name, type }, storeReader(c.store), opts);
}
const answers = (r: Resolution): unknown[] => r.groups.flatMap((g) => g.answers);
const datas = (r: Resolution): unknown[] => answers(r).map((a) => (a as { data: unknown }).data);

describe('dns/resolver', () => {
  it('answers A for a service from the node addresses of healthy instances, in catalog order', () => {
    const r = ask(webCatalog(), 'Web.Service.Consul.', 'A');
    expect(r.rcode).to.equal('NOERROR');
    expect(r.aa).to.equal(true);
    expect(r.shuffle).to.equal(true);
    expect(answers(r)).to.deep.equal([1, 2, 3].map((i) => ({ name: 'web.service.consul', type: 'A', class: 'IN', ttl: 0, data: `203.0.113.${i}` })));
    expect(r.authority).to.deep.equal([]);
    expect(r.deps).to.deep.equal([{ table: 'service', name: 'web' }]);
  });

  it('leaves out critical, maintenance and serfHealth-critical instances; warning only without onlyPassing', () => {
    const c = new Catalog();
    c.node('n1', '203.0.113.1').service('n1', 'w1', 'web', 'passing');
    c.node('n2', '203.0.113.2').service('n2', 'w2', 'web', 'warning');
    c.node('n3', '203.0.113.3').service('n3', 'w3', 'web', 'critical');
    c.node('n4', '203.0.113.4', 'critical').service('n4', 'w4', 'web', 'passing');
    c.node('n5', '203.0.113.5').service('n5', 'w5', 'web', 'maintenance');
    expect(datas(ask(c, 'web.service.consul', 'A'))).to.deep.equal(['203.0.113.1', '203.0.113.2']);
    expect(datas(ask(c, 'web.service.consul', 'A', { onlyPassing: true }))).to.deep.equal(['203.0.113.1']);
  });

  it('prefers the service address, answers AAAA for IPv6 and a CNAME for a host name', () => {
    const c = new Catalog();
    c.node('n1', '203.0.113.1').service('n1', 'a', 'api', 'passing', { Address: '198.51.100.211' });
    c.node('n2', '203.0.113.2').service('n2', 'b', 'api', 'passing', { Address: 'fd00::2' });
    c.node('n3', '203.0.113.3').service('n3', 'c', 'api', 'passing', { Address: 'Db.Example.com' });
    expect(answers(ask(c, 'api.service.consul', 'A')).map((a) => JSON.stringify(a))).to.deep.equal([
      { name: 'api.service.consul', type: 'A', class: 'IN', ttl: 0, data: '198.51.100.211' },
      { name: 'api.service.consul', type: 'CNAME', class: 'IN', ttl: 0, data: 'db.example.com' },
    ].map((a) => JSON.stringify(a)));
    expect(datas(ask(c, 'api.service.consul', 'AAAA'))).to.deep.equal(['fd00::2', 'db.example.com']);
    expect(datas(ask(c, 'api.service.consul', 'ANY'))).to.deep.equal(['198.51.100.211', 'fd00::2', 'db.example.com']);
  });

  it('uses lan_ipv6 / lan_ipv4 tagged addresses for the other family', () => {
    const c = new Catalog();
    c.register({ Node: 'n1', Address: '203.0.113.1', TaggedAddresses: { lan_ipv6: 'fd00::1' } }).service('n1', 'w', 'web');
    expect(datas(ask(c, 'web.service.consul', 'AAAA'))).to.deep.equal(['fd00::1']);
    expect(datas(ask(c, 'n1.node.consul', 'AAAA'))).to.deep.equal(['fd00::1']);
  });

  it('filters by tag, in both name forms', () => {
    const c = new Catalog();
    c.node('n1', '203.0.113.1').service('n1', 'w1', 'web', 'passing', { Tags: ['V1'] });
    c.node('n2', '203.0.113.2').service('n2', 'w2', 'web', 'passing', { Tags: ['v2'] });
    expect(datas(ask(c, 'v1.web.service.consul', 'A'))).to.deep.equal(['203.0.113.1']);
    expect(datas(ask(c, '_web._v2.service.consul', 'SRV')).map((d) => (d as { target: string }).target)).to.deep.equal(['n2.node.dc1.consul']);
    expect(ask(c, 'v3.web.service.consul', 'A').rcode).to.equal('NXDOMAIN');
  });

  it('answers SRV with weight, port and node target, address records in additional', () => {
    const c = new Catalog();
    c.node('N1', '203.0.113.1').service('N1', 'w1', 'web', 'passing', { Port: 81, Weights: { Passing: 10, Warning: 1 } });
    c.node('n2', '203.0.113.2').service('n2', 'w2', 'web', 'warning', { Port: 82, Weights: { Passing: 10, Warning: 3 } });
    c.node('n3', '203.0.113.3').service('n3', 'w3', 'web', 'passing', { Port: 83, Address: '198.51.100.203' });
    c.node('n4', '203.0.113.4').service('n4', 'w4', 'web', 'passing', { Port: 84, Address: 'web4.example' });
    const r = ask(c, '_web._tcp.service.consul', 'SRV', { serviceTtlMs: { web: 30_000 } });
    expect(r.groups).to.deep.equal([
      { answers: [{ name: '_web._tcp.service.consul', type: 'SRV', class: 'IN', ttl: 30, data: { priority: 1, weight: 10, port: 81, target: 'n1.node.dc1.consul' } }],
        additional: [{ name: 'n1.node.dc1.consul', type: 'A', class: 'IN', ttl: 30, data: '203.0.113.1' }] },
      { answers: [{ name: '_web._tcp.service.consul', type: 'SRV', class: 'IN', ttl: 30, data: { priority: 1, weight: 3, port: 82, target: 'n2.node.dc1.consul' } }],
        additional: [{ name: 'n2.node.dc1.consul', type: 'A', class: 'IN', ttl: 30, data: '203.0.113.2' }] },
      { answers: [{ name: '_web._tcp.service.consul', type: 'SRV', class: 'IN', ttl: 30, data: { priority: 1, weight: 1, port: 83, target: 'c63364cb.addr.dc1.consul' } }],
        additional: [{ name: 'c63364cb.addr.dc1.consul', type: 'A', class: 'IN', ttl: 30, data: '198.51.100.203' }] },
      { answers: [{ name: '_web._tcp.service.consul', type: 'SRV', class: 'IN', ttl: 30, data: { priority: 1, weight: 1, port: 84, target: 'web4.example' } }],
        additional: [] },
    ]);
    expect(ask(c, 'web.service.consul', 'SRV').groups.length).to.equal(4);
  });

  it('gives NXDOMAIN with the SOA for unknown services, no healthy instances, unknown nodes, other datacenters and bad names', () => {
    const c = webCatalog().node('sick', '203.0.113.199').service('sick', 's', 'sick', 'critical');
    for (const name of ['nope.service.consul', 'sick.service.consul', 'ghost.node.consul', 'web.service.dc2.consul', 'a.b.c.service.consul', 'foo.consul', 'zz.addr.consul']) {
      const r = ask(c, name, 'A', SOA_OPTS);
      expect(r.rcode, name).to.equal('NXDOMAIN');
      expect(r.groups, name).to.deep.equal([]);
      expect(r.authority, name).to.deep.equal([{
        name: 'consul', type: 'SOA', class: 'IN', ttl: 5,
        data: { mname: 'ns.consul', rname: 'hostmaster.consul', serial: 7, refresh: 10, retry: 20, expire: 30, minimum: 5 },
      }]);
    }
    expect(ask(c, 'web.service.DC1.consul', 'A').rcode).to.equal('NOERROR');
  });

  it('gives NOERROR, no answers and the SOA for a name without the asked type', () => {
    const c = webCatalog();
    for (const [name, type] of [['web.service.consul', 'TXT'], ['web.service.consul', 'AAAA'], ['n1.node.consul', 'TXT'], ['n1.node.consul', 'SRV'], ['cb007101.addr.consul', 'AAAA'], ['consul', 'A'], ['web.service.consul', 'OTHER']] as const) {
      const r = ask(c, name, type);
      expect([r.rcode, r.groups.length, r.authority.length], `${name} ${type}`).to.deep.equal(['NOERROR', 0, 1]);
      expect(r.authority[0]!.type).to.equal('SOA');
    }
  });

  it('answers node lookups with A, TXT from meta and ANY as both, whatever the node health', () => {
    const c = new Catalog().node('db1', '203.0.113.101', 'critical', { rack: 'r1', az: 'a' });
    expect(answers(ask(c, 'DB1.node.dc1.consul', 'A', { nodeTtlMs: 10_500 }))).to.deep.equal([{ name: 'db1.node.dc1.consul', type: 'A', class: 'IN', ttl: 10, data: '203.0.113.101' }]);
    expect(datas(ask(c, 'db1.node.consul', 'TXT'))).to.deep.equal([['az=a'], ['rack=r1']]);
    expect(answers(ask(c, 'db1.node.consul', 'ANY')).map((a) => (a as { type: string }).type)).to.deep.equal(['A', 'TXT', 'TXT']);
    expect(ask(c, 'db1.node.consul', 'A').deps).to.deep.equal([{ table: 'node', name: 'db1' }]);
  });

  it('puts node meta as TXT in the additional section of node A/AAAA and SRV answers, rfc1035- keys as bare values', () => {
    const c = new Catalog();
    c.node('n1', '203.0.113.1', 'passing', { rack: 'r1', 'rfc1035-spf': 'v=spf1 -all' }).service('n1', 'web1', 'web', 'passing', { Port: 81 });
    c.node('n2', '203.0.113.2', 'passing').service('n2', 'web2', 'web', 'passing', { Port: 82, Address: '198.51.100.202' });
    const meta = (owner: string) => [
      { name: owner, type: 'TXT', class: 'IN', ttl: 0, data: ['rack=r1'] },
      { name: owner, type: 'TXT', class: 'IN', ttl: 0, data: ['v=spf1 -all'] },
    ];
    const a = ask(c, 'n1.node.consul', 'A');
    expect(a.groups).to.deep.equal([{ answers: [{ name: 'n1.node.consul', type: 'A', class: 'IN', ttl: 0, data: '203.0.113.1' }], additional: meta('n1.node.consul') }]);
    expect(ask(c, 'n1.node.consul', 'TXT').groups[0]!.additional).to.deep.equal([]);
    expect(ask(c, 'n1.node.consul', 'ANY').groups[0]!.additional).to.deep.equal([]);
    expect(ask(c, 'n2.node.consul', 'A').groups[0]!.additional).to.deep.equal([]);
    const srv = ask(c, 'web.service.consul', 'SRV');
    expect(srv.groups.map((g) => g.additional)).to.deep.equal([
      [{ name: 'n1.node.dc1.consul', type: 'A', class: 'IN', ttl: 0, data: '203.0.113.1' }, ...meta('n1.node.dc1.consul')],
      [{ name: 'c63364ca.addr.dc1.consul', type: 'A', class: 'IN', ttl: 0, data: '198.51.100.202' }],
    ]);
    expect(ask(c, 'n1.node.consul', 'A', { nodeMetaTxt: false }).groups[0]!.additional).to.deep.equal([]);
    expect(ask(c, 'web.service.consul', 'SRV', { nodeMetaTxt: false }).groups[0]!.additional).to.have.length(1);
    expect(ask(c, 'web.service.consul', 'A').groups.every((g) => g.additional.length === 0)).to.equal(true);
  });

  it('answers a node with a host name address with a CNAME, and names SRV targets in the zone asked', () => {
    const c = new Catalog().node('edge', 'edge.example.net').service('edge', 'e', 'edge', 'passing', { Port: 443 });
    expect(answers(ask(c, 'edge.node.consul', 'A'))).to.deep.equal([{ name: 'edge.node.consul', type: 'CNAME', class: 'IN', ttl: 0, data: 'edge.example.net' }]);
    const srv = ask(c, '_edge._tcp.service.alt.test', 'SRV', { altDomain: 'alt.test' });
    expect(srv.groups).to.deep.equal([{
      answers: [{ name: '_edge._tcp.service.alt.test', type: 'SRV', class: 'IN', ttl: 0, data: { priority: 1, weight: 1, port: 443, target: 'edge.node.dc1.alt.test' } }],
      additional: [],
    }]);
  });

  it('answers PTR for a tagged address too, and only PTR/ANY types', () => {
    const c = new Catalog().register({ Node: 'n1', Address: '203.0.113.1', TaggedAddresses: { wan: '198.51.100.1' } });
    expect(datas(ask(c, '1.100.51.198.in-addr.arpa', 'PTR'))).to.deep.equal(['n1.node.dc1.consul']);
    const a = ask(c, '1.100.51.198.in-addr.arpa', 'A');
    expect([a.rcode, a.groups.length, a.authority.length]).to.deep.equal(['NOERROR', 0, 1]);
  });

  it('answers addr names without the catalog', () => {
    const c = new Catalog();
    expect(datas(ask(c, 'cb007101.addr.consul', 'A'))).to.deep.equal(['203.0.113.1']);
    expect(datas(ask(c, '20010db8000000000000000000000001.addr.dc1.consul', 'AAAA'))).to.deep.equal(['2001:db8::1']);
    expect(ask(c, 'cb007101.addr.consul', 'A').deps).to.deep.equal([]);
  });

  it('answers SOA and NS (servers with glue) at the apex of either domain', () => {
    const c = webCatalog();
    c.node('s1', '203.0.113.11').service('s1', 'consul', 'consul', 'passing', { Port: 8300 });
    c.node('s2', '203.0.113.12', 'critical').service('s2', 'consul', 'consul', 'passing', { Port: 8300 });
    const opts = { altDomain: 'example.internal', nodeTtlMs: 60_000 };
    const ns = ask(c, 'example.INTERNAL.', 'NS', opts);
    expect(answers(ns)).to.deep.equal([{ name: 'example.internal', type: 'NS', class: 'IN', ttl: 60, data: 's1.node.dc1.example.internal' }]);
    expect(ns.additional).to.deep.equal([{ name: 's1.node.dc1.example.internal', type: 'A', class: 'IN', ttl: 60, data: '203.0.113.11' }]);
    const soa = ask(c, 'consul', 'SOA', opts);
    expect(answers(soa).map((a) => (a as { type: string }).type)).to.deep.equal(['SOA']);
    expect(answers(ask(c, 'consul', 'ANY', opts)).map((a) => (a as { type: string }).type)).to.deep.equal(['SOA', 'NS']);
  });

  it('answers PTR for node and service addresses; unknown reverse names are NXDOMAIN and forwardable', () => {
    const c = new Catalog().node('n1', '203.0.113.1').service('n1', 'w', 'web', 'passing', { Address: '203.0.113.51' });
    expect(datas(ask(c, '1.113.0.203.in-addr.arpa', 'PTR'))).to.deep.equal(['n1.node.dc1.consul']);
    expect(datas(ask(c, '51.113.0.203.in-addr.arpa', 'PTR'))).to.deep.equal(['web.service.dc1.consul']);
    const miss = ask(c, '9.9.9.9.in-addr.arpa', 'PTR');
    expect([miss.rcode, miss.forward]).to.deep.equal(['NXDOMAIN', true]);
  });

  it('marks names outside our zones REFUSED and forwardable, not authoritative', () => {
    const r = ask(new Catalog(), 'example.com', 'A');
    expect([r.rcode, r.aa, r.forward]).to.deep.equal(['REFUSED', false, true]);
  });

  it('picks service TTLs by exact name, longest prefix wildcard, then *', () => {
    const opts = { serviceTtlMs: { '*': 5000, 'we*': 10_000, 'web*': 20_000, 'webapp': 30_000 } };
    expect(['webapp', 'web-x', 'wex', 'db'].map((s) => serviceTtl(s, opts))).to.deep.equal([30, 20, 10, 5]);
    expect(serviceTtl('db', {})).to.equal(0);
  });

  it('materialize shuffles groups with the injected rng and applies a record limit', () => {
    const c = new Catalog();
    for (let i = 1; i <= 10; i++) c.node(`n${i}`, `203.0.113.${i}`).service(`n${i}`, `w${i}`, 'web');
    const r = ask(c, 'web.service.consul', 'A');
    const seed = 42;
    const rng = new SeededRng(seed);
    const firsts = new Set<unknown>();
    for (let i = 0; i < 50; i++) {
      const m = materialize(r, () => rng.next(), 3);
      expect(m.answers.length, `seed ${seed}`).to.equal(3);
      firsts.add((m.answers[0] as { data: unknown }).data);
    }
    expect(firsts.size, `seed ${seed}`).to.be.greaterThan(3);
    expect(materialize(r, () => 0.5).answers.length).to.equal(10);
  });
});
