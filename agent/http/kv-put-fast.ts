/**
 * The direct path of the most frequent write, `PUT /v1/kv/<key>` with a `Content-Length`
 * body and no query string: the same command, status, headers and body as the koa route in
 * routes/kv.ts, without koa's context, middleware chain and router scan. On a busy server
 * that per-request machinery was about a third of the leader's CPU per write, and the leader's
 * CPU is what a loaded cluster queues on.
 *
 * Anything else — a query string (`?cas`, `?flags`, `?acquire`, ...), an empty key, a body
 * without `Content-Length` or over the size limit, another method or spelling of the path —
 * is left to the koa app, which answers it (errors included) as before.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HttpDeps } from './app.js';
import { errorAnswer, JSON_CONTENT_TYPE } from './app.js';
import { commitKvWrite, KV_ROUTE, MAX_KV_SIZE } from './routes/kv.js';
import { recordHttpRequest } from '../telemetry/sources.js';

const PREFIX = '/v1/kv/';
const TEXT_CONTENT_TYPE = 'text/plain; charset=utf-8';

/** A request handler that takes the request (true) or leaves it to the next one (false). */
export type FastPath = (req: IncomingMessage, res: ServerResponse) => boolean;

/** Decodes a path parameter the way the router does: undecodable text is kept as it is. */
function decodeParam(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** The fast path for plain KV sets; undefined when the app has no catalog (its route answers 500). */
export function kvPutFastPath(deps: HttpDeps): FastPath | undefined {
  if (deps.catalog === undefined) return undefined;
  const log = deps.logger.child({ component: 'http' });
  const telemetry = deps.telemetry;
  return (req, res) => {
    const url = req.url;
    if (req.method !== 'PUT' || url === undefined || url.length <= PREFIX.length || !url.startsWith(PREFIX)) return false;
    if (url.includes('?') || url.includes('#')) return false;
    const declared = req.headers['content-length'];
    if (declared === undefined || !(Number(declared) <= MAX_KV_SIZE)) return false;
    const t0 = Date.now();
    const key = decodeParam(url.slice(PREFIX.length));
    const send = (status: number, type: string, body: string, headers: Record<string, string> = {}): void => {
      // writeHead with the whole set: no per-header bookkeeping of setHeader (same header lines).
      res.writeHead(status, { ...headers, 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
      if (telemetry) recordHttpRequest(telemetry, 'PUT', KV_ROUTE, status, Date.now() - t0);
    };
    const fail = (err: unknown): void => {
      const a = errorAnswer(err, log, 'PUT', url);
      send(a.status, TEXT_CONTENT_TYPE, a.body, a.headers);
    };
    const chunks: Buffer[] = [];
    // A client that goes away mid-body never reaches 'end': nothing is written for it.
    req.on('error', () => undefined);
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      commitKvWrite(deps, { Op: 'set', DirEnt: { Key: key, Flags: 0, Value: Buffer.concat(chunks) } }, req).then(
        (value) => send(200, JSON_CONTENT_TYPE, JSON.stringify(value)),
        fail,
      );
    });
    return true;
  };
}
