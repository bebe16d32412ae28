import type { RouteModule } from '../app.js';
import { sendJson } from '../app.js';
import type { Gossip, GossipStats } from '../../swim/gossip.js';

/**
 * Consul's `Stats.serf_lan` (string values, as Consul's map[string]string) plus Herald's
 * gossip traffic counters since start (`bytes_sent`, `bytes_received`, `packets_*`, UDP and
 * TCP together). Absent when the app has no started gossip member.
 */
function serfLanStats(gossip: Gossip | undefined): Record<string, string> | undefined {
  if (gossip === undefined) return undefined;
  let s: GossipStats;
  try {
    s = gossip.stats();
  } catch {
    return undefined;
  }
  const members = gossip.members();
  const count = (status: string): string => String(members.filter((m) => m.status === status).length);
  return {
    members: String(members.length),
    failed: count('failed'),
    left: count('left'),
    health_score: String(s.awareness),
    bytes_sent: String(s.bytesSent),
    bytes_received: String(s.bytesReceived),
    packets_sent: String(s.packetsSent),
    packets_received: String(s.packetsReceived),
  };
}

/** `/v1/agent/*` endpoints about the local agent itself. */
export const agentRoutes: RouteModule = (router, deps) => {
  router.get('/v1/agent/self', (ctx) => {
    const c = deps.config;
    sendJson(ctx, {
      Config: {
        Datacenter: c.datacenter,
        PrimaryDatacenter: c.datacenter,
        NodeName: c.nodeName,
        NodeID: deps.nodeId,
        Revision: '',
        Server: c.server,
        Version: deps.version,
      },
      DebugConfig: {
        Bootstrap: c.bootstrap,
        BootstrapExpect: c.bootstrapExpect,
        BindAddr: c.bindAddr,
        AdvertiseAddrLAN: c.advertiseAddr,
        ClientAddrs: c.clientAddrs,
        DataDir: c.dataDir ?? '',
        DevMode: c.dev,
        DNSDomain: c.domain,
        DNSAltDomain: c.altDomain ?? '',
        HTTPPort: c.ports.http,
        DNSPort: c.ports.dns,
        ServerPort: c.ports.server,
        SerfPortLAN: c.ports.serfLan,
        RetryJoinLAN: c.retryJoin,
        LogLevel: c.logLevel,
        NodeMeta: c.nodeMeta,
        ServerMode: c.server,
      },
      Meta: c.nodeMeta,
      Stats: {
        agent: { server: String(c.server) },
        serf_lan: serfLanStats(deps.gossip),
        runtime: {
          version: process.version,
          arch: process.arch,
          os: process.platform,
        },
      },
    });
  });
};
