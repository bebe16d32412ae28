import { expect } from 'chai';
import type { DnsServer } from '../../dns/server.js';
import { dig } from './dig.js';
import { Catalog } from './helpers.js';
import { startServer } from './serve.js';

/** A catalog with every kind of record the server answers. */
function fixture(): Catalog {
  const c = new Catalog();
  c.node('n1', '203.0.113.1', 'passing', { rack: 'r1' }).service('n1', 'web1', 'web', 'passing', { Port: 8001, Tags: ['v1'] });
  c.node('n2', '203.0.113.2').service('n2', 'web2', 'web', 'passing', { Port: 8002, Tags: ['v2'] });
  c.node('n3', '203.0.113.3').service('n3', 'web3', 'web', 'warning', { Port: 8003, Tags: ['v1'] });
  c.node('n4', '203.0.113.4').service('n4', 'web4', 'web', 'critical', { Port: 8004 });
  c.node('n5', '203.0.113.5', 'critical').service('n5', 'web5', 'web', 'passing', { Port: 8005 });
  c.node('n6', '203.0.113.6').service('n6', 'api6', 'api', 'passing', { Address: 'fd00::6', Port: 9006 });
  c.node('n7', '203.0.113.7').service('n7', 'ext', 'ext', 'passing', { Address: 'ext.example.org', Port: 443 });
  c.node('s1', '203.0.113.91').service('s1', 'consul', 'consul', 'passing', { Port: 8300 });
  c.node('down', '203.0.113.99').service('down', 'db', 'db', 'critical');
  return c;
}


describe('dns/server with dig', function () {
  this.timeout(30_000);
  let c: Catalog;
  let server: DnsServer;
  let port: number;

  before(async () => {
    c = fixture();
    server = await startServer(c, { serviceTtlMs: { 'we*': 15_000 }, nodeTtlMs: 30_000 });
    port = server.address().port;
  });
  after(async () => {
    await server.stop();
  });

  const rdata = (rows: string[][]): string[] => rows.map((r) => r.slice(4).join(' ')).sort();

  it('A for a service: healthy instances only (critical and serfHealth-critical left out), AA, no RA, TTL from the prefix wildcard', async () => {
    const r = await dig(port, 'web.service.consul', 'A');
    expect(r.status).to.equal('NOERROR');
    expect(r.flags).to.include.members(['qr', 'aa']);
    expect(r.flags).to.not.include('ra');
    expect(r.flags).to.not.include('tc');
    expect(rdata(r.answer)).to.deep.equal(['203.0.113.1', '203.0.113.2', '203.0.113.3']);
    expect(r.answer.map((a) => a[1])).to.deep.equal(['15', '15', '15']);
    expect(r.answer[0]![0]).to.equal('web.service.consul.');
  });

  it('echoes the question case as sent', async () => {
    const r = await dig(port, 'WeB.SeRvIcE.CoNsUl', 'A');
    expect(r.raw).to.include(';WeB.SeRvIcE.CoNsUl.');
    expect(r.answer.length).to.equal(3);
  });

  it('tags, datacenter, alt domain and only healthy ones', async () => {
    expect(rdata((await dig(port, 'v1.web.service.dc1.consul', 'A')).answer)).to.deep.equal(['203.0.113.1', '203.0.113.3']);
    expect(rdata((await dig(port, 'web.service.herald.test', 'A')).answer)).to.deep.equal(['203.0.113.1', '203.0.113.2', '203.0.113.3']);
  });

  it('SRV in both forms, with node targets and A records in additional', async () => {
    for (const name of ['web.service.consul', '_web._tcp.service.consul', '_web._tcp.consul']) {
      const r = await dig(port, name, 'SRV');
      expect(r.status, name).to.equal('NOERROR');
      expect(rdata(r.answer), name).to.deep.equal(['1 1 8001 n1.node.dc1.consul.', '1 1 8002 n2.node.dc1.consul.', '1 1 8003 n3.node.dc1.consul.']);
      expect(rdata(r.additional.filter((x) => x[3] === 'A')), name).to.deep.equal(['203.0.113.1', '203.0.113.2', '203.0.113.3']);
    }
    expect(rdata((await dig(port, '_web._v2.service.consul', 'SRV')).answer)).to.deep.equal(['1 1 8002 n2.node.dc1.consul.']);
  });

  it('AAAA from an IPv6 service address; CNAME for a host name; ANY like A', async () => {
    const a6 = await dig(port, 'api.service.consul', 'AAAA');
    expect(a6.answer.map((x) => [x[3], x[4]])).to.deep.equal([['AAAA', 'fd00::6']]);
    const cname = await dig(port, 'ext.service.consul', 'A');
    expect(cname.answer.map((x) => [x[3], x[4]])).to.deep.equal([['CNAME', 'ext.example.org.']]);
    const any = await dig(port, 'web.service.consul', 'ANY');
    expect(rdata(any.answer)).to.deep.equal(['203.0.113.1', '203.0.113.2', '203.0.113.3']);
  });

  it('node A, TXT from node meta, ANY as both; node TTL', async () => {
    const a = await dig(port, 'n1.node.consul', 'A');
    expect(a.answer.map((x) => [x[1], x[3], x[4]])).to.deep.equal([['30', 'A', '203.0.113.1']]);
    const txt = await dig(port, 'n1.node.dc1.consul', 'TXT');
    expect(txt.answer.map((x) => [x[3], x[4]])).to.deep.equal([['TXT', '"rack=r1"']]);
    const any = await dig(port, 'N1.node.consul', 'ANY');
    expect(any.answer.map((x) => x[3])).to.deep.equal(['A', 'TXT']);
  });

  it('node meta as TXT in the additional section of node A and SRV answers (enable_additional_node_meta_txt)', async () => {
    const a = await dig(port, 'n1.node.consul', 'A');
    expect(a.additional.map((x) => [x[0], x[3], x[4]])).to.deep.equal([['n1.node.consul.', 'TXT', '"rack=r1"']]);
    const srv = await dig(port, 'v1.web.service.consul', 'SRV', '+tcp');
    const extra = srv.additional.filter((x) => x[3] !== 'OPT').map((x) => `${x[0]} ${x[3]} ${x[4]}`).sort();
    // n3 (warning) has no meta: only its A record.
    expect(extra).to.deep.equal(['n1.node.dc1.consul. A 203.0.113.1', 'n1.node.dc1.consul. TXT "rack=r1"', 'n3.node.dc1.consul. A 203.0.113.3']);
    const off = await startServer(c, { enableAdditionalNodeMetaTxt: false });
    try {
      const p = off.address().port;
      expect((await dig(p, 'n1.node.consul', 'A')).additional.filter((x) => x[3] !== 'OPT')).to.deep.equal([]);
      expect((await dig(p, 'v1.web.service.consul', 'SRV')).additional.filter((x) => x[3] === 'TXT')).to.deep.equal([]);
      // TXT queries answer meta in the answer section either way.
      expect((await dig(p, 'n1.node.consul', 'TXT')).answer.map((x) => x[4])).to.deep.equal(['"rack=r1"']);
    } finally {
      await off.stop();
    }
  });

  it('addr names for IPv4 and IPv6', async () => {
    expect(rdata((await dig(port, 'cb007101.addr.dc1.consul', 'A')).answer)).to.deep.equal(['203.0.113.1']);
    expect(rdata((await dig(port, 'fd000000000000000000000000000006.addr.consul', 'AAAA')).answer)).to.deep.equal(['fd00::6']);
  });

  it('PTR for node and service addresses (dig -x)', async () => {
    expect(rdata((await dig(port, '-x', '203.0.113.1')).answer)).to.deep.equal(['n1.node.dc1.consul.']);
    expect(rdata((await dig(port, '-x', 'fd00::6')).answer)).to.deep.equal(['api.service.dc1.consul.']);
    const miss = await dig(port, '-x', '192.0.2.1');
    expect(miss.status).to.equal('NXDOMAIN');
  });

  it('SOA and NS (servers with glue) at the apex', async () => {
    const soa = await dig(port, 'consul', 'SOA');
    expect(soa.answer.map((x) => x.slice(3).join(' '))).to.deep.equal(['SOA ns.consul. hostmaster.consul. 42 3600 600 86400 7']);
    const ns = await dig(port, 'consul', 'NS');
    expect(ns.answer.map((x) => [x[3], x[4]])).to.deep.equal([['NS', 's1.node.dc1.consul.']]);
    expect(ns.additional.filter((x) => x[3] === 'A').map((x) => [x[0], x[4]])).to.deep.equal([['s1.node.dc1.consul.', '203.0.113.91']]);
  });

  it('NXDOMAIN with the SOA in authority: unknown names, no healthy instance, other datacenter, unknown node', async () => {
    for (const name of ['nope.service.consul', 'db.service.consul', 'web.service.dc9.consul', 'ghost.node.consul', 'bogus.consul']) {
      const r = await dig(port, name, 'A');
      expect(r.status, name).to.equal('NXDOMAIN');
      expect(r.flags, name).to.include('aa');
      expect(r.answer, name).to.deep.equal([]);
      expect(r.authority.map((x) => [x[0], x[3]]), name).to.deep.equal([['consul.', 'SOA']]);
    }
  });

  it('NOERROR with no answers and the SOA for a name without the asked type', async () => {
    for (const [name, type] of [['web.service.consul', 'AAAA'], ['web.service.consul', 'MX'], ['n2.node.consul', 'TXT'], ['consul', 'A']]) {
      const r = await dig(port, name!, type!);
      expect([r.status, r.answer.length, r.authority.map((x) => x[3]).join()], `${name} ${type}`).to.deep.equal(['NOERROR', 0, 'SOA']);
    }
  });

  it('REFUSED for names outside our domains without recursors; NOTIMP for another class', async () => {
    const r = await dig(port, 'example.com', 'A');
    expect(r.status).to.equal('REFUSED');
    const ch = await dig(port, '-c', 'CH', 'version.bind', 'TXT');
    expect(ch.status).to.equal('NOTIMP');
  });

  it('answers from the cache and drops entries when the catalog changes', async () => {
    await dig(port, 'web.service.consul', 'A');
    const before = server.cacheStats();
    await dig(port, 'web.service.consul', 'A');
    expect(server.cacheStats().hits).to.equal(before.hits + 1);
    c.service('n2', 'web2', 'web', 'critical', { Port: 8002, Tags: ['v2'] });
    expect(server.cacheStats().invalidations).to.be.greaterThan(before.invalidations);
    expect(rdata((await dig(port, 'web.service.consul', 'A')).answer)).to.deep.equal(['203.0.113.1', '203.0.113.3']);
    c.service('n2', 'web2', 'web', 'passing', { Port: 8002, Tags: ['v2'] });
    expect(rdata((await dig(port, 'web.service.consul', 'A')).answer)).to.deep.equal(['203.0.113.1', '203.0.113.2', '203.0.113.3']);
  });
});
