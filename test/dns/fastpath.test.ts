import { expect } from 'chai';
import dnsPacket from 'dns-packet';
import { SeededRng } from '../../agent/runtime/rng.js';
import { AnswerCache } from '../../dns/cache.js';
import { storeReader } from '../../dns/catalog-reader.js';
import {
  assemble, assembleFast, newFastQuery, parseFast, parseQuery, questionHash, type AssembleOptions, type Query,
} from '../../dns/wire.js';
import { Catalog, webCatalog } from './helpers.js';
import { udpExchange } from './raw.js';
import { startServer } from './serve.js';

const SEED = Number(process.env.SEED ?? 20261126);

/** Random case for each ASCII letter. */
function mixCase(name: string, rng: SeededRng): string {
  return [...name].map((ch) => (rng.next() < 0.5 ? ch.toUpperCase() : ch.toLowerCase())).join('');
}

/** A query as dns-packet encodes it; `edns` adds an OPT record with that size (and DO, a cookie option). */
function encodeQuery(id: number, name: string, type: string, o: { edns?: number; dnssecOk?: boolean; cookie?: boolean; rd?: boolean; cd?: boolean } = {}): Buffer {
  const additionals = o.edns === undefined ? [] : [{
    type: 'OPT', name: '.', udpPayloadSize: o.edns, flags: o.dnssecOk ? dnsPacket.DNSSEC_OK : 0,
    options: o.cookie ? [{ code: 10, data: Buffer.from('0102030405060708', 'hex') }] : [],
  }];
  let flags = 0;
  if (o.rd) flags |= dnsPacket.RECURSION_DESIRED;
  if (o.cd) flags |= dnsPacket.CHECKING_DISABLED;
  return dnsPacket.encode({ type: 'query', id, flags, questions: [{ type: type as 'A', name, class: 'IN' }], additionals: additionals as dnsPacket.Answer[] });
}

/** `web` on 100 nodes: answers that need TC over UDP. */
function bigCatalog(): Catalog {
  const c = new Catalog();
  for (let i = 1; i <= 100; i++) c.node(`m${i}`, `198.51.${100 + (i >> 8)}.${i & 255}`, 'passing', { rack: `r${i}` }).service(`m${i}`, `big${i}`, 'big', 'passing', { Port: 9000 + i });
  return c;
}

describe('dns/wire fast path (parseFast, assembleFast, AnswerCache.peekWire)', () => {
  it(`agrees with parseQuery + assemble byte for byte on seeded random queries (seed ${SEED})`, () => {
    const rng = new SeededRng(SEED);
    const c = webCatalog();
    for (let i = 1; i <= 100; i++) c.node(`m${i}`, `198.51.100.${i}`).service(`m${i}`, `big${i}`, 'big', 'passing', { Port: 9000 + i });
    const cache = new AnswerCache({ reader: storeReader(c.store), resolver: {} });
    const names = ['web.service.consul', 'big.service.consul', '_web._tcp.service.consul', 'n1.node.consul', 'nosuch.service.consul', 'consul', 'example.org'];
    const types = ['A', 'AAAA', 'SRV', 'TXT', 'ANY', 'MX'];
    const f = newFastQuery();
    let fastHits = 0;
    for (let i = 0; i < 600; i++) {
      const name = mixCase(names[rng.int(names.length)]!, rng);
      const type = types[rng.int(types.length)]!;
      const edns = rng.next() < 0.5 ? undefined : [0, 100, 512, 1232, 4096, 65535][rng.int(6)]!;
      const msg = encodeQuery(rng.int(65536), name, type, { edns, dnssecOk: rng.next() < 0.5, cookie: rng.next() < 0.5, rd: rng.next() < 0.5, cd: rng.next() < 0.5 });
      const full = parseQuery(msg);
      expect(full.kind, `seed ${SEED} #${i}`).to.equal('query');
      const q = (full as { query: Query }).query;
      expect(parseFast(msg, f), `seed ${SEED} #${i} ${name} ${type}`).to.equal(true);
      expect({ id: f.id, rd: (f.flags & 0x100) !== 0, cd: (f.flags & 0x10) !== 0, qtype: f.qtype, udp: f.ednsSize || null, dnssecOk: f.ednsSize ? f.dnssecOk : null })
        .to.deep.equal({ id: q.id, rd: q.rd, cd: q.cd, qtype: q.qtype, udp: q.edns?.udpSize ?? null, dnssecOk: q.edns?.dnssecOk ?? null }, `seed ${SEED} #${i}`);
      expect(msg.subarray(12, f.nameEnd + 4).equals(q.question)).to.equal(true);
      expect(f.hash).to.equal(questionHash(Buffer.from(q.nameKey, 'latin1'), q.qtype));
      const slow = cache.get(q);
      const hit = cache.peekWire(msg, f.nameEnd, f.qtype, f.hash);
      expect(hit, `seed ${SEED} #${i}: the entry get() made is found by bytes`).to.equal(slow);
      fastHits++;
      const o = (): AssembleOptions => {
        const r = new SeededRng(SEED + i);
        return { maxSize: q.edns ? Math.min(q.edns.udpSize, 65507) : 512, recordLimit: 0, udpLimit: 3, truncateOnLimit: true, ra: false, rng: () => r.next() };
      };
      expect(assembleFast(msg, f, slow, o()).equals(assemble(q, slow, o())), `seed ${SEED} #${i} ${name} ${type}`).to.equal(true);
    }
    expect(fastHits).to.equal(600);
  });

  it('declines every shape it does not handle, leaving it to parseQuery', () => {
    const f = newFastQuery();
    const base = encodeQuery(7, 'web.service.consul', 'A');
    const edns = encodeQuery(7, 'web.service.consul', 'A', { edns: 1232 });
    const mut = (b: Buffer, fn: (x: Buffer) => void): Buffer => {
      const x = Buffer.from(b);
      fn(x);
      return x;
    };
    const declined: Array<[string, Buffer]> = [
      ['a response', mut(base, (x) => { x[2]! |= 0x80; })],
      ['opcode STATUS', mut(base, (x) => { x[2]! |= 2 << 3; })],
      ['two questions', mut(base, (x) => { x[5] = 2; })],
      ['an answer record', mut(base, (x) => { x[7] = 1; })],
      ['trailing bytes', Buffer.concat([base, Buffer.from([0])])],
      ['truncated question', base.subarray(0, base.length - 1)],
      ['class CH', mut(base, (x) => { x[x.length - 1] = 3; })],
      ['EDNS version 1', mut(edns, (x) => { x[x.length - 5] = 1; })],
      ['OPT rdlen past the end', mut(edns, (x) => { x[x.length - 1] = 4; })],
      ['a compression pointer in the name', Buffer.concat([base.subarray(0, 12), Buffer.from([0xc0, 0x0c, 0, 1, 0, 1])])],
      ['a non-ASCII name', Buffer.concat([base.subarray(0, 12), Buffer.from([1, 0xe9, 0, 0, 1, 0, 1])])],
    ];
    for (const [what, msg] of declined) expect(parseFast(msg, f), what).to.equal(false);
    // The full parser answers them (or drops them) as before.
    expect(parseQuery(declined[0]![1]).kind).to.equal('drop');
    expect(parseQuery(declined[7]![1])).to.deep.include({ kind: 'error', rcode: -1 });
    expect(parseFast(base, f) && parseFast(edns, f)).to.equal(true);
  });

  it('over UDP: echoes each ID and the question case, honours EDNS sizes and sets TC, on cache hits', async function () {
    this.timeout(20_000);
    const server = await startServer(bigCatalog(), { udpAnswerLimit: 0 });
    try {
      const port = server.address().port;
      const rng = new SeededRng(SEED);
      const ask = async (name: string, type: string, o: Parameters<typeof encodeQuery>[3] = {}) => {
        const id = rng.int(65536);
        const msg = encodeQuery(id, name, type, o);
        const raw = await udpExchange(port, msg, 2000);
        expect(raw, `no reply to ${name} ${type}`).to.not.equal(null);
        expect(raw!.subarray(12, 12 + msg.length - 12 - (o.edns === undefined ? 0 : o.cookie ? 23 : 11)).equals(msg.subarray(12, msg.length - (o.edns === undefined ? 0 : o.cookie ? 23 : 11)))).to.equal(true);
        return { id, res: dnsPacket.decode(raw!), size: raw!.length };
      };
      await ask('big.service.consul', 'A'); // miss: fills the cache
      const before = server.cacheStats();
      for (let i = 0; i < 20; i++) {
        const name = mixCase('big.service.consul', rng);
        const plain = await ask(name, 'A', { rd: i % 2 === 0 });
        expect(plain.res.id).to.equal(plain.id);
        expect(plain.res.questions![0]!.name).to.equal(name);
        expect(plain.size).to.be.at.most(512);
        expect(plain.res.flags! & 0x0200, 'TC without EDNS').to.equal(0x0200);
        expect(Boolean(plain.res.flags! & 0x0100)).to.equal(i % 2 === 0);
        expect(plain.res.answers!.length).to.be.within(1, 99);
        const big = await ask(name, 'A', { edns: 4096, dnssecOk: true, cookie: true });
        expect(big.res.id).to.equal(big.id);
        expect(big.res.flags! & 0x0200, 'no TC with a 4096-byte buffer').to.equal(0);
        expect(big.res.answers).to.have.length(100);
        const opt = big.res.additionals!.find((a) => a.type === 'OPT') as { udpPayloadSize: number; flags: number } | undefined;
        expect(opt?.udpPayloadSize).to.equal(4096);
        expect(opt!.flags & dnsPacket.DNSSEC_OK).to.equal(dnsPacket.DNSSEC_OK);
        const small = await ask(name, 'A', { edns: 1232 });
        expect(small.size).to.be.at.most(1232);
        expect(small.res.flags! & 0x0200).to.equal(0x0200);
      }
      const after = server.cacheStats();
      expect(after.misses).to.equal(before.misses);
      expect(after.hits - before.hits).to.equal(60);
    } finally {
      await server.stop();
    }
  });
});
