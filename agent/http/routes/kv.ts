/**
 * `/v1/kv/*`: Consul's KV endpoints. The key is everything after `/v1/kv/`, URL-decoded,
 * kept as an opaque string (never a path on disk).
 *
 * - GET: one entry as a one-element array; `?recurse` every entry under the prefix; `?keys`
 *   (with `?separator`) key names; `?raw` the value bytes alone. 404 when nothing matches
 *   (except `?keys` on the root, which answers []). Blocking and consistency modes apply.
 * - PUT: body = raw value (at most {@link MAX_KV_SIZE} bytes, else 413); `?flags`, `?cas`
 *   (0 = create only), `?acquire=<session>`, `?release=<session>`; answers true/false.
 * - DELETE: `?recurse` deletes the tree, `?cas` only at that index; answers true/false.
 */
import type { IncomingMessage } from 'node:http';
import type { Context } from 'koa';
import type { RouteModule, HttpDeps } from '../app.js';
import { sendJson } from '../app.js';
import { readBody } from '../body.js';
import { BadRequestError, HttpError, PayloadTooLargeError } from '../errors.js';
import { queryParam } from '../query.js';
import { readWithMeta } from '../read.js';
import { dirEntryJson } from '../kv-views.js';
import { catalogOf } from './deps.js';
import { writeTracer } from '../../../catalog/raft/trace.js';
import { CommandType, parseFlags, type Command, type KVSRequest } from '../../../catalog/state/index.js';

/** The router pattern of the KV endpoints (also the `path` label of their HTTP metrics). */
export const KV_ROUTE = '/v1/kv{/*key}';

/** Consul's maximum KV value size (512 KiB). */
export const MAX_KV_SIZE = 512 * 1024;

function keyOf(ctx: Context): string {
  return ctx.params['key'] ?? '';
}

function uintParam(ctx: Context, name: string, what: string): number | undefined {
  const raw = queryParam(ctx, name);
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(Number(raw))) throw new BadRequestError(`Invalid ${what}: "${raw}"`);
  return Number(raw);
}

/** Commits a KV-family write and returns its value; a refusal is a 500 with the state machine's message, like Consul. */
export async function commitValue(deps: HttpDeps, cmd: Command): Promise<unknown> {
  const r = await catalogOf(deps).write(cmd);
  if (!r.ok) throw new HttpError(500, r.error);
  return r.value;
}

/**
 * {@link commitValue} for the KV write of the HTTP request `httpReq`, timed by the write-path
 * tracer when it is on (HERALD_TRACE_KV): the koa route and the direct path both use it.
 */
export async function commitKvWrite(deps: HttpDeps, req: KVSRequest, httpReq: IncomingMessage): Promise<unknown> {
  const trace = writeTracer.enabled ? writeTracer.requests.get(httpReq) : undefined;
  if (trace) (trace.body = writeTracer.now()), (writeTracer.current = trace);
  const result = await commitValue(deps, { type: CommandType.KVS, req });
  if (trace) trace.respond = writeTracer.now();
  return result;
}

export const now = (deps: HttpDeps): number => (deps.clock ? deps.clock.now() : Date.now());

/** Reads a KV value body, refusing more than Consul's limit with its message. */
export async function readValue(ctx: Context): Promise<Buffer> {
  try {
    return await readBody(ctx, MAX_KV_SIZE);
  } catch (e) {
    if (e instanceof PayloadTooLargeError) throw new HttpError(413, `Value exceeds ${MAX_KV_SIZE} byte limit`);
    throw e;
  }
}

export const kvRoutes: RouteModule = (router, deps) => {
  const path = KV_ROUTE;

  router.get(path, async (ctx) => {
    const key = keyOf(ctx);
    if ('keys' in ctx.query) {
      const separator = queryParam(ctx, 'separator') ?? '';
      const keys = await readWithMeta(ctx, deps, { op: 'kvKeys', prefix: key, separator });
      if (keys.length === 0 && key !== '') {
        ctx.status = 404;
        ctx.body = '';
        return;
      }
      sendJson(ctx, keys);
      return;
    }
    if ('recurse' in ctx.query) {
      const rows = await readWithMeta(ctx, deps, { op: 'kvList', prefix: key });
      if (rows.length === 0) {
        ctx.status = 404;
        ctx.body = '';
        return;
      }
      sendJson(ctx, rows.map(dirEntryJson));
      return;
    }
    const row = await readWithMeta(ctx, deps, { op: 'kvGet', key });
    if (row === null) {
      ctx.status = 404;
      ctx.body = '';
      return;
    }
    if ('raw' in ctx.query) {
      ctx.type = 'application/octet-stream';
      ctx.set('X-Content-Type-Options', 'nosniff');
      ctx.body = Buffer.from(row.Value);
      return;
    }
    sendJson(ctx, [dirEntryJson(row)]);
  });

  router.put(path, async (ctx) => {
    const key = keyOf(ctx);
    if (key === '') throw new BadRequestError('Missing key name');
    const flagsText = queryParam(ctx, 'flags');
    const flags = flagsText === undefined ? undefined : parseFlags(flagsText);
    if (flagsText !== undefined && flags === undefined) throw new BadRequestError(`Invalid flags: "${flagsText}"`);
    const cas = uintParam(ctx, 'cas', 'cas index');
    const acquire = queryParam(ctx, 'acquire');
    const release = queryParam(ctx, 'release');
    if (acquire !== undefined && release !== undefined) throw new BadRequestError('Conflicting flags: acquire and release');
    const value = await readValue(ctx);
    const dirEnt: KVSRequest['DirEnt'] = { Key: key, Flags: flags ?? 0, Value: value };
    let op: KVSRequest['Op'] = 'set';
    if (acquire !== undefined) {
      op = 'lock';
      dirEnt.Session = acquire;
    } else if (release !== undefined) {
      op = 'unlock';
      dirEnt.Session = release;
    } else if (cas !== undefined) {
      op = 'cas';
      dirEnt.ModifyIndex = cas;
    }
    const req: KVSRequest = { Op: op, DirEnt: dirEnt };
    if (op === 'lock') req.Now = now(deps);
    sendJson(ctx, await commitKvWrite(deps, req, ctx.req));
  });

  router.delete(path, async (ctx) => {
    const key = keyOf(ctx);
    const recurse = 'recurse' in ctx.query;
    if (key === '' && !recurse) throw new BadRequestError('Missing key name');
    const cas = uintParam(ctx, 'cas', 'cas index');
    let req: KVSRequest;
    if (recurse) req = { Op: 'delete-tree', DirEnt: { Key: key } };
    else if (cas !== undefined) req = { Op: 'delete-cas', DirEnt: { Key: key, ModifyIndex: cas } };
    else req = { Op: 'delete', DirEnt: { Key: key } };
    sendJson(ctx, await commitValue(deps, { type: CommandType.KVS, req }));
  });
};
