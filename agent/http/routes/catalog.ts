import type { Context } from 'koa';
import type { RouteModule, HttpDeps } from '../app.js';
import { sendJson } from '../app.js';
import { readJson } from '../body.js';
import { decode, S } from '../decode.js';
import { BadRequestError, HttpError } from '../errors.js';
import { queryParams } from '../query.js';
import { serveRead } from '../read.js';
import { catalogOf } from './deps.js';
import { CommandType, type Command, type DeregisterRequest, type RegisterRequest } from '../../../catalog/state/index.js';

const strMap = S.map(S.string);

const SERVICE = S.object({
  ID: S.string,
  Service: S.string,
  Tags: S.array(S.string),
  Address: S.string,
  TaggedAddresses: S.map(S.object({ Address: S.string, Port: S.int })),
  Meta: strMap,
  Port: S.int,
  Weights: S.object({ Passing: S.int, Warning: S.int }),
  EnableTagOverride: S.bool,
  Kind: S.string,
});

const CHECK = S.object({
  Node: S.string,
  CheckID: S.string,
  Name: S.string,
  Status: S.string,
  Notes: S.string,
  Output: S.string,
  ServiceID: S.string,
  Type: S.string,
  Definition: S.map(S.any),
});

/** Consul's `PUT /v1/catalog/register` body. */
export const REGISTER_SPEC = S.object({
  Datacenter: S.string,
  ID: S.string,
  Node: S.string,
  Address: S.string,
  TaggedAddresses: strMap,
  NodeMeta: strMap,
  Service: SERVICE,
  Check: CHECK,
  Checks: S.array(CHECK),
  SkipNodeUpdate: S.bool,
});

const DEREGISTER_SPEC = S.object({ Datacenter: S.string, Node: S.string, ServiceID: S.string, CheckID: S.string });

async function body(ctx: Context): Promise<unknown> {
  const raw = await readJson(ctx);
  if (raw === undefined) throw new BadRequestError('Request decode failed: empty body');
  return raw;
}

function checkDc(deps: HttpDeps, dc: string | undefined): void {
  if (dc && dc.toLowerCase() !== deps.config.datacenter) throw new HttpError(500, `No path to datacenter "${dc}"`);
}

/** Proposes a write; the state machine's refusal is a 400 with its message. */
export async function commit(deps: HttpDeps, cmd: Command): Promise<void> {
  const r = await catalogOf(deps).write(cmd);
  if (!r.ok) throw new BadRequestError(r.error);
}

/** `/v1/catalog/*`: Consul's catalog endpoints. Every read blocks on `?index`. */
export const catalogRoutes: RouteModule = (router, deps) => {
  router.put('/v1/catalog/register', async (ctx) => {
    const req = decode(await body(ctx), REGISTER_SPEC) as unknown as RegisterRequest;
    checkDc(deps, req.Datacenter);
    if (!req.Node) throw new BadRequestError('Must provide node');
    if (!req.Address && !req.SkipNodeUpdate) throw new BadRequestError('Must provide address if SkipNodeUpdate is not set');
    if (req.Service && !req.Service.Service) throw new BadRequestError('Must provide service name');
    req.Datacenter = deps.config.datacenter;
    await commit(deps, { type: CommandType.Register, req });
    sendJson(ctx, true);
  });

  router.put('/v1/catalog/deregister', async (ctx) => {
    const req = decode(await body(ctx), DEREGISTER_SPEC) as unknown as DeregisterRequest;
    checkDc(deps, req.Datacenter);
    if (!req.Node) throw new BadRequestError('Must provide node');
    req.Datacenter = deps.config.datacenter;
    await commit(deps, { type: CommandType.Deregister, req });
    sendJson(ctx, true);
  });

  router.get('/v1/catalog/datacenters', (ctx) => {
    sendJson(ctx, [deps.config.datacenter]);
  });

  router.get('/v1/catalog/nodes', (ctx) => serveRead(ctx, deps, { op: 'nodes' }));
  router.get('/v1/catalog/services', (ctx) => serveRead(ctx, deps, { op: 'services' }));
  router.get('/v1/catalog/service/:name', (ctx) =>
    serveRead(ctx, deps, { op: 'serviceNodes', service: ctx.params['name']!, tags: queryParams(ctx, 'tag') }),
  );
  router.get('/v1/catalog/node/:node', (ctx) => serveRead(ctx, deps, { op: 'node', node: ctx.params['node']! }));
  router.get('/v1/catalog/node-services/:node', (ctx) => serveRead(ctx, deps, { op: 'nodeServices', node: ctx.params['node']! }));
};
