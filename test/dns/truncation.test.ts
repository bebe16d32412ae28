import { expect } from 'chai';
import dnsPacket from 'dns-packet';
import type { DnsServer } from '../../dns/server.js';
import { dig } from './dig.js';
import { Catalog } from './helpers.js';
import { TcpClient, udpExchange } from './raw.js';
import { startServer } from './serve.js';

/** `big` on 100 healthy nodes 198.51.100.1-100. */
function hundred(): Catalog {
  const c = new Catalog();
  for (let i = 1; i <= 100; i++) c.node(`n${i}`, `198.51.100.${i}`).service(`n${i}`, `big${i}`, 'big', 'passing', { Port: 7000 + i });
  return c;
}

const query = (name: string, type: 'A' | 'SRV', id = 1, udpSize?: number): Buffer => dnsPacket.encode({
  type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name, class: 'IN' }],
  ...(udpSize === undefined ? {} : { additionals: [{ type: 'OPT', name: '.', udpPayloadSize: udpSize, flags: 0 }] as dnsPacket.Answer[] }),
});

describe('dns/server truncation, TCP and EDNS', function () {
  this.timeout(30_000);
  const servers: DnsServer[] = [];
  let port: number;
  before(async () => {
    const s = await startServer(hundred());
    servers.push(s);
    port = s.address().port;
  });
  after(async () => {
    for (const s of servers) await s.stop();
  });

  it('sets TC over UDP for 100 instances; dig retries over TCP and gets all 100', async () => {
    const r = await dig(port, 'big.service.consul', 'A');
    expect(r.retriedTcp).to.equal(true);
    expect(r.status).to.equal('NOERROR');
    expect(r.flags).to.not.include('tc');
    expect(new Set(r.answer.map((a) => a[4])).size).to.equal(100);
    const srv = await dig(port, 'big.service.consul', 'SRV');
    expect(srv.retriedTcp).to.equal(true);
    expect(srv.answer.length).to.equal(100);
    expect(srv.additional.filter((a) => a[3] === 'A').length).to.equal(100);
  });

  it('without a TCP retry (+ignore) shows TC and udp_answer_limit (3) shuffled answers', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const r = await dig(port, '+ignore', 'big.service.consul', 'A');
      expect(r.flags).to.include('tc');
      expect(r.answer.length).to.equal(3);
      for (const a of r.answer) seen.add(a[4]!);
    }
    expect(seen.size, 'answers are shuffled per query').to.be.greaterThan(3);
  });

  it('honours the EDNS buffer size, and 512 bytes without EDNS', async () => {
    const s = await startServer(hundred(), { udpAnswerLimit: 0 });
    servers.push(s);
    const p = s.address().port;
    const plain = await dig(p, '+ignore', '+noedns', 'big.service.consul', 'A');
    expect(plain.flags).to.include('tc');
    expect(plain.edns).to.equal(false);
    expect(plain.answer.length).to.be.within(10, 14);
    const small = await dig(p, '+ignore', '+bufsize=1232', 'big.service.consul', 'A');
    expect(small.flags).to.include('tc');
    expect(small.edns).to.equal(true);
    expect(small.answer.length).to.be.within(30, 35);
    const big = await dig(p, '+ignore', '+bufsize=4096', 'big.service.consul', 'A');
    expect(big.flags).to.not.include('tc');
    expect(big.answer.length).to.equal(100);
    for (const size of [512, 1232, 4096, 65000]) {
      const raw = await udpExchange(p, query('big.service.consul', 'SRV', 7, size));
      expect(raw, `size ${size}`).to.not.equal(null);
      expect(raw!.length, `size ${size}`).to.be.at.most(size);
      const d = dnsPacket.decode(raw!);
      const opt = d.additionals!.find((a) => a.type === 'OPT');
      expect(opt, `size ${size}`).to.not.equal(undefined);
    }
  });

  it('with enable_truncate off trims UDP answers to udp_answer_limit silently; a_record_limit applies everywhere', async () => {
    const s = await startServer(hundred(), { enableTruncate: false, aRecordLimit: 5, udpAnswerLimit: 3 });
    servers.push(s);
    const p = s.address().port;
    const udp = await dig(p, '+ignore', 'big.service.consul', 'A');
    expect(udp.flags).to.not.include('tc');
    expect(udp.answer.length).to.equal(3);
    const tcp = await dig(p, '+tcp', 'big.service.consul', 'A');
    expect(tcp.answer.length).to.equal(5);
  });

  it('answers several queries on one TCP connection, then closes it when idle', async () => {
    const s = await startServer(hundred(), { tcpIdleTimeoutMs: 300 });
    servers.push(s);
    const client = await TcpClient.connect(s.address().port);
    // Two queries in one write plus one split across writes: framing must not care.
    const q1 = query('big.service.consul', 'A', 11);
    const q2 = query('n5.node.consul', 'A', 12);
    const q3 = query('big.service.consul', 'SRV', 13);
    client.send(q1);
    client.send(q2);
    const len = Buffer.alloc(2);
    len.writeUInt16BE(q3.length);
    client.sock.write(Buffer.concat([len, q3.subarray(0, 5)]));
    await new Promise((r) => setTimeout(r, 30));
    client.sock.write(q3.subarray(5));
    const frames = await client.frames_(3);
    expect(frames.length).to.equal(3);
    const byId = new Map(frames.map((f) => { const d = dnsPacket.decode(f); return [d.id, d]; }));
    expect(byId.get(11)!.answers!.length).to.equal(100);
    expect((byId.get(11)!.flags! & dnsPacket.TRUNCATED_RESPONSE)).to.equal(0);
    expect(byId.get(12)!.answers!.map((a) => (a as { data: string }).data)).to.deep.equal(['198.51.100.5']);
    expect(byId.get(13)!.answers!.length).to.equal(100);
    expect(await client.waitClosed(3000)).to.equal(true);
  });
});
