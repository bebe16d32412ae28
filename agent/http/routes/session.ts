/**
 * `/v1/session/*`: Consul's session endpoints. Defaults are Consul's: Node = this agent's node,
 * LockDelay 15 s (at most 60 s), NodeChecks ['serfHealth'] when neither NodeChecks nor the
 * older Checks is given, Behavior release; a TTL must lie in [10s, 24h]. The session ID is a
 * random UUID chosen here, so applying the create stays deterministic.
 */
import { randomUUID } from 'node:crypto';
import type { Context } from 'koa';
import type { RouteModule } from '../app.js';
import { sendJson } from '../app.js';
import { readJson } from '../body.js';
import { decode, S } from '../decode.js';
import { BadRequestError, NotFoundError } from '../errors.js';
import { readWithMeta } from '../read.js';
import { sessionJson } from '../kv-views.js';
import { commitValue, now } from './kv.js';
import { formatDuration } from '../../config/duration.js';
import { CommandType, type SessionInput, type SessionRow } from '../../../catalog/state/index.js';

export const SESSION_TTL_MIN_MS = 10_000;
export const SESSION_TTL_MAX_MS = 24 * 3_600_000;
export const DEFAULT_LOCK_DELAY_MS = 15_000;
export const MAX_LOCK_DELAY_MS = 60_000;

const CREATE_SPEC = S.object({
  Name: S.string,
  Node: S.string,
  LockDelay: S.any,
  Checks: S.array(S.string),
  NodeChecks: S.array(S.string),
  ServiceChecks: S.array(S.object({ ID: S.string, Namespace: S.string })),
  Behavior: S.string,
  TTL: S.duration,
});

/** Consul's LockDelay decoding: a duration string, or a number (seconds when < 1000, else nanoseconds). */
function lockDelayMs(v: unknown): number {
  if (v === undefined) return DEFAULT_LOCK_DELAY_MS;
  if (typeof v === 'number' && Number.isFinite(v)) return v < 1000 ? v * 1000 : v / 1e6;
  if (typeof v === 'string') return decode(v, S.duration, 'LockDelay') as number;
  throw new BadRequestError(`Request decode failed: LockDelay: expected a duration, got ${JSON.stringify(v)}`);
}

function idParam(ctx: Context): string {
  const id = ctx.params['id'] ?? '';
  if (id === '') throw new BadRequestError('Missing session');
  return id;
}

export const sessionRoutes: RouteModule = (router, deps) => {
  router.put('/v1/session/create', async (ctx) => {
    const raw = await readJson(ctx);
    const b = (raw === undefined ? {} : decode(raw, CREATE_SPEC)) as {
      Name?: string; Node?: string; LockDelay?: unknown; Checks?: string[]; NodeChecks?: string[];
      ServiceChecks?: Array<{ ID: string; Namespace?: string }>; Behavior?: string; TTL?: number;
    };
    const ttl = b.TTL ?? 0;
    if (ttl !== 0 && (ttl < SESSION_TTL_MIN_MS || ttl > SESSION_TTL_MAX_MS)) {
      throw new BadRequestError(`Invalid Session TTL '${formatDuration(ttl)}', must be between [${formatDuration(SESSION_TTL_MIN_MS)}=${formatDuration(SESSION_TTL_MAX_MS)}]`);
    }
    const lockDelay = lockDelayMs(b.LockDelay);
    if (lockDelay < 0 || lockDelay > MAX_LOCK_DELAY_MS) throw new BadRequestError(`Invalid LockDelay '${formatDuration(lockDelay)}', must be between [0s=${formatDuration(MAX_LOCK_DELAY_MS)}]`);
    const behavior = b.Behavior || 'release';
    if (behavior !== 'release' && behavior !== 'delete') throw new BadRequestError(`Invalid Behavior setting "${behavior}"`);
    let nodeChecks = b.NodeChecks ?? b.Checks;
    if (nodeChecks === undefined && b.ServiceChecks === undefined) nodeChecks = ['serfHealth'];
    const session: SessionInput = {
      ID: randomUUID(),
      Name: b.Name ?? '',
      Node: b.Node || deps.config.nodeName,
      LockDelay: Math.round(lockDelay),
      Behavior: behavior,
      TTL: ttl,
      NodeChecks: [...new Set(nodeChecks ?? [])],
      ServiceChecks: (b.ServiceChecks ?? []).map((c) => ({ ID: c.ID, Namespace: c.Namespace ?? '' })),
    };
    const id = await commitValue(deps, { type: CommandType.Session, req: { Op: 'create', Session: session } });
    sendJson(ctx, { ID: id });
  });

  router.put('/v1/session/destroy/:id', async (ctx) => {
    const id = idParam(ctx);
    await commitValue(deps, { type: CommandType.Session, req: { Op: 'destroy', Session: { ID: id }, Now: now(deps) } });
    sendJson(ctx, true);
  });

  router.put('/v1/session/renew/:id', async (ctx) => {
    const id = idParam(ctx);
    const s = (await commitValue(deps, { type: CommandType.Session, req: { Op: 'renew', Session: { ID: id } } })) as SessionRow | null;
    if (s === null) throw new NotFoundError(`Session id '${id}' not found`);
    sendJson(ctx, [sessionJson(s)]);
  });

  router.get('/v1/session/info/:id', async (ctx) => {
    const s = await readWithMeta(ctx, deps, { op: 'sessionGet', id: idParam(ctx) });
    sendJson(ctx, s === null ? [] : [sessionJson(s)]);
  });

  router.get('/v1/session/node/:node', async (ctx) => {
    const list = await readWithMeta(ctx, deps, { op: 'nodeSessions', node: ctx.params['node']! });
    sendJson(ctx, list.map(sessionJson));
  });

  router.get('/v1/session/list', async (ctx) => {
    const list = await readWithMeta(ctx, deps, { op: 'sessionList' });
    sendJson(ctx, list.map(sessionJson));
  });
};
