/**
 * The request listener an agent serves its HTTP API with: the koa app of
 * {@link createHttpApp}, behind the direct path for plain KV sets ({@link kvPutFastPath}),
 * which answers exactly as the app would.
 */
import type { RequestListener } from 'node:http';
import type Koa from 'koa';
import type { HttpDeps } from './app.js';
import { kvPutFastPath } from './kv-put-fast.js';

/** `app`'s callback, with the requests the fast paths take answered by them; `deps` must be the ones `app` was built with. */
export function httpRequestListener(app: Koa, deps: HttpDeps): RequestListener {
  const callback = app.callback();
  const fast = kvPutFastPath(deps);
  if (fast === undefined) return callback;
  return (req, res) => {
    if (!fast(req, res)) void callback(req, res);
  };
}
