import type { Context } from 'koa';
import type { CatalogQuery, CatalogQueryValue } from '../../catalog/query.js';
import type { HttpDeps } from './app.js';
import { sendJsonNow } from './app.js';
import { HttpError } from './errors.js';
import { parseQueryOptions, setQueryMeta } from './query.js';
import { catalogOf } from './routes/deps.js';
import { ClientGone } from './client-gone.js';

/**
 * Serves a catalog read the Consul way: `?index`/`?wait` blocking, consistency mode,
 * `?filter`, `?dc`; X-Consul-Index/KnownLeader/LastContact headers; JSON body. A blocked read
 * is cancelled when the client disconnects. `shape` turns the value into the response body.
 */
export async function serveRead<Q extends CatalogQuery>(
  ctx: Context,
  deps: HttpDeps,
  query: Q,
  shape: (v: CatalogQueryValue<Q>) => unknown = (v) => v,
): Promise<void> {
  const value = await readWithMeta(ctx, deps, query);
  sendJsonNow(ctx, shape(value));
}

/**
 * The read part of {@link serveRead}: runs the query with the request's options, sets the
 * X-Consul-* headers and returns the value, for routes that answer in their own way (a 404
 * for a missing key, raw bytes).
 */
export async function readWithMeta<Q extends CatalogQuery>(ctx: Context, deps: HttpDeps, query: Q): Promise<CatalogQueryValue<Q>> {
  const catalog = catalogOf(deps);
  const opts = parseQueryOptions(ctx);
  if (opts.datacenter !== undefined && opts.datacenter !== deps.config.datacenter) {
    throw new HttpError(500, `No path to datacenter "${opts.datacenter}"`);
  }
  if (opts.minIndex > 0 && (ctx.method === 'GET' || ctx.method === 'HEAD')) {
    // Consume the (empty) request now: Node would otherwise drain it when the answer is
    // written, adding that work to every wake-up of a blocked read.
    ctx.req.resume();
  }
  const r = await catalog.read(
    { query, minIndex: opts.minIndex, waitMs: opts.waitMs, filter: opts.filter, consistency: opts.consistency },
    opts.minIndex > 0 ? new ClientGone(ctx.res) : undefined,
  );
  setQueryMeta(ctx, r);
  return r.value;
}
