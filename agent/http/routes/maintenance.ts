import type { Context } from 'koa';
import type { HttpDeps, RouteModule } from '../app.js';
import { BadRequestError, HttpError, NotFoundError } from '../errors.js';
import { queryParam } from '../query.js';
import { UnknownServiceError, type Maintenance } from '../../local/maintenance.js';

function maintenanceOf(deps: HttpDeps): Maintenance {
  if (!deps.maintenance) throw new HttpError(500, 'agent: maintenance mode not available on this agent');
  return deps.maintenance;
}

/** Consul's `enable` parameter: required, true or false. */
function enableParam(ctx: Context): boolean {
  const v = queryParam(ctx, 'enable');
  if (v === undefined || v === '') throw new BadRequestError('Missing value for enable');
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new BadRequestError(`Invalid value for enable: "${v}"`);
}

/**
 * `PUT /v1/agent/maintenance?enable=&reason=` (node) and
 * `PUT /v1/agent/service/maintenance/:id?enable=&reason=` (one service instance).
 */
export const maintenanceRoutes: RouteModule = (router, deps) => {
  router.put('/v1/agent/maintenance', (ctx) => {
    const m = maintenanceOf(deps);
    if (enableParam(ctx)) m.enableNode(queryParam(ctx, 'reason') ?? '');
    else m.disableNode();
    ctx.status = 200;
    ctx.body = '';
  });

  router.put('/v1/agent/service/maintenance/:id', (ctx) => {
    const m = maintenanceOf(deps);
    const id = ctx.params['id']!;
    const enable = enableParam(ctx);
    try {
      if (enable) m.enableService(id, queryParam(ctx, 'reason') ?? '');
      else m.disableService(id);
    } catch (e) {
      if (e instanceof UnknownServiceError) throw new NotFoundError(e.message);
      throw e;
    }
    ctx.status = 200;
    ctx.body = '';
  });
};
