import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHttpApp, type HttpDeps } from '../../../agent/http/app.js';
import { buildConfig } from '../../../agent/config/config.js';
import type { RawConfig } from '../../../agent/config/schema.js';
import { silentLogger, type Logger } from '../../../agent/runtime/logger.js';
import { ManualClock } from '../../../agent/runtime/clock.js';
import { SeededRng } from '../../../agent/runtime/rng.js';
import { LocalState } from '../../../agent/local/state.js';
import { AntiEntropy } from '../../../agent/local/anti-entropy.js';
import { TtlChecks } from '../../../agent/checks/ttl.js';
import { AgentHealth } from '../../../agent/checks/agent-health.js';
import { CatalogEndpoint } from '../../../catalog/endpoint.js';
import { LocalApplier } from '../../../catalog/local-applier.js';
import { realTimers } from '../../../catalog/timers.js';
import { StateStore } from '../../../catalog/state/index.js';
import { serveApp } from '../../lib/net.js';
import { Telemetry } from '../../../agent/telemetry/registry.js';

/**
 * An in-process agent: real catalog store and endpoint, local state, TTL checks, the health
 * wiring and anti-entropy on a ManualClock, and the real HTTP API on 127.0.0.1.
 */
export async function startAgent(raw: RawConfig = {}, opts: { dataDir?: string; logger?: Logger; extra?: Partial<HttpDeps> } = {}) {
  const seed = 11;
  const clock = new ManualClock();
  const logger = opts.logger ?? silentLogger();
  const config = buildConfig({ dev: true, raw: { node_name: 'agent-1', ...raw } });
  const store = new StateStore();
  const catalog = new CatalogEndpoint({ store, propose: new LocalApplier(store).propose, timers: realTimers, rng: () => 0 });
  const local = LocalState.open({ logger, ...(opts.dataDir ? { dataDir: opts.dataDir } : {}) });
  const ttl = new TtlChecks(local, clock, logger);
  ttl.start();
  const telemetry = new Telemetry(() => clock.now());
  const health = new AgentHealth({
    local, config, clock, rng: new SeededRng(seed), logger, catalog,
    ...(opts.dataDir ? { sourcesFile: `${opts.dataDir}/config-sources.json` } : {}),
    onResult: (type, r) => telemetry.counter('consul.checks.run', { type, status: r.status }),
  });
  health.start();
  const ae = new AntiEntropy({
    local,
    catalog,
    node: { name: 'agent-1', id: '11111111-2222-3333-4444-555555555555', address: '127.0.0.1', datacenter: 'dc1', taggedAddresses: {}, meta: {} },
    clock,
    rng: new SeededRng(seed),
    logger,
    checkUpdateIntervalMs: config.checkUpdateIntervalMs,
  });
  ae.start();
  const app = createHttpApp({
    config,
    nodeId: '11111111-2222-3333-4444-555555555555',
    version: '0.0.0',
    logger,
    status: { leader: () => '127.0.0.1:8300', peers: () => [] },
    catalog,
    local: { state: local, ttl },
    maintenance: health.maintenance,
    telemetry,
    clock,
    ...opts.extra,
  });
  const srv = await serveApp(app);
  const put = (path: string, body?: unknown) =>
    fetch(`${srv.url}${path}`, { method: 'PUT', body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
  const get = async <T = unknown>(path: string): Promise<T> => {
    const r = await fetch(`${srv.url}${path}`);
    if (r.status !== 200) throw new Error(`GET ${path}: ${r.status} ${await r.text()}`);
    return (await r.json()) as T;
  };
  const close = async () => {
    ae.stop();
    ttl.stop();
    await health.stop();
    await srv.close();
  };
  return { seed, clock, telemetry, config, store, catalog, local, ttl, health, ae, srv, url: srv.url, put, get, close };
}

export type TestAgent = Awaited<ReturnType<typeof startAgent>>;

/** An HTTP target whose answer the test flips: `status` is the code every request gets. */
export async function flippableServer(initial = 200): Promise<{ url: string; status: number; hits: number; close(): Promise<void> }> {
  const state = { status: initial, hits: 0 };
  const server: Server = createServer((_req, res) => {
    state.hits++;
    res.statusCode = state.status;
    res.end(`status ${state.status}`);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}/health`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  });
}
