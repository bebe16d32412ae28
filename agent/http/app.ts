import Koa from 'koa';
import { stringifyJson } from '../runtime/json64.js';
import Router from '@koa/router';
import type { Logger } from '../runtime/logger.js';
import type { RuntimeConfig } from '../config/config.js';
import { HttpError, MethodNotAllowedError, NotFoundError } from './errors.js';
import { agentRoutes } from './routes/agent.js';
import { statusRoutes } from './routes/status.js';
import { memberRoutes } from './routes/members.js';
import { eventRoutes } from './routes/event.js';
import type { Gossip } from '../swim/gossip.js';
import type { UserEventLog } from '../events.js';
import type { Clock } from '../runtime/clock.js';
import type { ClusterOps } from '../rpc/endpoints.js';
import { RpcError } from '../rpc/errors.js';
import { operatorRoutes } from './routes/operator.js';
import { catalogRoutes } from './routes/catalog.js';
import { healthRoutes } from './routes/health.js';
import type { CatalogClient } from './catalog-client.js';
import { agentLocalRoutes } from './routes/agent-local.js';
import { maintenanceRoutes } from './routes/maintenance.js';
import { metricsRoutes } from './routes/metrics.js';
import { monitorRoutes } from './routes/monitor.js';
import type { LogHub } from '../runtime/log-hub.js';
import { httpMetrics } from '../telemetry/sources.js';
import type { Telemetry } from '../telemetry/registry.js';
import type { LocalState } from '../local/state.js';
import type { TtlChecks } from '../checks/ttl.js';
import type { Maintenance } from '../local/maintenance.js';
import { CatalogError } from '../../catalog/errors.js';
import { kvRoutes } from './routes/kv.js';
import { sessionRoutes } from './routes/session.js';
import { txnRoutes } from './routes/txn.js';
import { snapshotRoutes } from './routes/snapshot.js';

/** What the HTTP API reads from the running agent. Everything is injected; the app opens nothing. */
export interface HttpDeps {
  config: RuntimeConfig;
  nodeId: string;
  version: string;
  logger: Logger;
  /** Raft view: the leader's server address ("ip:port", "" when none) and the voters' addresses. */
  status: {
    leader(): Promise<string> | string;
    peers(): Promise<string[]> | string[];
  };
  /** LAN gossip: members, join, force-leave, keyring. */
  gossip?: Gossip;
  events?: UserEventLog;
  /** Raft-level operations: local on a server, RPC through the server pool on a client. */
  cluster?: ClusterOps;
  clock?: Clock;
  /** Agent-level actions the API can ask for. */
  lifecycle?: {
    /** Leave the cluster gracefully and stop the agent. */
    leave(): Promise<void>;
  };
  /** Catalog reads and writes (in process today, RPC to a server later); without it catalog and health routes answer 500. */
  catalog?: CatalogClient;
  /** This agent's own services and checks; without it the agent service/check routes answer 500. */
  local?: { state: LocalState; ttl: TtlChecks };
  /** Maintenance mode (`/v1/agent/maintenance`, `/v1/agent/service/maintenance/:id`). */
  maintenance?: Maintenance | undefined;
  /** Metrics registry: `/v1/agent/metrics`, and every request is sampled into it. */
  telemetry?: Telemetry | undefined;
  /** Log fan-out for `/v1/agent/monitor`. */
  logHub?: LogHub | undefined;
  /** `PUT /v1/agent/reload`: re-read config files and apply them; rejects with the reason. */
  reload?: (() => Promise<void>) | undefined;
}

/** Shape every route module follows: it adds its routes to the shared router. */
export type RouteModule = (router: Router, deps: HttpDeps) => void;

/**
 * Builds the koa app for the HTTP API. It never listens: the agent passes `app.callback()`
 * to its own server, and tests call the callback directly.
 */
export function createHttpApp(deps: HttpDeps): Koa {
  const app = new Koa();
  app.proxy = false;
  const log = deps.logger.child({ component: 'http' });
  const router = new Router();

  if (deps.telemetry) app.use(httpMetrics(deps.telemetry));
  app.use(async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) throw new NotFoundError();
    } catch (caught) {
      const a = errorAnswer(caught, log, ctx.method, ctx.url);
      ctx.status = a.status;
      for (const [k, v] of Object.entries(a.headers)) ctx.set(k, v);
      ctx.type = 'text/plain; charset=utf-8';
      ctx.body = a.body;
    }
  });

  for (const mod of [agentRoutes, agentLocalRoutes, statusRoutes, memberRoutes, eventRoutes, operatorRoutes, catalogRoutes, healthRoutes]) mod(router, deps);
  maintenanceRoutes(router, deps);
  metricsRoutes(router, deps);
  monitorRoutes(router, deps);
  for (const mod of [kvRoutes, sessionRoutes, txnRoutes, snapshotRoutes]) mod(router, deps);

  app.use(router.routes());
  app.use(async (ctx) => {
    const { path: matched } = router.match(ctx.path, ctx.method);
    const allowed = new Set<string>();
    for (const layer of matched) for (const m of layer.methods) allowed.add(m);
    if (allowed.size === 0) throw new NotFoundError();
    allowed.add('OPTIONS');
    if (ctx.method === 'OPTIONS') {
      ctx.set('Allow', [...allowed].join(','));
      ctx.status = 200;
      ctx.body = '';
      return;
    }
    throw new MethodNotAllowedError(ctx.method, [...allowed]);
  });
  return app;
}

/** Compact JSON of shared read-only answers (e.g. one catalog read answering many watchers), UTF-8 encoded. */
const jsonCache = new WeakMap<object, Buffer>();

/** The Content-Type of JSON answers, as koa spells `ctx.type = 'application/json'`. */
export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

/**
 * The compact JSON of `value` as bytes, encoded once per object identity: `value` must not
 * be changed after it was first encoded.
 */
export function encodedJson(value: object): Buffer {
  let body = jsonCache.get(value);
  if (body === undefined) jsonCache.set(value, (body = Buffer.from(stringifyJson(value))));
  return body;
}

/**
 * Writes a JSON body; `?pretty` indents it like Consul's. The compact encoding of an object
 * is cached by identity, so `value` must not be changed after it was sent.
 */
export function sendJson(ctx: Koa.Context, value: unknown): void {
  ctx.type = 'application/json';
  if ('pretty' in ctx.query) {
    ctx.body = stringifyJson(value, 4);
    return;
  }
  if (value === null || typeof value !== 'object') {
    ctx.body = JSON.stringify(value);
    return;
  }
  ctx.body = encodedJson(value);
}

/**
 * Answers 200 with the JSON of `value` at once, writing it to the socket here instead of
 * after every middleware has returned (`ctx.respond = false`): the same status, headers and
 * bytes as {@link sendJson}, without koa's per-response header bookkeeping, so a batch of
 * woken blocking reads reaches its sockets sooner. Headers set on `ctx` before are sent;
 * nothing may be set after. `?pretty` and non-object values take the {@link sendJson} path.
 */
export function sendJsonNow(ctx: Koa.Context, value: unknown): void {
  if (value === null || typeof value !== 'object' || 'pretty' in ctx.query) {
    sendJson(ctx, value);
    return;
  }
  const body = encodedJson(value);
  ctx.status = 200;
  ctx.respond = false;
  // The client may be gone (koa's own respond makes the same check).
  if (!ctx.writable) return;
  const res = ctx.res;
  res.setHeader('Content-Type', JSON_CONTENT_TYPE);
  res.setHeader('Content-Length', body.length);
  res.end(body);
}

/** A failed request's answer: status, extra headers and a plain-text body. */
export interface ErrorAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Maps an error thrown by a route onto its answer, like Consul: typed HTTP errors keep their
 * status, catalog and RPC errors map onto Consul's codes, anything else is a 500 with its
 * message (and is logged). The body is sent as `text/plain; charset=utf-8`.
 */
export function errorAnswer(caught: unknown, log: Logger, method: string, url: string): ErrorAnswer {
  let err = caught;
  if (err instanceof CatalogError) err = catalogHttpError(err);
  if (err instanceof HttpError) return { status: err.status, headers: err.headers, body: err.message };
  if (err instanceof RpcError) {
    // Consul answers 500 with the server's message, e.g. "No cluster leader".
    if (err.code === 'Internal') log.error({ err, method, url }, 'request failed on a server');
    return { status: err.code === 'NotFound' ? 404 : err.code === 'BadRequest' ? 400 : 500, headers: {}, body: err.message };
  }
  log.error({ err, method, url }, 'request failed');
  return { status: 500, headers: {}, body: err instanceof Error ? err.message : String(err) };
}

/** Maps the catalog service's errors onto Consul's status codes. */
function catalogHttpError(e: CatalogError): HttpError {
  switch (e.code) {
    case 'bad-request':
    case 'rejected':
      return new HttpError(400, e.message);
    case 'no-leader':
      return new HttpError(500, 'No cluster leader');
  }
}
