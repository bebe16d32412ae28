import type { Context } from 'koa';
import { BadRequestError, PayloadTooLargeError } from './errors.js';

/** Default cap on JSON request bodies (Consul's HTTP max request body for non-KV endpoints is larger; 1 MiB suffices here). */
export const DEFAULT_JSON_LIMIT = 1024 * 1024;

/**
 * Reads the raw request body, refusing more than `limit` bytes with 413 as soon as the limit
 * is crossed (the rest of the upload is not buffered).
 */
export async function readBody(ctx: Context, limit: number): Promise<Buffer> {
  const declared = Number(ctx.get('content-length') || NaN);
  if (declared > limit) throw new PayloadTooLargeError(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > limit) {
      ctx.req.unpipe?.();
      ctx.req.resume();
      throw new PayloadTooLargeError(limit);
    }
    chunks.push(b);
  }
  return Buffer.concat(chunks, size);
}

/**
 * Reads and parses a JSON body (with `parse`, JSON.parse by default). An empty body is `undefined`; malformed JSON is a 400 whose
 * message says where parsing failed.
 */
export async function readJson(ctx: Context, limit = DEFAULT_JSON_LIMIT, parse: (text: string) => unknown = JSON.parse): Promise<unknown> {
  const buf = await readBody(ctx, limit);
  if (buf.length === 0) return undefined;
  try {
    return parse(buf.toString('utf8'));
  } catch (e) {
    throw new BadRequestError(`Request decode failed: ${(e as Error).message}`);
  }
}
