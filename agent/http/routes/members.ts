import type { RouteModule } from '../app.js';
import { sendJson } from '../app.js';
import { need } from './deps.js';
import { BadRequestError, HttpError, NotFoundError } from '../errors.js';
import { queryFlag, queryParam } from '../query.js';
import type { MemberInfo } from '../../swim/core/membership.js';

/** Serf member status numbers as Consul reports them (suspect is still alive to Serf). */
const STATUS: Record<string, number> = { alive: 1, suspect: 1, leaving: 2, left: 3, failed: 4 };

/** A gossip member in Consul's `/v1/agent/members` shape. */
export function consulMember(m: MemberInfo): Record<string, unknown> {
  return {
    Name: m.name,
    Addr: m.addr,
    Port: m.port,
    Tags: m.tags,
    Status: STATUS[m.status] ?? 0,
    ProtocolMin: 1,
    ProtocolMax: 5,
    ProtocolCur: 2,
    DelegateMin: 2,
    DelegateMax: 5,
    DelegateCur: 4,
  };
}

/** `/v1/agent/members|join|leave|force-leave` and `/v1/operator/keyring`. */
export const memberRoutes: RouteModule = (router, deps) => {
  router.get('/v1/agent/members', (ctx) => {
    if (queryFlag(ctx, 'wan')) {
      // No WAN pool: only servers would have one, and Herald has a single datacenter.
      sendJson(ctx, []);
      return;
    }
    sendJson(ctx, need(deps.gossip, 'gossip').members().map(consulMember));
  });

  router.put('/v1/agent/join/:address', async (ctx) => {
    if (queryFlag(ctx, 'wan')) throw new BadRequestError('WAN join is not supported: Herald runs one datacenter');
    const address = ctx.params['address'] as string;
    try {
      await need(deps.gossip, 'gossip').join([address]);
    } catch (e) {
      throw new HttpError(500, (e as Error).message);
    }
    ctx.status = 200;
    ctx.body = '';
  });

  router.put('/v1/agent/leave', async (ctx) => {
    await need(deps.lifecycle, 'lifecycle').leave();
    ctx.status = 200;
    ctx.body = '';
  });

  router.put('/v1/agent/force-leave/:node', (ctx) => {
    const node = ctx.params['node'] as string;
    const ok = need(deps.gossip, 'gossip').forceLeave(node, queryFlag(ctx, 'prune'));
    if (!ok) throw new NotFoundError(`agent: Unknown node: ${node}`);
    ctx.status = 200;
    ctx.body = '';
  });

  router.get('/v1/operator/keyring', (ctx) => {
    const listing = requireKeyring(() => need(deps.gossip, 'gossip').listKeys());
    const count = Object.fromEntries(listing.keys.map((k) => [k, 1]));
    // This agent's own keyring; NumNodes says how many keyrings the answer covers.
    sendJson(ctx, [
      {
        WAN: false,
        Datacenter: deps.config.datacenter,
        Segment: '',
        Keys: count,
        PrimaryKeys: { [listing.primary]: 1 },
        NumNodes: 1,
        Messages: {},
      },
    ]);
  });

  const keyOp = (op: 'installKey' | 'useKey' | 'removeKey') => async (ctx: Parameters<Parameters<typeof router.post>[1]>[0]) => {
    const body = (await import('../body.js')).readJson;
    const req = (await body(ctx, 4096)) as { Key?: unknown } | undefined;
    const key = req?.Key;
    if (typeof key !== 'string' || key === '') throw new BadRequestError('Key: must be a base64 string');
    const relay = queryParam(ctx, 'relay-factor');
    if (relay !== undefined && !/^\d+$/.test(relay)) throw new BadRequestError('relay-factor: must be a non-negative integer');
    const result = await requireKeyringAsync(() => need(deps.gossip, 'gossip')[op](key));
    const failed = Object.entries(result.errors);
    if (failed.length || result.acks < result.members) {
      const detail = failed.map(([n, e]) => `${n}: ${e}`).join('; ');
      throw new HttpError(500, `${result.acks} of ${result.members} members applied the change${detail ? `; errors: ${detail}` : ''}`);
    }
    ctx.status = 200;
    ctx.body = '';
  };
  router.post('/v1/operator/keyring', keyOp('installKey'));
  router.put('/v1/operator/keyring', keyOp('useKey'));
  router.delete('/v1/operator/keyring', keyOp('removeKey'));
};

function requireKeyring<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw keyringError(e);
  }
}

async function requireKeyringAsync<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    throw keyringError(e);
  }
}

function keyringError(e: unknown): Error {
  const msg = (e as Error).message ?? String(e);
  if (/not enabled/.test(msg)) return new BadRequestError('Gossip encryption is not enabled on this agent');
  if ((e as Error).name === 'KeyringError') return new BadRequestError(msg);
  return e as Error;
}
