import { expect } from 'chai';
import dgram from 'node:dgram';
import dnsPacket from 'dns-packet';
import { SeededRng } from '../../agent/runtime/rng.js';
import type { DnsServer } from '../../dns/server.js';
import { parseQuery } from '../../dns/wire.js';
import { dig } from './dig.js';
import { webCatalog } from './helpers.js';
import { TcpClient, udpExchange } from './raw.js';
import { startServer } from './serve.js';

const valid = (id = 0x1234, name = 'web.service.consul', type: 'A' | 'SRV' | 'TXT' | 'ANY' = 'A'): Buffer =>
  dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: type as dnsPacket.RecordType, name, class: 'IN' }] });

const rcodeOf = (b: Buffer): number => b[3]! & 0xf;
const withHeader = (b: Buffer, f: (h: Buffer) => void): Buffer => { const c = Buffer.from(b); f(c); return c; };

describe('dns/server bad input', function () {
  this.timeout(30_000);
  let server: DnsServer;
  let port: number;
  before(async () => {
    server = await startServer(webCatalog());
    port = server.address().port;
  });
  after(async () => {
    await server.stop();
  });

  const expectRcode = async (msg: Buffer, rcode: number, why: string): Promise<Buffer> => {
    const r = await udpExchange(port, msg);
    expect(r, why).to.not.equal(null);
    expect(r!.readUInt16BE(0), why).to.equal(msg.readUInt16BE(0));
    expect(r![2]! & 0x80, `${why}: QR`).to.equal(0x80);
    expect(rcodeOf(r!), why).to.equal(rcode);
    return r!;
  };

  it('drops packets shorter than a header and responses (QR=1)', async () => {
    expect(await udpExchange(port, Buffer.from([1, 2, 3, 4, 5]), 300)).to.equal(null);
    expect(await udpExchange(port, withHeader(valid(), (h) => { h[2] |= 0x80; }), 300)).to.equal(null);
  });

  it('FORMERR for question counts other than 1, cut or compressed questions and trailing bytes', async () => {
    await expectRcode(withHeader(valid(), (h) => h.writeUInt16BE(2, 4)), 1, 'qdcount 2');
    await expectRcode(withHeader(valid(), (h) => h.writeUInt16BE(0, 4)), 1, 'qdcount 0');
    await expectRcode(valid().subarray(0, 20), 1, 'cut question');
    await expectRcode(Buffer.concat([valid(), Buffer.from([0, 0, 0])]), 1, 'trailing bytes');
    const ptr = Buffer.concat([valid().subarray(0, 12), Buffer.from([0xc0, 0x0c, 0, 1, 0, 1])]);
    await expectRcode(ptr, 1, 'pointer in question');
    await expectRcode(withHeader(valid(), (h) => h.writeUInt16BE(1, 10)), 1, 'arcount 1 without a record');
  });

  it('NOTIMP for other opcodes and classes; REFUSED for zone transfers; BADVERS for EDNS version 1', async () => {
    await expectRcode(withHeader(valid(), (h) => { h[2] = (h[2]! & 0x87) | (2 << 3); }), 4, 'opcode STATUS');
    const ch = dnsPacket.encode({ type: 'query', id: 9, questions: [{ type: 'TXT', name: 'version.bind', class: 'CH' }] });
    await expectRcode(ch, 4, 'class CH');
    const axfr = dnsPacket.encode({ type: 'query', id: 10, questions: [{ type: 'AXFR', name: 'consul', class: 'IN' }] });
    await expectRcode(axfr, 5, 'AXFR');
    const v1 = dnsPacket.encode({
      type: 'query', id: 11, questions: [{ type: 'A', name: 'web.service.consul', class: 'IN' }],
      additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0, ednsVersion: 1 } as unknown as dnsPacket.Answer],
    });
    // dns-packet writes the version from `ednsVersion`? Set the byte ourselves to be sure.
    v1[v1.length - 11 + 6] = 1;
    const r = await expectRcode(v1, 0, 'EDNS version 1');
    expect(r[r.length - 11 + 5], 'BADVERS extended rcode in OPT').to.equal(1);
  });

  it('answers an oversized garbage frame over TCP with FORMERR and keeps the connection', async () => {
    const client = await TcpClient.connect(port);
    const junk = withHeader(Buffer.alloc(65535, 0x41), (h) => { h.writeUInt16BE(0x4242, 0); h.writeUInt16BE(0, 2); h.writeUInt16BE(1, 4); });
    client.send(junk);
    client.send(valid(0x77));
    const frames = await client.frames_(2);
    client.close();
    expect(frames.map((f) => [f.readUInt16BE(0), rcodeOf(f)])).to.deep.equal([[0x4242, 1], [0x77, 0]]);
  });

  it('assembles a TCP frame dripped one byte per write', async () => {
    const client = await TcpClient.connect(port);
    const q = valid(0x55);
    const framed = Buffer.concat([Buffer.from([q.length >> 8, q.length & 0xff]), q]);
    for (const b of framed) {
      client.sock.write(Buffer.from([b]));
      await new Promise((r) => setImmediate(r));
    }
    const frames = await client.frames_(1);
    client.close();
    expect(frames.map((f) => [f.readUInt16BE(0), rcodeOf(f), f.readUInt16BE(6)])).to.deep.equal([[0x55, 0, 3]]);
  });

  it('closes a TCP connection that announces a zero-length frame', async () => {
    const client = await TcpClient.connect(port);
    client.sock.write(Buffer.from([0, 0]));
    expect(await client.waitClosed(2000)).to.equal(true);
  });
});

/** Random packets and mutations of valid queries, from `seed`. */
function fuzzPackets(seed: number, count: number): Buffer[] {
  const rng = new SeededRng(seed);
  const names = ['web.service.consul', '_web._tcp.service.consul', 'n1.node.consul', 'consul', 'cb007101.addr.consul', 'example.com', '1.113.0.203.in-addr.arpa'];
  const types = ['A', 'SRV', 'TXT', 'ANY'] as const;
  const out: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const mode = rng.int(4);
    if (mode === 0) {
      const b = Buffer.alloc(rng.int(600));
      for (let j = 0; j < b.length; j++) b[j] = rng.int(256);
      out.push(b);
      continue;
    }
    let b: Buffer = Buffer.from(valid(rng.int(65536), names[rng.int(names.length)]!, types[rng.int(types.length)]!));
    if (rng.int(2) === 0) {
      b = Buffer.concat([b, dnsPacket.encode({ type: 'query', id: 0, additionals: [{ type: 'OPT', name: '.', udpPayloadSize: rng.int(65536), flags: 0 } as dnsPacket.Answer] }).subarray(12)]);
      b.writeUInt16BE(1, 10);
    }
    const flips = 1 + rng.int(mode === 3 ? 20 : 4);
    for (let f = 0; f < flips; f++) {
      const op = rng.int(4);
      const at = rng.int(b.length + 1);
      if (op === 0) { if (at < b.length) b[at] = rng.int(256); }
      else if (op === 1) b = b.subarray(0, at);
      else if (op === 2) b = Buffer.concat([b.subarray(0, at), Buffer.from([rng.int(256), rng.int(256)]), b.subarray(at)]);
      else if (b.length >= 12) b.writeUInt16BE(rng.int(4) === 0 ? 0xffff : rng.int(4), 4 + 2 * rng.int(4));
    }
    out.push(b);
  }
  return out;
}

describe('dns/server fuzz', function () {
  this.timeout(30_000);
  const seed = Number(process.env.DNS_FUZZ_SEED ?? Date.now() % 1_000_000);
  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.error(`dns fuzz failed with seed ${seed} (replay: DNS_FUZZ_SEED=${seed})`);
  });

  it('parseQuery never throws and in-process handling never fails internally (SERVFAIL)', async () => {
    const server = await startServer(webCatalog());
    try {
      for (const [i, p] of fuzzPackets(seed, 10_000).entries()) {
        let out: Buffer | null;
        try {
          parseQuery(p);
          const r = server.handle(p, i % 2 === 0 ? 'udp' : 'tcp');
          out = r instanceof Promise ? await r : r;
        } catch (err) {
          throw new Error(`seed ${seed} packet ${i} (${p.toString('hex')}): ${(err as Error).message}`);
        }
        if (out === null) continue;
        expect(rcodeOf(out), `seed ${seed} packet ${i} (${p.toString('hex')})`).to.not.equal(2);
        expect(out.length, `seed ${seed} packet ${i}`).to.be.at.most(65535);
        expect(() => dnsPacket.decode(out!), `seed ${seed} packet ${i}: our reply decodes`).to.not.throw();
      }
    } finally {
      await server.stop();
    }
  });

  it('the running server survives seeded garbage over UDP and TCP and still answers', async () => {
    const server = await startServer(webCatalog());
    const port = server.address().port;
    try {
      const packets = fuzzPackets(seed + 1, 3000);
      const sock = dgram.createSocket('udp4');
      let replies = 0;
      sock.on('message', () => replies++);
      for (let i = 0; i < packets.length; i += 100) {
        for (const p of packets.slice(i, i + 100)) sock.send(p, port, '127.0.0.1');
        await new Promise((r) => setTimeout(r, 5));
      }
      const client = await TcpClient.connect(port);
      for (const p of packets.slice(0, 300)) if (p.length > 0) client.send(p);
      client.close();
      await new Promise((r) => setTimeout(r, 100));
      sock.close();
      expect(replies, `seed ${seed}`).to.be.greaterThan(0);
      const r = await dig(port, 'web.service.consul', 'A');
      expect([r.status, r.answer.length], `seed ${seed}`).to.deep.equal(['NOERROR', 3]);
      const t = await dig(port, '+tcp', 'web.service.consul', 'SRV');
      expect([t.status, t.answer.length], `seed ${seed}`).to.deep.equal(['NOERROR', 3]);
    } finally {
      await server.stop();
    }
  });
});
