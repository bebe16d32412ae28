import type { HttpDeps } from '../../agent/http/app.js';
import { buildConfig } from '../../agent/config/config.js';
import { silentLogger } from '../../agent/runtime/logger.js';
import { SystemClock } from '../../agent/runtime/clock.js';
import { SeededRng } from '../../agent/runtime/rng.js';
import { Gossip } from '../../agent/swim/gossip.js';
import { UserEventLog } from '../../agent/events.js';
import type { RawConfig } from '../../agent/config/schema.js';
import { VERSION } from '../../agent/version.js';

/**
 * Real dependencies for `createHttpApp` in tests: a dev config, and a started gossip
 * member (local profile, ephemeral UDP/TCP port on 127.0.0.1). Call `close()` after.
 */
export async function httpDeps(
  raw: RawConfig = {},
  over: Partial<HttpDeps> = {},
): Promise<{ deps: HttpDeps; gossip: Gossip; close: () => Promise<void> }> {
  const config = buildConfig({ dev: true, raw });
  const clock = new SystemClock();
  const gossip = new Gossip({ name: config.nodeName, bindAddr: '127.0.0.1', bindPort: 0, profile: 'local', clock, rng: new SeededRng(1) });
  await gossip.start();
  const deps: HttpDeps = {
    config,
    nodeId: 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee',
    version: VERSION,
    logger: silentLogger(),
    status: { leader: () => '127.0.0.1:8300', peers: () => ['127.0.0.1:8300'] },
    gossip,
    events: new UserEventLog(gossip, config.nodeName, clock),
    clock,
    lifecycle: { leave: () => gossip.leave(1000) },
    ...over,
  };
  return { deps, gossip, close: () => gossip.shutdown() };
}
