import { expect } from 'chai';
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket from 'dns-packet';
import { SeededRng } from '../../agent/runtime/rng.js';
import { parseRecursor, type DnsServer } from '../../dns/server.js';
import { dig } from './dig.js';
import { webCatalog } from './helpers.js';
import { startServer } from './serve.js';

/**
 * A tiny upstream on 127.0.0.1 (UDP and TCP on one port): answers every question with an A
 * record `ip` (or stays silent when `ip` is null). Over UDP it sets TC and sends no answer
 * when `tcOverUdp`, like a server whose answer is too large.
 */
class Upstream {
  queries = 0;
  tcpQueries = 0;
  private constructor(readonly sock: dgram.Socket, readonly tcp: net.Server, readonly ip: string | null, readonly tcOverUdp: boolean) {
    sock.on('message', (msg, rinfo) => {
      this.queries++;
      if (this.ip === null) return;
      sock.send(this.reply(msg, this.tcOverUdp), rinfo.port, rinfo.address);
    });
    tcp.on('connection', (c) => {
      c.on('error', () => undefined);
      c.on('data', (d: Buffer) => {
        this.tcpQueries++;
        if (this.ip === null) return;
        const out = this.reply(d.subarray(2, 2 + d.readUInt16BE(0)), false);
        const len = Buffer.alloc(2);
        len.writeUInt16BE(out.length);
        c.write(Buffer.concat([len, out]));
      });
    });
  }
  private reply(msg: Buffer, tc: boolean): Buffer {
    const q = dnsPacket.decode(msg);
    return dnsPacket.encode({
      type: 'response', id: q.id, questions: q.questions,
      flags: dnsPacket.RECURSION_AVAILABLE | dnsPacket.RECURSION_DESIRED | (tc ? dnsPacket.TRUNCATED_RESPONSE : 0),
      answers: tc ? [] : [{ type: 'A', name: q.questions![0]!.name, ttl: 60, data: this.ip! }],
    });
  }
  /** Binds UDP on a free port, then TCP on the same one (retrying a bounded number of times when it is taken). */
  static async start(ip: string | null, tcOverUdp = false): Promise<Upstream> {
    for (let attempt = 0; ; attempt++) {
      const sock = dgram.createSocket('udp4');
      await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
      const tcp = net.createServer();
      const ok = await new Promise<boolean>((r) => {
        tcp.once('error', () => r(false));
        tcp.listen(sock.address().port, '127.0.0.1', () => r(true));
      });
      if (ok) return new Upstream(sock, tcp, ip, tcOverUdp);
      sock.close();
      if (attempt >= 20) throw new Error('test upstream: no free port for UDP and TCP');
    }
  }
  get addr(): string {
    return `127.0.0.1:${this.sock.address().port}`;
  }
  close(): void {
    this.sock.close();
    this.tcp.close();
  }
}

describe('dns/server recursors', function () {
  this.timeout(30_000);
  const cleanup: Array<() => unknown> = [];
  after(async () => {
    for (const f of cleanup) await f();
  });
  const server = async (recursors: string[], extra = {}): Promise<DnsServer> => {
    const s = await startServer(webCatalog(), { recursors, recursorTimeoutMs: 300, ...extra });
    cleanup.push(() => s.stop());
    return s;
  };
  const upstream = async (ip: string | null, tcOverUdp = false): Promise<Upstream> => {
    const u = await Upstream.start(ip, tcOverUdp);
    cleanup.push(() => u.close());
    return u;
  };

  it('forwards names outside our zones, trying recursors in order past a silent one; RA set', async () => {
    const dead = await upstream(null);
    const live = await upstream('192.0.2.55');
    const s = await server([dead.addr, live.addr]);
    const r = await dig(s.address().port, 'www.example.com', 'A');
    expect(r.status).to.equal('NOERROR');
    expect(r.answer.map((a) => [a[0], a[4]])).to.deep.equal([['www.example.com.', '192.0.2.55']]);
    expect(r.flags).to.include('ra');
    expect([dead.queries, live.queries]).to.deep.equal([1, 1]);
    const own = await dig(s.address().port, 'web.service.consul', 'A');
    expect(own.flags).to.include.members(['aa', 'ra']);
    expect(live.queries, 'our own names are not forwarded').to.equal(1);
  });

  it('forwards over TCP for TCP clients, so a truncated upstream answer is completed by dig\'s TCP retry', async () => {
    const big = await upstream('192.0.2.77', true);
    const s = await server([big.addr]);
    const r = await dig(s.address().port, 'large.example.net', 'A');
    expect(r.retriedTcp).to.equal(true);
    expect(r.answer.map((a) => a[4])).to.deep.equal(['192.0.2.77']);
    expect([big.queries, big.tcpQueries]).to.deep.equal([1, 1]);
  });

  it('forwards unknown reverse names, answers known ones itself', async () => {
    const live = await upstream('192.0.2.56');
    const s = await server([live.addr]);
    await dig(s.address().port, '-x', '192.0.2.1');
    expect(live.queries).to.equal(1);
    const known = await dig(s.address().port, '-x', '203.0.113.1');
    expect(known.answer.map((a) => a[4])).to.deep.equal(['n1.node.dc1.consul.']);
    expect(live.queries).to.equal(1);
  });

  it('SERVFAIL when no recursor answers within recursor_timeout', async () => {
    const d1 = await upstream(null);
    const d2 = await upstream(null);
    const s = await server([d1.addr, d2.addr]);
    const r = await dig(s.address().port, 'www.example.com', 'A');
    expect(r.status).to.equal('SERVFAIL');
    expect([d1.queries, d2.queries]).to.deep.equal([1, 1]);
  });

  it('spreads queries over recursors with the random strategy', async () => {
    const a = await upstream('192.0.2.1');
    const b = await upstream('192.0.2.2');
    const seed = 7;
    const rng = new SeededRng(seed);
    const s = await server([a.addr, b.addr], { recursorStrategy: 'random', random: () => rng.next() });
    for (let i = 0; i < 16; i++) await dig(s.address().port, `h${i}.example.com`, 'A');
    expect(a.queries + b.queries, `seed ${seed}`).to.equal(16);
    expect(Math.min(a.queries, b.queries), `seed ${seed}`).to.be.greaterThan(0);
  });

  it('parses recursor addresses', () => {
    expect(parseRecursor('203.0.113.1')).to.deep.equal({ host: '203.0.113.1', port: 53, family: 4 });
    expect(parseRecursor('203.0.113.1:5353')).to.deep.equal({ host: '203.0.113.1', port: 5353, family: 4 });
    expect(parseRecursor('::1')).to.deep.equal({ host: '::1', port: 53, family: 6 });
    expect(parseRecursor('[::1]:5300')).to.deep.equal({ host: '::1', port: 5300, family: 6 });
    expect(() => parseRecursor('dns.example:53')).to.throw(/dns: bad recursor/);
  });
});

describe('dns/server stop during a forward', function () {
  this.timeout(10_000);
  it('abandons in-flight recursor exchanges at once', async () => {
    const dgramSock = dgram.createSocket('udp4');
    await new Promise<void>((r) => dgramSock.bind(0, '127.0.0.1', () => r()));
    const silent = `127.0.0.1:${dgramSock.address().port}`;
    const s = await startServer(webCatalog(), { recursors: [silent, silent], recursorTimeoutMs: 5000 });
    const q = dnsPacket.encode({ type: 'query', id: 3, questions: [{ type: 'A', name: 'example.org', class: 'IN' }] });
    const pending = s.handle(q, 'udp');
    expect(pending).to.be.instanceOf(Promise);
    const t0 = Date.now();
    await s.stop();
    expect(await pending).to.equal(null);
    expect(Date.now() - t0).to.be.below(2000);
    dgramSock.close();
  });
});
