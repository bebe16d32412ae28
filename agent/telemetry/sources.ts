/**
 * Where the agent's metrics come from: each function attaches one subsystem to a
 * {@link Telemetry} registry (event counters, and collectors that set gauges on scrape).
 * Names follow Consul's where one exists (docs/telemetry.md lists them all).
 */
import type { Context, Next } from 'koa';
import type { Gossip } from '../swim/gossip.js';
import type { CatalogServer } from '../../catalog/server.js';
import type { StateStore } from '../../catalog/state/index.js';
import type { Telemetry } from './registry.js';
import type { DnsServer } from '../../dns/server.js';
import type { DnsRouteCounters } from '../rpc/dns.js';

/** Gossip: member events, packet/stream totals, probe outcomes, awareness, members by status. */
export function gossipMetrics(t: Telemetry, gossip: Gossip): void {
  gossip.on('member-join', () => t.counter('consul.serf.member.join'));
  gossip.on('member-failed', () => t.counter('consul.serf.member.failed'));
  gossip.on('member-leave', () => t.counter('consul.serf.member.left'));
  gossip.on('member-reap', () => t.counter('consul.serf.member.reap'));
  gossip.on('member-update', () => t.counter('consul.serf.member.update'));
  t.addCollector(() => {
    const s = gossip.stats();
    t.gauge('consul.memberlist.health.score', s.awareness);
    t.counterTotal('consul.memberlist.udp.sent', s.bytesSent);
    t.counterTotal('consul.memberlist.udp.received', s.bytesReceived);
    t.counterTotal('consul.memberlist.packets.sent', s.packetsSent);
    t.counterTotal('consul.memberlist.packets.received', s.packetsReceived);
    t.counterTotal('consul.memberlist.tcp.connect', s.streamsOpened);
    t.counterTotal('consul.memberlist.tcp.accept', s.streamsAccepted);
    t.counterTotal('consul.memberlist.probes', s.probes);
    t.counterTotal('consul.memberlist.probe.failed', s.probeFailures);
    t.counterTotal('consul.memberlist.refutations', s.refutations);
    t.counterTotal('consul.memberlist.dropped', s.droppedAuth, { reason: 'auth' });
    t.counterTotal('consul.memberlist.dropped', s.droppedMalformed, { reason: 'malformed' });
    const byStatus: Record<string, number> = { alive: 0, suspect: 0, failed: 0, left: 0 };
    for (const m of gossip.members()) byStatus[m.status] = (byStatus[m.status] ?? 0) + 1;
    t.resetGauge('consul.serf.members');
    for (const [status, n] of Object.entries(byStatus)) t.gauge('consul.serf.members', n, { status });
  });
}

/** Raft (servers): role changes, term, applied index, last leader contact. */
export function raftMetrics(t: Telemetry, server: CatalogServer): void {
  let role = '';
  server.on('change', (c) => {
    if (c.role !== role) {
      role = c.role;
      if (c.role === 'leader') t.counter('consul.raft.state.leader');
      else if (c.role === 'candidate') t.counter('consul.raft.state.candidate');
      else if (c.role === 'follower') t.counter('consul.raft.state.follower');
    }
  });
  t.addCollector(() => {
    const r = server.raft;
    t.gauge('consul.raft.term', r.term);
    t.gauge('consul.raft.applied_index', r.appliedIndex);
    t.gauge('consul.server.isLeader', r.isLeader ? 1 : 0);
    t.gauge('consul.raft.leader.lastContact', server.lastContactMs());
    t.gauge('consul.raft.peers', r.conf.voters.length);
  });
}

/**
 * Wraps a Raft propose: counts `consul.raft.apply` and samples `consul.raft.commitTime` (ms
 * from propose until the entry is applied), like Consul's leader does.
 */
export function timedPropose<A, R>(t: Telemetry, propose: (a: A) => Promise<R>): (a: A) => Promise<R> {
  const applied = t.counterOf('consul.raft.apply');
  const commitTime = t.timer('consul.raft.commitTime');
  return (a) => {
    applied();
    return commitTime(() => propose(a));
  };
}

/** Catalog sizes from a server's state store, computed on scrape. */
export function catalogMetrics(t: Telemetry, store: StateStore): void {
  t.addCollector(() => {
    const services = store.services().value;
    t.gauge('consul.state.nodes', store.nodes().value.length);
    t.gauge('consul.state.services', Object.keys(services).length);
    const byStatus: Record<string, number> = { passing: 0, warning: 0, critical: 0, maintenance: 0 };
    let instances = 0;
    for (const name of Object.keys(services)) {
      for (const i of store.serviceInstances(name).value) {
        instances++;
        byStatus[i.Status] = (byStatus[i.Status] ?? 0) + 1;
      }
    }
    t.gauge('consul.state.service_instances', instances);
    t.resetGauge('consul.catalog.service_instances');
    for (const [status, n] of Object.entries(byStatus)) t.gauge('consul.catalog.service_instances', n, { status });
  });
}

/**
 * Koa middleware: every request is sampled (ms) as `consul.http.<METHOD>.<path>` (Consul's
 * legacy name: the route with '/' → '.' and parameters → '_') and as `consul.api.http`
 * labelled with method, route path and status code. Unmatched paths count as `_unknown`.
 */
export function httpMetrics(t: Telemetry, now: () => number = Date.now): (ctx: Context, next: Next) => Promise<void> {
  return async (ctx, next) => {
    const t0 = now();
    try {
      await next();
    } finally {
      const route = (ctx as Context & { _matchedRoute?: string })._matchedRoute;
      recordHttpRequest(t, ctx.method, typeof route === 'string' ? route : '_unknown', ctx.status, now() - t0);
    }
  };
}

/**
 * Samples one answered HTTP request: `consul.http.<METHOD>.<route, dotted>` and
 * `consul.api.http` {method, path, code}. `route` is the router's pattern (`_unknown` when none matched).
 */
export function recordHttpRequest(t: Telemetry, method: string, route: string, status: number, ms: number): void {
  let byMethod = httpSamplers.get(t);
  if (byMethod === undefined) httpSamplers.set(t, (byMethod = new Map()));
  let byRoute = byMethod.get(method);
  if (byRoute === undefined) byMethod.set(method, (byRoute = new Map()));
  let byStatus = byRoute.get(route);
  if (byStatus === undefined) byRoute.set(route, (byStatus = new Map()));
  let rec = byStatus.get(status);
  if (rec === undefined) {
    const dotted = route.replace(/^\//, '').replace(/:[^/]+/g, '_').replace(/\//g, '.');
    const byName = t.sampler(`consul.http.${method}.${dotted}`);
    const byLabels = t.sampler('consul.api.http', { method, path: route, code: String(status) });
    byStatus.set(status, (rec = (v) => (byName(v), byLabels(v))));
  }
  rec(ms);
}

/**
 * Per registry, the recorder of each method, route and status seen (nested maps: no key
 * string built per request): on every request's path, so the names and label keys are worked
 * out once. Routes are patterns (or `_unknown`), so the maps stay small.
 */
const httpSamplers = new WeakMap<Telemetry, Map<string, Map<string, Map<number, (ms: number) => void>>>>();

/**
 * DNS: response-cache counters of the agent's DNS servers, summed, read on scrape. The DNS
 * server may also count into the registry directly (`consul.dns.domain_query`, ...).
 */
export function dnsMetrics(t: Telemetry, servers: () => readonly DnsServer[], routes: () => DnsRouteCounters | undefined = () => undefined): void {
  t.addCollector(() => {
    const r = routes();
    if (r !== undefined) {
      t.counterTotal('consul.dns.stale_queries', r.stale);
      t.counterTotal('consul.dns.leader_queries', r.leader);
      t.counterTotal('consul.dns.consistent_queries', r.consistent);
      t.counterTotal('consul.dns.forwarded_to_leader', r.forwarded);
      t.counterTotal('consul.dns.no_leader', r.failed);
    }
    let hits = 0;
    let misses = 0;
    let size = 0;
    for (const d of servers()) {
      const s = d.cacheStats();
      hits += s.hits;
      misses += s.misses;
      size += s.size;
    }
    t.counterTotal('consul.dns.cache_hit', hits);
    t.counterTotal('consul.dns.cache_miss', misses);
    t.gauge('consul.dns.cache_size', size);
  });
}

/** Process runtime gauges (Consul reports Go's; these are Node's nearest equivalents). */
export function runtimeMetrics(t: Telemetry): void {
  t.addCollector(() => {
    const m = process.memoryUsage();
    t.gauge('consul.runtime.alloc_bytes', m.heapUsed);
    t.gauge('consul.runtime.sys_bytes', m.rss);
    t.gauge('consul.runtime.heap_total_bytes', m.heapTotal);
  });
}
