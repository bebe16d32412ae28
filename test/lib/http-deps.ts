import type { HttpDeps } from '../../agent/http/app.js';
import { buildConfig } from '../../agent/config/config.js';
import { silentLogger } from '../../agent/runtime/logger.js';
import { SystemClock } from '../../agent/runtime/clock.js';
import { SeededRng } from '../../agent/runtime/rng.js';
import { Gossip } from '../../agent/swim/gossip.js';
import { UserEventLog } from '../../agent/events.js';
import type { RawConfig } from '../../agent/config/schema.js';
import { VERSION } from '../../agent/version.js';
import { CatalogServer } from '../../catalog/server.js';
import { MemoryStorage } from '../../catalog/raft/memory-storage.js';
import { TcpTransport } from '../../catalog/raft/transport.js';
import type { Message } from '../../catalog/raft/core/messages.js';
import { LocalClusterOps } from '../../agent/rpc/endpoints.js';
import { RpcClient } from '../../agent/rpc/client.js';

/**
 * Real dependencies for `createHttpApp` in tests: a dev config, a started gossip member
 * (local profile, ephemeral UDP/TCP port on 127.0.0.1) and a bootstrapped single-server
 * Raft group in memory (the dev agent's server role). Call `close()` after.
 */
export async function httpDeps(
  raw: RawConfig = {},
  over: Partial<HttpDeps> = {},
): Promise<{ deps: HttpDeps; gossip: Gossip; server: CatalogServer; close: () => Promise<void> }> {
  const config = buildConfig({ dev: true, raw });
  const clock = new SystemClock();
  const gossip = new Gossip({ name: config.nodeName, bindAddr: '127.0.0.1', bindPort: 0, profile: 'local', clock, rng: new SeededRng(1) });
  await gossip.start();
  const logger = silentLogger();
  const server = new CatalogServer({
    id: 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee',
    name: config.nodeName,
    address: '127.0.0.1:8300',
    datacenter: config.datacenter,
    storage: new MemoryStorage(),
    transport: TcpTransport.detached<Message>({ nodeId: 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee', clock }),
    clock,
    rng: new SeededRng(2),
    logger,
    bootstrap: true,
    bootstrapExpect: 0,
    tickMs: 10,
  });
  await server.start();
  const until = Date.now() + 5000;
  while (!server.isLeader && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
  const rpc = new RpcClient(clock);
  const cluster = new LocalClusterOps(server, rpc);
  const deps: HttpDeps = {
    config,
    nodeId: 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee',
    version: VERSION,
    logger,
    status: { leader: () => cluster.leader(), peers: () => cluster.peers() },
    cluster,
    gossip,
    events: new UserEventLog(gossip, config.nodeName, clock),
    clock,
    lifecycle: { leave: () => gossip.leave(1000) },
    ...over,
  };
  return {
    deps,
    gossip,
    server,
    close: async () => {
      rpc.close();
      await server.stop();
      await gossip.shutdown();
    },
  };
}
