/**
 * The DNS server: a thin UDP + TCP adapter around the resolver, the answer cache and the
 * wire helpers. It owns sockets and timers; everything it answers comes from
 * {@link AnswerCache} (which calls the pure resolver) or from recursors.
 *
 * RFC behaviour:
 * - AA on answers for our zones; RA only when recursors are configured; RD and CD echoed.
 * - EDNS(0): the OPT record is echoed (our size 4096, DO echoed); the client's UDP size is
 *   honoured (at least 512); without EDNS a UDP response is at most 512 bytes. EDNS version
 *   above 0 gets BADVERS.
 * - A response that does not fit (or, with `enableTruncate`, has more answer groups than
 *   `udpAnswerLimit`) is sent with TC set, so resolvers retry over TCP and get everything
 *   (up to 65535 bytes, 2-byte length framing, several queries per connection, idle timeout).
 * - Malformed input: responses (QR=1) and packets shorter than a header are dropped; bad
 *   sections, question counts other than 1 → FORMERR; opcodes other than QUERY and classes
 *   other than IN/ANY → NOTIMP; AXFR/IXFR → REFUSED. Nothing a client sends can throw out of
 *   a handler or allocate more than one response (≤ 64 KB) per query.
 * - Names outside our zones (and unknown reverse names) go to the recursors when configured,
 *   else REFUSED (NXDOMAIN for unknown reverse names).
 *
 * Speed: a cached question in the common query shape is answered by `parseFast` +
 * `AnswerCache.peekWire` + `assembleFast` without parse objects or strings (docs/dns.md,
 * "Hot path"); every other packet takes `parseQuery`, whose answers are the same bytes.
 */
import dgram from 'node:dgram';
import { lookup as dnsLookup } from 'node:dns';
import net from 'node:net';
import { pino, type Logger } from 'pino';
import { AnswerCache } from './cache.js';
import { ipFamily } from './names.js';
import type { DnsCatalogReader } from './reader.js';
import { shuffleInPlace, type ResolverOptions, type SoaOptions } from './resolver.js';
import { assemble, assembleFast, errorResponse, newFastQuery, parseFast, parseQuery, RCODE, type AssembleOptions, type FastQuery, type Query } from './wire.js';

export interface DnsServerOptions {
  /** Address to listen on (UDP and TCP). Default '127.0.0.1'. */
  host?: string;
  /** Port for UDP and TCP; 0 picks a free port (the same for both). Default 8600. */
  port?: number;
  /** Where answers come from: a catalog reader (servers). Give this, `upstream`, or both. */
  reader?: DnsCatalogReader;
  /**
   * Instead of (or besides) a local catalog: a well-formed query is passed, as raw bytes with
   * its transport, to a server that answers it from its catalog (over RPC), and that answer is
   * returned as is; a rejection is answered SERVFAIL. Malformed queries are still answered
   * here. Client agents give only this.
   */
  upstream?: (msg: Buffer, transport: 'udp' | 'tcp') => Promise<Buffer | null>;
  /**
   * With both `reader` and `upstream`: called once per well-formed query (so it must be cheap
   * and synchronous); true answers from `reader` (through the answer cache), false passes the
   * query to `upstream`. Server agents use it for `allow_stale` / `max_stale`: the local
   * replica answers only while it may (see docs/dns.md). Default: always true.
   */
  localGate?: () => boolean;
  /** Our zone (`domain`). Default 'consul'. */
  domain?: string;
  /** Second zone (`alt_domain`). Default none. */
  altDomain?: string;
  /** Our datacenter. Default 'dc1'. */
  datacenter?: string;
  /** `dns_config.node_ttl` in ms. Default 0. */
  nodeTtlMs?: number;
  /** `dns_config.service_ttl` in ms: names, `prefix*` and `*`. Default {} (TTL 0). */
  serviceTtlMs?: Record<string, number>;
  /** `dns_config.udp_answer_limit`: answer groups in a UDP response. Default 3; 0 = unlimited. */
  udpAnswerLimit?: number;
  /** `dns_config.a_record_limit`: answer groups in any response, trimmed silently. Default 0 = unlimited. */
  aRecordLimit?: number;
  /** `dns_config.only_passing`: leave out instances in warning. Default false. */
  onlyPassing?: boolean;
  /**
   * `dns_config.enable_additional_node_meta_txt`: node meta as TXT records in the additional
   * section of node A/AAAA and of SRV answers. Default true.
   */
  enableAdditionalNodeMetaTxt?: boolean;
  /**
   * `dns_config.enable_truncate`: set TC when a UDP answer is cut to `udpAnswerLimit`.
   * Default true (Consul's default is false: it trims silently). A response that does not fit
   * the UDP size always gets TC.
   */
  enableTruncate?: boolean;
  /** `recursors`: upstream servers, `ip` or `ip:port` (`[v6]:port`), for names outside our zones. */
  recursors?: string[];
  /** `dns_config.recursor_timeout` in ms, per recursor tried. Default 2000. */
  recursorTimeoutMs?: number;
  /** `dns_config.recursor_strategy`: 'sequential' (in order, default) or 'random'. */
  recursorStrategy?: 'sequential' | 'random';
  /** `dns_config.soa` (seconds). Serial defaults to the server's start time in seconds. */
  soa?: SoaOptions;
  /** Most cached questions. Default 10000. */
  cacheSize?: number;
  /** Idle TCP connections are closed after this long. Default 10000 ms. */
  tcpIdleTimeoutMs?: number;
  /** Most open TCP connections; more are closed at once. Default 256. */
  maxTcpConnections?: number;
  /** Most queries being forwarded at once; more get SERVFAIL. Default 512. */
  maxForwards?: number;
  /** Randomness for shuffling answers and picking recursors. Default Math.random. */
  random?: () => number;
  logger?: Logger;
}

/** An upstream server for names outside our zones. */
export interface Recursor {
  host: string;
  port: number;
  family: 4 | 6;
}

/** Response size limit for TCP (the 2-byte length prefix). */
const TCP_MAX = 65535;
/** Largest TCP reply read from a recursor: one frame, plus its prefix. */
const TCP_MAX_PENDING = 2 + 65535;
/** Unread TCP output per connection before the client counts as not reading. */
const TCP_MAX_WRITABLE = 1 << 20;

export class DnsServer {
  private readonly opts: DnsServerOptions;
  private readonly log: Logger;
  private readonly cache: AnswerCache | undefined;
  private readonly recursors: Recursor[];
  private readonly random: () => number;
  private udp: dgram.Socket | null = null;
  private tcp: net.Server | null = null;
  private readonly conns = new Set<net.Socket>();
  private forwards = 0;
  /** Cancels of in-flight recursor exchanges (each resolves null when cancelled). */
  private readonly exchanges = new Set<() => void>();
  private bound: { host: string; port: number } | null = null;
  /** Assembly options per transport, built once (`maxSize` of the UDP one is set per query). */
  private readonly udpAssemble: AssembleOptions;
  private readonly tcpAssemble: AssembleOptions;
  /** Scratch for {@link parseFast}; handling is synchronous up to its last use. */
  private readonly fq: FastQuery = newFastQuery();

  constructor(opts: DnsServerOptions) {
    this.opts = opts;
    this.log = (opts.logger ?? pino({ level: 'silent' })).child({ component: 'dns' });
    this.random = opts.random ?? Math.random;
    this.recursors = (opts.recursors ?? []).map(parseRecursor);
    const resolver: ResolverOptions = {
      domain: opts.domain ?? 'consul',
      altDomain: opts.altDomain ?? '',
      datacenter: opts.datacenter ?? 'dc1',
      nodeTtlMs: opts.nodeTtlMs ?? 0,
      serviceTtlMs: opts.serviceTtlMs ?? {},
      onlyPassing: opts.onlyPassing ?? false,
      nodeMetaTxt: opts.enableAdditionalNodeMetaTxt ?? true,
      soa: { serial: Math.floor(Date.now() / 1000), ...opts.soa },
    };
    if (opts.reader === undefined && opts.upstream === undefined) throw new Error('dns: give a reader, an upstream or both');
    this.cache = opts.reader ? new AnswerCache({ reader: opts.reader, resolver, max: opts.cacheSize ?? 10_000 }) : undefined;
    const common = {
      recordLimit: opts.aRecordLimit ?? 0,
      truncateOnLimit: opts.enableTruncate ?? true,
      ra: this.recursors.length > 0,
      rng: this.random,
    };
    this.udpAssemble = { ...common, maxSize: 512, udpLimit: opts.udpAnswerLimit ?? 3 };
    this.tcpAssemble = { ...common, maxSize: TCP_MAX, udpLimit: 0 };
  }

  /** Binds UDP and TCP on the same port. Rejects when either cannot bind. */
  async start(): Promise<void> {
    if (this.udp !== null) throw new Error('dns: server already started');
    const host = this.opts.host ?? '127.0.0.1';
    const wanted = this.opts.port ?? 8600;
    for (let attempt = 0; ; attempt++) {
      const udp = dgram.createSocket({ type: ipFamily(host) === 6 ? 'udp6' : 'udp4', lookup: literalLookup });
      udp.on('error', (err) => this.log.warn({ err }, 'udp socket error'));
      udp.on('message', (msg, rinfo) => this.onUdp(udp, msg, rinfo));
      await new Promise<void>((res, rej) => {
        udp.once('error', rej);
        udp.bind(wanted, host, () => { udp.off('error', rej); res(); });
      });
      const port = udp.address().port;
      const tcp = net.createServer((s) => this.onTcp(s));
      try {
        await new Promise<void>((res, rej) => {
          tcp.once('error', rej);
          tcp.listen(port, host, () => { tcp.off('error', rej); res(); });
        });
      } catch (err) {
        udp.close();
        if (wanted === 0 && (err as NodeJS.ErrnoException).code === 'EADDRINUSE' && attempt < 20) continue;
        throw err;
      }
      tcp.on('error', (err) => this.log.warn({ err }, 'tcp server error'));
      this.udp = udp;
      this.tcp = tcp;
      this.bound = { host, port };
      this.log.info({ host, port }, 'dns server listening');
      return;
    }
  }

  /** Closes the sockets and every TCP connection; in-flight forwards are abandoned. */
  async stop(): Promise<void> {
    const udp = this.udp;
    const tcp = this.tcp;
    this.udp = null;
    this.tcp = null;
    for (const c of this.conns) c.destroy();
    this.conns.clear();
    for (const cancel of [...this.exchanges]) cancel();
    this.cache?.clear();
    if (udp !== null) await new Promise<void>((res) => udp.close(() => res()));
    if (tcp !== null) await new Promise<void>((res) => tcp.close(() => res()));
  }

  /** Where the server listens (after start). */
  address(): { host: string; port: number } {
    if (this.bound === null) throw new Error('dns: server not started');
    return { ...this.bound };
  }

  /** Cache counters (hits, misses, invalidations, size). */
  cacheStats(): ReturnType<AnswerCache['stats']> {
    return this.cache ? this.cache.stats() : { hits: 0, misses: 0, invalidations: 0, size: 0 };
  }

  /**
   * SERVFAIL for `msg` (ID, RD and the question echoed, EDNS when the query had it), or null
   * when `msg` gets no answer at all (a response, shorter than a header). For callers that
   * cannot get an answer to a query they were given (no leader reachable).
   */
  servfail(msg: Buffer): Buffer | null {
    const ra = this.recursors.length > 0;
    const p = parseQuery(msg);
    if (p.kind === 'drop') return null;
    if (p.kind === 'error') return errorResponse(p.id, p.rd, p.rcode, p.question, p.edns, ra);
    return errorResponse(p.query.id, p.query.rd, RCODE.SERVFAIL, p.query.question, p.query.edns, ra);
  }

  /** Client agents: the server answers; a failure to reach one is SERVFAIL, never silence. */
  private async viaUpstream(msg: Buffer, transport: 'udp' | 'tcp', q: Query): Promise<Buffer | null> {
    try {
      return await (this.opts.upstream as NonNullable<DnsServerOptions['upstream']>)(msg, transport);
    } catch (err) {
      this.log.debug({ err: (err as Error).message }, 'dns: no server answered a forwarded query');
      return errorResponse(q.id, q.rd, RCODE.SERVFAIL, q.question, q.edns, this.recursors.length > 0);
    }
  }

  /**
   * Answers one message. Returns the response bytes, null to send nothing, or a promise of
   * either when the query is forwarded. Never throws.
   */
  handle(msg: Buffer, transport: 'udp' | 'tcp'): Buffer | null | Promise<Buffer | null> {
    try {
      // Hot path: a cached question in the common query shape is answered from the received
      // bytes and the prepared records, with no parse objects, strings or re-encoding. Anything
      // else (and a miss) takes the full path below, which handles every case.
      let local: boolean | undefined;
      const cache = this.cache;
      if (cache !== undefined && parseFast(msg, this.fq)) {
        local = this.localAllowed();
        const f = this.fq;
        const p = local ? cache.peekWire(msg, f.nameEnd, f.qtype, f.hash) : undefined;
        if (p !== undefined && !(p.forward && this.recursors.length > 0)) {
          if (transport === 'tcp') return assembleFast(msg, f, p, this.tcpAssemble);
          const o = this.udpAssemble;
          o.maxSize = f.ednsSize === 0 ? 512 : Math.min(f.ednsSize, 65507);
          return assembleFast(msg, f, p, o);
        }
      }
      return this.handleParsed(msg, transport, local);
    } catch (err) {
      return this.internalError(msg, err);
    }
  }

  /** Whether the reader may answer now: always without an upstream, else as `localGate` says. */
  private localAllowed(): boolean {
    const gate = this.opts.localGate;
    return this.opts.upstream === undefined || gate === undefined || gate();
  }

  /** A bug, not bad input: SERVFAIL when the header is readable. */
  private internalError(msg: Buffer, err: unknown): Buffer | null {
    this.log.error({ err }, 'dns: failed to answer a query');
    if (msg.length < 12) return null;
    return errorResponse(msg.readUInt16BE(0), (msg[2]! & 1) !== 0, RCODE.SERVFAIL, null, null, this.recursors.length > 0);
  }

  /** The full path: every query shape; `local` is the gate's answer when already asked. */
  private handleParsed(msg: Buffer, transport: 'udp' | 'tcp', local: boolean | undefined): Buffer | null | Promise<Buffer | null> {
    try {
      const ra = this.recursors.length > 0;
      const p = parseQuery(msg);
      if (p.kind === 'drop') return null;
      if (p.kind === 'error') return errorResponse(p.id, p.rd, p.rcode, p.question, p.edns, ra);
      const q = p.query;
      if (!this.cache || !(local ?? this.localAllowed())) return this.viaUpstream(msg, transport, q);
      const prepared = this.cache.get(q);
      if (prepared.forward && ra) return this.forward(msg, q, transport);
      if (transport === 'tcp') return assemble(q, prepared, this.tcpAssemble);
      const o = this.udpAssemble;
      o.maxSize = q.edns === null ? 512 : Math.min(q.edns.udpSize, 65507);
      return assemble(q, prepared, o);
    } catch (err) {
      return this.internalError(msg, err);
    }
  }

  private onUdp(sock: dgram.Socket, msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const r = this.handle(msg, 'udp');
    if (r === null) return;
    if (r instanceof Promise) {
      void r.then((out) => {
        if (out !== null && this.udp === sock) sock.send(out, rinfo.port, rinfo.address);
      });
    } else {
      // No callback: a synchronous send then costs no completion callback; send errors
      // arrive as the socket's 'error' event (logged).
      sock.send(r, rinfo.port, rinfo.address);
    }
  }

  private onTcp(sock: net.Socket): void {
    if (this.conns.size >= (this.opts.maxTcpConnections ?? 256)) {
      sock.destroy();
      return;
    }
    this.conns.add(sock);
    sock.setNoDelay(true);
    sock.setTimeout(this.opts.tcpIdleTimeoutMs ?? 10_000, () => sock.destroy());
    sock.on('error', () => sock.destroy());
    sock.on('close', () => this.conns.delete(sock));
    // Input is kept as a list of chunks and joined only once a whole frame is there, so a
    // client dripping bytes costs O(frame) copying per frame, not O(frame²).
    let chunks: Buffer[] = [];
    let buffered = 0;
    const write = (out: Buffer | null): void => {
      if (out === null || sock.destroyed) return;
      if (sock.writableLength > TCP_MAX_WRITABLE) {
        sock.destroy();
        return;
      }
      const frame = Buffer.allocUnsafe(2 + out.length);
      frame.writeUInt16BE(out.length, 0);
      out.copy(frame, 2);
      sock.write(frame);
    };
    sock.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      buffered += chunk.length;
      if (buffered < 2) return;
      if (chunks[0]!.length < 2) chunks = [Buffer.concat(chunks)];
      if (buffered < 2 + chunks[0]!.readUInt16BE(0)) return;
      let data = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      while (data.length >= 2) {
        const len = data.readUInt16BE(0);
        if (len === 0) {
          sock.destroy();
          return;
        }
        if (data.length < 2 + len) break;
        const msg = data.subarray(2, 2 + len);
        data = data.subarray(2 + len);
        const r = this.handle(msg, 'tcp');
        if (r instanceof Promise) void r.then(write);
        else write(r);
      }
      // Keep only the unread bytes (≤ one frame), not the chunk they came in.
      chunks = data.length === 0 ? [] : [Buffer.from(data)];
      buffered = data.length;
    });
  }

  /**
   * Sends the query as received to each recursor in turn (in order, or shuffled for the
   * random strategy) over the client's transport until one answers within the timeout;
   * relays that answer. SERVFAIL when none answers or too many forwards are in flight.
   */
  private async forward(msg: Buffer, q: Query, transport: 'udp' | 'tcp'): Promise<Buffer | null> {
    const fail = (): Buffer => errorResponse(q.id, q.rd, RCODE.SERVFAIL, q.question, q.edns, true);
    if (this.forwards >= (this.opts.maxForwards ?? 512)) return fail();
    this.forwards++;
    try {
      const order = this.recursors.slice();
      if (this.opts.recursorStrategy === 'random') shuffleInPlace(order, this.random);
      for (const r of order) {
        if (this.udp === null) return null;
        const out = transport === 'udp' ? await this.ask(r, msg, q.id) : await this.askTcp(r, msg, q.id);
        if (out !== null) return out;
      }
      return fail();
    } finally {
      this.forwards--;
    }
  }

  /**
   * One exchange with a recursor, settled once: with the reply, or null on timeout, error or
   * shutdown (every pending exchange is cancelled by `close()`). `start` wires the socket and
   * returns how to release it; it calls `finish` when the exchange ends.
   */
  private exchange(r: Recursor, start: (finish: (out: Buffer | null) => void) => () => void): Promise<Buffer | null> {
    const timeoutMs = this.opts.recursorTimeoutMs ?? 2000;
    return new Promise((resolve) => {
      let done = false;
      let release: (() => void) | undefined;
      const finish = (out: Buffer | null): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.exchanges.delete(cancel);
        release?.();
        resolve(out);
      };
      const cancel = (): void => finish(null);
      this.exchanges.add(cancel);
      const timer = setTimeout(() => {
        this.log.debug({ recursor: `${r.host}:${r.port}` }, 'recursor timed out');
        finish(null);
      }, timeoutMs);
      release = start(finish);
      if (done) release();
    });
  }

  /** One datagram exchange with a recursor; null on timeout, error or a wrong reply. */
  private ask(r: Recursor, msg: Buffer, id: number): Promise<Buffer | null> {
    return this.exchange(r, (finish) => {
      const sock = dgram.createSocket(r.family === 6 ? 'udp6' : 'udp4');
      sock.on('error', () => finish(null));
      sock.on('message', (reply, rinfo) => {
        if (rinfo.port !== r.port || !answers(reply, id)) return;
        finish(reply);
      });
      sock.send(msg, r.port, r.host, (err) => { if (err) finish(null); });
      return () => sock.close();
    });
  }

  /** One framed exchange with a recursor over TCP; null on timeout, error or a wrong reply. */
  private askTcp(r: Recursor, msg: Buffer, id: number): Promise<Buffer | null> {
    return this.exchange(r, (finish) => {
      const sock = net.connect({ host: r.host, port: r.port });
      let pending = Buffer.alloc(0);
      sock.on('error', () => finish(null));
      sock.on('close', () => finish(null));
      sock.on('connect', () => {
        const frame = Buffer.allocUnsafe(2 + msg.length);
        frame.writeUInt16BE(msg.length, 0);
        msg.copy(frame, 2);
        sock.write(frame);
      });
      sock.on('data', (chunk: Buffer) => {
        pending = Buffer.concat([pending, chunk]);
        if (pending.length > TCP_MAX_PENDING) return finish(null);
        if (pending.length < 2 || pending.length < 2 + pending.readUInt16BE(0)) return;
        const reply = Buffer.from(pending.subarray(2, 2 + pending.readUInt16BE(0)));
        finish(answers(reply, id) ? reply : null);
      });
      return () => sock.destroy();
    });
  }
}

/**
 * The UDP socket's address lookup: an IP literal (every reply goes to one, the sender's address)
 * is passed back synchronously, so a reply is sent in the same turn, without dns.lookup's
 * deferred callback and the extra tick it costs per packet; anything else goes to dns.lookup.
 */
function literalLookup(host: string, options: unknown, cb: (err: NodeJS.ErrnoException | null, address: string, family: number) => void): void {
  const fam = net.isIP(host);
  if (fam !== 0) cb(null, host, fam);
  else dnsLookup(host, { family: typeof options === 'number' ? options : 0 }, cb);
}

/** Whether `reply` answers query `id`: a response with that ID, at least a header long. */
const answers = (reply: Buffer, id: number): boolean => reply.length >= 12 && reply.readUInt16BE(0) === id && (reply[2]! & 0x80) !== 0;

/** `1.2.3.4`, `1.2.3.4:5353`, `::1`, `[::1]:5353` → host, port (default 53), family. */
export function parseRecursor(s: string): Recursor {
  let host = s.trim();
  let port = 53;
  const v6 = /^\[(.+)\](?::(\d+))?$/.exec(host);
  if (v6 !== null) {
    host = v6[1]!;
    if (v6[2] !== undefined) port = Number(v6[2]);
  } else if (ipFamily(host) !== 6 && host.includes(':')) {
    const i = host.lastIndexOf(':');
    port = Number(host.slice(i + 1));
    host = host.slice(0, i);
  }
  const family = ipFamily(host);
  if (family === 0 || !Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`dns: bad recursor address "${s}"`);
  return { host, port, family };
}
