import type { RouteModule } from '../app.js';
import { sendJson } from '../app.js';

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
        runtime: {
          version: process.version,
          arch: process.arch,
          os: process.platform,
        },
      },
    });
  });
};
