import { expect } from 'chai';
import { pack } from 'msgpackr';
import { consulTags } from './sim.js';
import { SeededRng } from '../../../agent/runtime/rng.js';
import { deflateRawSync } from 'node:zlib';
import { decodePacket, encodeDatagrams, encodePacket, MAX_DATAGRAM_BYTES, MAX_FRAME_BYTES, MAX_PLAIN_DATAGRAM } from '../../../agent/swim/codec.js';
import { estimateSize, MsgType, PROTOCOL_VERSION, WireStatus, type Message, type NodeState, type Packet, type Tags } from '../../../agent/swim/core/messages.js';

const ALL: Message[] = [
  { t: MsgType.Ping, seq: 1, target: 'b', from: 'a' },
  { t: MsgType.PingReq, seq: 2, target: 'c', addr: '127.0.0.1', port: 7946, nack: true, from: 'a' },
  { t: MsgType.Ack, seq: 3 },
  { t: MsgType.Nack, seq: 4 },
  { t: MsgType.Suspect, node: 'c', inc: 5, from: 'a' },
  { t: MsgType.Alive, node: 'a', inc: 6, addr: '::1', port: 1, tags: { role: 'server', dc: 'dc1' }, vsn: [1, 1, 1] },
  { t: MsgType.Dead, node: 'c', inc: 7, from: 'a' },
  { t: MsgType.Dead, node: 'c', inc: 7, from: 'c', prune: true },
  {
    t: MsgType.PushPull,
    from: 'a',
    join: true,
    reply: false,
    eventClock: 9,
    states: [{ node: 'a', addr: '203.0.113.1', port: 2, tags: {}, inc: 0, status: WireStatus.Left, vsn: [1, 1, 1] }],
  },
  { t: MsgType.UserEvent, ltime: 10, name: 'deploy', payload: new Uint8Array([1, 2, 3]), coalesce: false },
  { t: MsgType.KeyringOp, id: 'x/1', op: 'install', key: 'k', origin: 'a', addr: '127.0.0.1', port: 3 },
  { t: MsgType.KeyringAck, id: 'x/1', node: 'b', ok: false, error: 'nope' },
];

describe('swim codec', () => {
  it('round-trips every message type with the version byte first', () => {
    const p: Packet = { v: PROTOCOL_VERSION, msgs: ALL };
    const buf = encodePacket(p);
    expect(buf[0]).to.equal(PROTOCOL_VERSION);
    const r = decodePacket(buf, MAX_FRAME_BYTES);
    expect(r.ok, r.ok ? '' : r.error).to.equal(true);
    if (r.ok) expect(r.packet).to.deep.equal(p);
  });

  it('returns an error value for malformed, truncated, oversized or hostile input', () => {
    const good = encodePacket({ v: 1, msgs: [ALL[5] as Message] });
    const bad: Uint8Array[] = [
      new Uint8Array(0),
      new Uint8Array([1]),
      new Uint8Array([0, 0x90]),
      good.subarray(0, good.length - 3),
      new Uint8Array([1, ...pack({ a: 1 })]),
      new Uint8Array([1, ...pack([])]),
      new Uint8Array([1, ...pack([[99, 1]])]),
      new Uint8Array([1, ...pack([[MsgType.Ping, -1, 'a', 'b']])]),
      new Uint8Array([1, ...pack([[MsgType.Alive, 'a', 1, 'h', 1, { big: 'x'.repeat(600) }, [1, 1, 1]]])]),
      new Uint8Array([1, ...pack([[MsgType.Alive, 'a', 1, 'h', 1, { k: 5 }, [1, 1, 1]]])]),
      new Uint8Array([1, ...pack([[MsgType.Ping, 1, 'x'.repeat(500), 'b']])]),
      new Uint8Array([1, 0xdd, 0xff, 0xff, 0xff, 0xff]), // array32 claiming 4G elements
      new Uint8Array([1, 0xdb, 0xff, 0xff, 0xff, 0xff, 0x41]), // str32 claiming 4 GB
      new Uint8Array([1, 0xc7, 0x05, 0xff, 0, 0, 0, 0, 0]), // ext timestamp-ish
      new Uint8Array(70_000).fill(0x91),
    ];
    for (const b of bad) {
      const r = decodePacket(b);
      expect(r.ok, `accepted ${Buffer.from(b.subarray(0, 16)).toString('hex')}`).to.equal(false);
      if (!r.ok) expect(r.error).to.match(/^swim: codec:/);
    }
  });

  it('survives random garbage and bit flips without throwing (seeded)', () => {
    const seed = 77;
    const rng = new SeededRng(seed);
    const base = encodePacket({ v: 1, msgs: ALL });
    for (let i = 0; i < 3000; i++) {
      let b: Uint8Array;
      if (i % 2 === 0) {
        b = new Uint8Array(rng.int(300));
        for (let j = 0; j < b.length; j++) b[j] = rng.int(256);
      } else {
        b = base.slice();
        for (let j = 0; j < 1 + rng.int(4); j++) b[rng.int(b.length)] = rng.int(256);
      }
      const r = decodePacket(b, MAX_FRAME_BYTES);
      expect(typeof r.ok, `seed ${seed} iteration ${i}`).to.equal('boolean');
    }
  });

  it('estimateSize is the exact encoded size of every message (seeded variants: long, non-ASCII, large numbers)', () => {
    const seed = 4242;
    const rng = new SeededRng(seed);
    const alphabet = ['a', 'Z', '0', '-', '.', 'é', 'ß', '€', '中', '😀'];
    const str = (max: number, ascii = false): string => {
      const len = [0, 1, 31, 32, 200, 255, 256, 300][rng.int(8)]! % (max + 1);
      let x = '';
      while (x.length < len) x += ascii ? 'abcXYZ019-.'[rng.int(11)] : alphabet[rng.int(alphabet.length)];
      return x.slice(0, len) || 'n';
    };
    const num = (): number => [0, 1, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, 2 ** 40][rng.int(11)]!;
    const tags = (): Tags => {
      const t: Tags = {};
      const k = [0, 1, 7, 15, 16, 20][rng.int(6)]!;
      for (let i = 0; i < k; i++) t[`k${i}${str(8, true)}`] = str(20);
      return t;
    };
    const vsn: [number, number, number] = [1, 200, 255];
    const state = (): NodeState => ({ node: str(40), addr: str(39, true), port: rng.int(65536), tags: tags(), inc: num(), status: WireStatus.Suspect, vsn });
    const variants: Message[] = [...ALL];
    for (let i = 0; i < 300; i++) {
      variants.push(
        { t: MsgType.Ping, seq: num(), target: str(128), from: str(128) },
        { t: MsgType.PingReq, seq: num(), target: str(128), addr: str(45, true), port: rng.int(65536), nack: rng.next() < 0.5, from: str(128) },
        { t: MsgType.Ack, seq: num() },
        { t: MsgType.Suspect, node: str(128), inc: num(), from: str(128) },
        { t: MsgType.Dead, node: str(128), inc: num(), from: str(128), ...(rng.next() < 0.5 ? { prune: true } : {}) },
        { t: MsgType.Alive, node: str(128), inc: num(), addr: str(45, true), port: rng.int(65536), tags: tags(), vsn },
        { t: MsgType.PushPull, from: str(60), join: true, reply: false, eventClock: num(), states: Array.from({ length: [0, 1, 15, 16, 40][rng.int(5)]! }, state) },
        { t: MsgType.UserEvent, ltime: num(), name: str(100), payload: new Uint8Array([0, 1, 255, 300, 512][rng.int(5)]!), coalesce: true },
        { t: MsgType.KeyringOp, id: str(80), op: 'use', key: str(44, true), origin: str(60), addr: str(45, true), port: rng.int(65536) },
        { t: MsgType.KeyringAck, id: str(80), node: str(60), ok: true, error: str(100) },
      );
    }
    for (const m of variants) {
      // Packet = version byte + fixarray header (1 message) + the message.
      const actual = encodePacket({ v: 1, msgs: [m] }).length - 2;
      expect(estimateSize(m), `seed ${seed}: message type ${m.t}`).to.equal(actual);
    }
  });

  describe('compressed datagrams', () => {
    const alives = (k: number): Message[] =>
      Array.from({ length: k }, (_, i) => ({ t: MsgType.Alive, node: `node-${i}`, inc: i, addr: `203.0.113.${i}`, port: 8301, tags: consulTags(i), vsn: [1, 1, 1] }) as Message);

    it('deflates a packet of 30 alive messages with Consul tags into one datagram that decodes to the same packet', () => {
      const p: Packet = { v: PROTOCOL_VERSION, msgs: [{ t: MsgType.Ack, seq: 7 }, ...alives(30)] };
      const plain = encodePacket(p);
      expect(plain.length).to.be.greaterThan(2.5 * MAX_PLAIN_DATAGRAM);
      const ds = encodeDatagrams(p, true);
      expect(ds).to.have.length(1);
      expect(ds[0]!.length).to.be.at.most(MAX_PLAIN_DATAGRAM);
      expect(ds[0]![0]).to.equal(PROTOCOL_VERSION);
      const r = decodePacket(ds[0]!);
      expect(r.ok, r.ok ? '' : r.error).to.equal(true);
      if (r.ok) expect(r.packet).to.deep.equal(p);
      // Deterministic: the same packet always gives the same bytes.
      expect(Buffer.from(encodeDatagrams(p, true)[0]!).equals(Buffer.from(ds[0]!))).to.equal(true);
    });

    it('splits a packet that does not compress enough, keeping the first message first; small packets stay plain', () => {
      const seed = 99;
      const rng = new SeededRng(seed);
      const events: Message[] = Array.from({ length: 12 }, (_, i) => {
        const payload = new Uint8Array(480);
        for (let j = 0; j < payload.length; j++) payload[j] = rng.int(256);
        return { t: MsgType.UserEvent, ltime: i, name: `e${i}`, payload, coalesce: false };
      });
      const p: Packet = { v: PROTOCOL_VERSION, msgs: [{ t: MsgType.Ping, seq: 1, target: 'b', from: 'a' }, ...events] };
      const ds = encodeDatagrams(p, true);
      expect(ds.length, `seed ${seed}`).to.be.at.least(5);
      const msgs: Message[] = [];
      for (const d of ds) {
        expect(d.length, `seed ${seed}`).to.be.at.most(MAX_PLAIN_DATAGRAM);
        const r = decodePacket(d);
        expect(r.ok, r.ok ? '' : r.error).to.equal(true);
        if (r.ok) msgs.push(...r.packet.msgs);
      }
      expect(msgs, `seed ${seed}`).to.deep.equal(p.msgs);
      expect(msgs[0]!.t).to.equal(MsgType.Ping);
      const small: Packet = { v: PROTOCOL_VERSION, msgs: [{ t: MsgType.Ack, seq: 1 }] };
      expect(encodeDatagrams(small, true)).to.deep.equal([encodePacket(small)]);
      // Compression off: one plain datagram, as the core sized it.
      const two: Packet = { v: PROTOCOL_VERSION, msgs: alives(5) };
      expect(encodeDatagrams(two, false)).to.deep.equal([encodePacket(two)]);
    });

    it('refuses compressed bodies that inflate past the limit, are not DEFLATE, nest, or are malformed', () => {
      const wrap = (body: unknown[]): Uint8Array => new Uint8Array([1, ...pack([body])]);
      const bomb = deflateRawSync(Buffer.alloc(MAX_DATAGRAM_BYTES + 1000, 0x90));
      const inner = encodePacket({ v: 1, msgs: [{ t: MsgType.Ack, seq: 1 }] }).subarray(1);
      const nested = deflateRawSync(pack([[MsgType.Compressed, deflateRawSync(inner)]]));
      const bad = [
        wrap([MsgType.Compressed, bomb]),
        wrap([MsgType.Compressed, new Uint8Array([1, 2, 3, 4, 5])]),
        wrap([MsgType.Compressed, nested]),
        wrap([MsgType.Compressed, 'not bytes']),
        wrap([MsgType.Compressed, deflateRawSync(inner), 1]),
        wrap([MsgType.Compressed, deflateRawSync(pack({ a: 1 }))]),
      ];
      expect(bomb.length).to.be.lessThan(MAX_DATAGRAM_BYTES);
      for (const b of bad) {
        const r = decodePacket(b);
        expect(r.ok, `accepted ${Buffer.from(b.subarray(0, 16)).toString('hex')}`).to.equal(false);
        if (!r.ok) expect(r.error).to.match(/^swim: codec:/);
      }
      const good = decodePacket(wrap([MsgType.Compressed, deflateRawSync(inner)]));
      expect(good.ok).to.equal(true);
    });
  });
});
