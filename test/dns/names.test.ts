import { expect } from 'chai';
import { formatIpv6, hexToIp, ipFamily, ipToHex, parseIpv6, parseName, type ParsedName } from '../../dns/names.js';

const opts = { domain: 'consul.', altDomain: 'alt.example' };

describe('dns/names parseName', () => {
  const table: Array<[string, ParsedName]> = [
    ['web.service.consul', { kind: 'service', domain: 'consul', service: 'web', tag: null, dc: null, rfc2782: false }],
    ['WEB.Service.CONSUL.', { kind: 'service', domain: 'consul', service: 'web', tag: null, dc: null, rfc2782: false }],
    ['v1.web.service.consul', { kind: 'service', domain: 'consul', service: 'web', tag: 'v1', dc: null, rfc2782: false }],
    ['v1.web.service.dc1.consul', { kind: 'service', domain: 'consul', service: 'web', tag: 'v1', dc: 'dc1', rfc2782: false }],
    ['web.service.alt.example', { kind: 'service', domain: 'alt.example', service: 'web', tag: null, dc: null, rfc2782: false }],
    ['_web._tcp.service.consul', { kind: 'service', domain: 'consul', service: 'web', tag: null, dc: null, rfc2782: true }],
    ['_web._udp.service.dc2.consul', { kind: 'service', domain: 'consul', service: 'web', tag: null, dc: 'dc2', rfc2782: true }],
    ['_web._v1.consul', { kind: 'service', domain: 'consul', service: 'web', tag: 'v1', dc: null, rfc2782: true }],
    ['_web._tcp.dc1.consul', { kind: 'service', domain: 'consul', service: 'web', tag: null, dc: 'dc1', rfc2782: true }],
    ['n1.node.consul', { kind: 'node', domain: 'consul', node: 'n1', dc: null }],
    ['host.example.node.dc1.consul', { kind: 'node', domain: 'consul', node: 'host.example', dc: 'dc1' }],
    ['cb007101.addr.consul', { kind: 'addr', domain: 'consul', ip: '203.0.113.1', family: 4, dc: null }],
    ['20010db8000000000000000000000001.addr.dc1.consul', { kind: 'addr', domain: 'consul', ip: '2001:db8::1', family: 6, dc: 'dc1' }],
    ['consul.', { kind: 'apex', domain: 'consul' }],
    ['ALT.example', { kind: 'apex', domain: 'alt.example' }],
    ['234.113.0.203.in-addr.arpa', { kind: 'ptr', ip: '203.0.113.234', family: 4 }],
    ['1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa', { kind: 'ptr', ip: '2001:db8::1', family: 6 }],
    ['example.com', { kind: 'outside' }],
    ['notconsul', { kind: 'outside' }],
    ['1.2.in-addr.arpa', { kind: 'outside' }],
    ['a.b.web.service.consul', { kind: 'invalid', domain: 'consul' }],
    ['service.consul', { kind: 'invalid', domain: 'consul' }],
    ['foo.consul', { kind: 'invalid', domain: 'consul' }],
    ['web.query.consul', { kind: 'invalid', domain: 'consul' }],
    ['xyz.addr.consul', { kind: 'invalid', domain: 'consul' }],
    ['0a0000.addr.consul', { kind: 'invalid', domain: 'consul' }],
    ['a..service.consul', { kind: 'invalid', domain: 'consul' }],
    ['_web._tcp.a.b.consul', { kind: 'invalid', domain: 'consul' }],
  ];
  for (const [name, want] of table) {
    it(`${name} → ${want.kind}`, () => {
      expect(parseName(name, opts)).to.deep.equal(want);
    });
  }

  it('prefers the longest zone when one zone is inside the other', () => {
    expect(parseName('web.service.dc1.consul', { domain: 'consul', altDomain: 'dc1.consul' })).to.deep.include({ kind: 'service', domain: 'dc1.consul', dc: null });
    expect(parseName('web.service.dc1.consul', { domain: 'consul' })).to.deep.include({ kind: 'service', dc: 'dc1' });
  });
});

describe('dns/names addresses', () => {
  it('converts between IPs and addr hex', () => {
    expect(ipToHex('203.0.113.1')).to.equal('cb007101');
    expect(ipToHex('2001:db8::1')).to.equal('20010db8000000000000000000000001');
    expect(ipToHex('web.example')).to.equal(null);
    expect(hexToIp('C63364C9')).to.deep.equal({ ip: '198.51.100.201', family: 4 });
    expect(hexToIp('123')).to.equal(null);
  });
  it('parses and formats IPv6 like RFC 5952', () => {
    expect(parseIpv6('::1')).to.deep.equal([0, 0, 0, 0, 0, 0, 0, 1]);
    expect(parseIpv6('::ffff:203.0.113.1')).to.deep.equal([0, 0, 0, 0, 0, 0xffff, 0xcb00, 0x7101]);
    expect(parseIpv6('1::2::3')).to.equal(null);
    expect(parseIpv6('1:2:3:4:5:6:7:8:9')).to.equal(null);
    expect(formatIpv6([0x2001, 0xdb8, 0, 0, 1, 0, 0, 1])).to.equal('2001:db8::1:0:0:1');
    expect(formatIpv6([1, 0, 2, 3, 4, 5, 6, 7])).to.equal('1:0:2:3:4:5:6:7');
    expect(formatIpv6([0, 0, 0, 0, 0, 0, 0, 0])).to.equal('::');
  });
  it('tells IPv4, IPv6 and host names apart', () => {
    expect([ipFamily('203.0.113.1'), ipFamily('fe80::1'), ipFamily('db.example.com'), ipFamily('256.0.0.1'), ipFamily('')]).to.deep.equal([4, 6, 0, 0, 0]);
  });
});
