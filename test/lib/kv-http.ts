import { createHttpApp } from '../../agent/http/app.js';
import { CatalogEndpoint } from '../../catalog/endpoint.js';
import { realTimers } from '../../catalog/timers.js';
import { encodeCommand, type ApplyResult } from '../../catalog/state/index.js';
import { ServerCatalogClient } from '../../agent/rpc/catalog.js';
import { RpcClient } from '../../agent/rpc/client.js';
import { SystemClock } from '../../agent/runtime/clock.js';
import { httpDeps } from './http-deps.js';
import { serveApp, serveListener } from './net.js';
import { httpRequestListener } from '../../agent/http/listener.js';
import type { Telemetry } from '../../agent/telemetry/registry.js';

/**
 * A real single-server agent's HTTP API for KV tests: Raft (in memory) + state store behind
 * CatalogEndpoint and ServerCatalogClient, served on 127.0.0.1 the way the agent serves it
 * (the koa app behind its fast paths; `koaOnly` serves the bare koa app). The agent's node
 * is registered with a passing serfHealth check, as the leader's reconciliation would.
 */
export async function kvApi(opts: { koaOnly?: boolean; telemetry?: Telemetry } = {}) {
  const h = await httpDeps({ node_name: 'node-a' });
  const server = h.server;
  const endpoint = new CatalogEndpoint({
    store: server.store,
    propose: async (cmd) => (await server.propose(encodeCommand(cmd))).result as ApplyResult,
    timers: realTimers,
    rng: () => 0,
  });
  const rpc = new RpcClient(new SystemClock());
  const catalog = new ServerCatalogClient(server, endpoint, rpc);
  const deps = { ...h.deps, catalog, ...(opts.telemetry ? { telemetry: opts.telemetry } : {}) };
  const app = createHttpApp(deps);
  const srv = opts.koaOnly ? await serveApp(app) : await serveListener(httpRequestListener(app, deps));
  const url = (p: string): string => `${srv.url}${p}`;
  const req = (method: string, p: string, body?: string | Uint8Array) => fetch(url(p), { method, body });
  const json = async <T = unknown>(method: string, p: string, body?: unknown): Promise<{ status: number; body: T; headers: Headers }> => {
    const r = await req(method, p, body === undefined ? undefined : typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body));
    const text = await r.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      /* plain-text error bodies stay text */
    }
    return { status: r.status, body: parsed as T, headers: r.headers };
  };
  await json('PUT', '/v1/catalog/register', {
    Node: 'node-a', Address: '127.0.0.1', Check: { CheckID: 'serfHealth', Name: 'Serf Health Status', Status: 'passing' },
  });
  return {
    server, srv, url, req, json, store: server.store, deps, app,
    close: async () => {
      await srv.close();
      rpc.close();
      await h.close();
    },
  };
}
