import type { Context } from 'koa';
import { parseDuration, DurationError } from '../config/duration.js';
import { BadRequestError } from './errors.js';

/** Consul's blocking-query defaults. */
export const DEFAULT_WAIT_MS = 5 * 60_000;
export const MAX_WAIT_MS = 10 * 60_000;

export type Consistency = 'default' | 'stale' | 'consistent';

/** Query options common to Consul's read endpoints, parsed and validated at the edge. */
export interface QueryOptions {
  /** `?index`: return once the result's index moves past this (0 = no blocking). */
  minIndex: number;
  /** `?wait`, capped at {@link MAX_WAIT_MS}; only meaningful with minIndex > 0. */
  waitMs: number;
  consistency: Consistency;
  /** `?filter`, unparsed. */
  filter: string | undefined;
  /** `?dc`, lower-cased, or undefined for the agent's own. */
  datacenter: string | undefined;
}

/** The single value of query parameter `name`; a repeated parameter takes the first, as Go does. */
export function queryParam(ctx: Context, name: string): string | undefined {
  const v = ctx.query[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Every value of a repeatable parameter such as `?tag=a&tag=b`. */
export function queryParams(ctx: Context, name: string): string[] {
  const v = ctx.query[name];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/** Whether a flag parameter like `?stale` or `?passing` is present (and not "false"/"0"). */
export function queryFlag(ctx: Context, name: string): boolean {
  if (!(name in ctx.query)) return false;
  const v = (queryParam(ctx, name) ?? '').toLowerCase();
  return v !== 'false' && v !== '0';
}

/** Parses `?index ?wait ?stale ?consistent ?filter ?dc`; a bad value is a 400 naming the parameter. */
export function parseQueryOptions(ctx: Context): QueryOptions {
  const rawIndex = queryParam(ctx, 'index');
  let minIndex = 0;
  if (rawIndex !== undefined && rawIndex !== '') {
    if (!/^\d+$/.test(rawIndex) || !Number.isSafeInteger(Number(rawIndex))) {
      throw new BadRequestError(`Invalid index: "${rawIndex}" is not a non-negative integer`);
    }
    minIndex = Number(rawIndex);
  }
  const rawWait = queryParam(ctx, 'wait');
  let waitMs = DEFAULT_WAIT_MS;
  if (rawWait !== undefined && rawWait !== '') {
    try {
      waitMs = parseDuration(rawWait);
    } catch (e) {
      if (e instanceof DurationError) throw new BadRequestError(`Invalid wait time: ${e.message}`);
      throw e;
    }
    if (waitMs < 0) throw new BadRequestError(`Invalid wait time: "${rawWait}" is negative`);
    waitMs = Math.min(waitMs, MAX_WAIT_MS);
  }
  const stale = queryFlag(ctx, 'stale');
  const consistent = queryFlag(ctx, 'consistent');
  if (stale && consistent) throw new BadRequestError('Cannot specify ?stale with ?consistent, conflicting semantics.');
  const dc = queryParam(ctx, 'dc');
  return {
    minIndex,
    waitMs,
    consistency: stale ? 'stale' : consistent ? 'consistent' : 'default',
    filter: queryParam(ctx, 'filter'),
    datacenter: dc ? dc.toLowerCase() : undefined,
  };
}

/** Metadata a read answers with, written as Consul's X-Consul-* headers. */
export interface QueryMeta {
  index: number;
  knownLeader: boolean;
  /** Milliseconds since the answering server last heard from the leader (0 on the leader). */
  lastContactMs: number;
}

/** Sets the X-Consul-* headers of `meta` (on the Node response directly: koa's `set` allocates per call). */
export function setQueryMeta(ctx: Context, meta: QueryMeta): void {
  const res = ctx.res;
  res.setHeader('X-Consul-Index', String(Math.max(1, meta.index)));
  res.setHeader('X-Consul-KnownLeader', meta.knownLeader ? 'true' : 'false');
  res.setHeader('X-Consul-LastContact', String(Math.max(0, Math.round(meta.lastContactMs))));
}
