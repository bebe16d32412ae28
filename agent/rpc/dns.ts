/**
 * DNS questions answered by servers, and which server may answer them (Consul's
 * `dns_config.allow_stale` / `max_stale`).
 *
 * Client agents pass every well-formed DNS query, as raw bytes, to a server with the `DNS.Query`
 * RPC, together with their own `allow_stale` / `max_stale`; a server agent's own DNS listeners
 * apply the same rules to the same {@link DnsQueryRouter}. The rules (see
 * {@link dnsConsistency}):
 * - `allow_stale` (default): any server answers from its replica, unless it last heard from a
 *   leader `max_stale` or longer ago; then the query is answered by the leader.
 * - not `allow_stale`: the leader answers, after a ReadIndex round (the catalog's
 *   `?consistent` path, {@link ServerCatalogClient.route}).
 * - A query that needs the leader when none can be reached is answered SERVFAIL, as Consul
 *   does; it is never answered from a replica instead.
 *
 * The answer cache stays exact in every mode: entries are dropped synchronously by the catalog
 * apply that changes what they were built from, so on the leader after a ReadIndex round a cache
 * hit is as fresh as a new resolve.
 */
import type { Logger } from 'pino';
import type { CatalogServer } from '../../catalog/server.js';
import type { DnsServer } from '../../dns/server.js';
import type { Consistency } from '../http/query.js';
import type { ServerCatalogClient } from './catalog.js';

/** The RPC method by which agents have a server answer a DNS query. */
export const DNS_QUERY = 'DNS.Query';

/** Deadline for passing a query on to the leader (below dig's default 5 s try). */
const FORWARD_TIMEOUT_MS = 4000;

/** The staleness an agent accepts for its DNS answers (`dns_config`). */
export interface DnsStaleness {
  /** `allow_stale`: any server may answer from its replica. */
  allowStale: boolean;
  /** `max_stale` in ms: a replica that last heard from a leader this long ago or longer may not. */
  maxStaleMs: number;
}

/** Arguments of `DNS.Query`. */
export interface DnsQueryArgs {
  /** The query as the client sent it. */
  msg: Uint8Array;
  transport: 'udp' | 'tcp';
  /** The asking agent's `allow_stale`. Default true. */
  allowStale?: boolean;
  /** The asking agent's `max_stale` in ms. Default: no bound. */
  maxStaleMs?: number;
  /**
   * Set by a server passing the query to the leader. A server that is not the leader answers
   * such a query SERVFAIL instead of passing it on again (no forwarding loops).
   */
  forwarded?: boolean;
}

/**
 * The consistency mode a DNS query is answered in on a server: `consistent` without
 * `allowStale`; `default` (the leader answers from its state) on the leader, or when this
 * server last heard from a leader `maxStaleMs` or longer ago; `stale` (this replica answers)
 * otherwise. `max_stale` 0 therefore sends every query of a follower to the leader.
 */
export function dnsConsistency(s: DnsStaleness, isLeader: boolean, leaderContactAgeMs: number): Consistency {
  if (!s.allowStale) return 'consistent';
  if (isLeader || leaderContactAgeMs >= s.maxStaleMs) return 'default';
  return 'stale';
}

/** How a server's DNS queries were answered, since start. */
export interface DnsRouteCounters {
  /** Answered from this server's replica while not the leader (Consul's `consul.dns.stale_queries`). */
  stale: number;
  /** Answered here as the leader without a ReadIndex round (allow_stale on the leader, or max_stale exceeded elsewhere). */
  leader: number;
  /** Answered here as the leader after a ReadIndex round (allow_stale false). */
  consistent: number;
  /** Passed on to the leader by this server. */
  forwarded: number;
  /** Answered SERVFAIL because no leader answered. */
  failed: number;
}

export interface DnsQueryRouterOptions {
  server: CatalogServer;
  /** Its `route` decides where a non-stale query runs (the HTTP `?consistent` path). */
  catalog: ServerCatalogClient;
  /** Answers a query from this server's replica (a DnsServer over the local store). */
  answerer: DnsServer;
  logger: Logger;
}

/** A server's DNS answering under the staleness rules (module comment). */
export class DnsQueryRouter {
  readonly counters: DnsRouteCounters = { stale: 0, leader: 0, consistent: 0, forwarded: 0, failed: 0 };
  private readonly log: Logger;

  constructor(private readonly o: DnsQueryRouterOptions) {
    this.log = o.logger.child({ component: 'dns' });
  }

  /**
   * Whether this server's replica may answer a query under `s` right now (counted as answered
   * when true). Synchronous and cheap: a server's own DNS listeners call it per query.
   */
  localAllowed(s: DnsStaleness): boolean {
    const isLeader = this.o.server.isLeader;
    const mode = dnsConsistency(s, isLeader, isLeader ? 0 : this.o.server.leaderContactAgeMs());
    if (mode === 'stale') this.counters.stale++;
    else if (mode === 'default' && isLeader) this.counters.leader++;
    else return false;
    return true;
  }

  /**
   * Answers a query under the asker's staleness rules: here, or by the leader (forwarded over
   * RPC). Resolves with the response bytes (SERVFAIL when no leader answered), or null when
   * the query gets no answer at all. Never rejects.
   */
  async answer(a: DnsQueryArgs): Promise<Uint8Array | null> {
    const msg = Buffer.from(a.msg.buffer, a.msg.byteOffset, a.msg.byteLength);
    const transport = a.transport === 'tcp' ? 'tcp' : 'udp';
    const s: DnsStaleness = { allowStale: a.allowStale ?? true, maxStaleMs: a.maxStaleMs ?? Infinity };
    const server = this.o.server;
    const isLeader = server.isLeader;
    try {
      if (a.forwarded === true && !isLeader) throw new Error('dns: forwarded query reached a server that is not the leader');
      const mode = dnsConsistency(s, isLeader, isLeader ? 0 : server.leaderContactAgeMs());
      if (mode !== 'stale' && !isLeader) this.counters.forwarded++;
      const local = async (): Promise<Uint8Array | null> => {
        if (mode === 'stale') this.counters.stale++;
        else if (mode === 'consistent') this.counters.consistent++;
        else this.counters.leader++;
        const out = await this.o.answerer.handle(msg, transport);
        return out === null ? null : new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
      };
      const fwd: DnsQueryArgs = { msg: a.msg, transport, allowStale: s.allowStale, forwarded: true, ...(a.maxStaleMs !== undefined ? { maxStaleMs: a.maxStaleMs } : {}) };
      return await this.o.catalog.route(mode, local, DNS_QUERY, fwd, FORWARD_TIMEOUT_MS);
    } catch (err) {
      this.counters.failed++;
      this.log.debug({ err: (err as Error).message }, 'dns: no leader answered a query that needs it; SERVFAIL');
      const f = this.o.answerer.servfail(msg);
      return f === null ? null : new Uint8Array(f.buffer, f.byteOffset, f.byteLength);
    }
  }
}
