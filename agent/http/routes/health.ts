import type { RouteModule } from '../app.js';
import { queryFlag, queryParams } from '../query.js';
import { serveRead } from '../read.js';

/** `/v1/health/*`: Consul's health endpoints. Every read blocks on `?index`. */
export const healthRoutes: RouteModule = (router, deps) => {
  router.get('/v1/health/service/:name', (ctx) =>
    serveRead(ctx, deps, {
      op: 'checkServiceNodes',
      service: ctx.params['name']!,
      tags: queryParams(ctx, 'tag'),
      passingOnly: queryFlag(ctx, 'passing'),
    }),
  );
  router.get('/v1/health/node/:node', (ctx) => serveRead(ctx, deps, { op: 'nodeChecks', node: ctx.params['node']! }));
  router.get('/v1/health/checks/:service', (ctx) => serveRead(ctx, deps, { op: 'serviceChecks', service: ctx.params['service']! }));
  router.get('/v1/health/state/:state', (ctx) => serveRead(ctx, deps, { op: 'checksInState', state: ctx.params['state']! }));
};
