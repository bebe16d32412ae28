import type { RouteModule } from '../app.js';
import { sendJson } from '../app.js';

/** `/v1/status/*`: the Raft leader's and voters' server addresses, as Consul reports them. */
export const statusRoutes: RouteModule = (router, deps) => {
  router.get('/v1/status/leader', async (ctx) => {
    sendJson(ctx, await deps.status.leader());
  });
  router.get('/v1/status/peers', async (ctx) => {
    sendJson(ctx, await deps.status.peers());
  });
};
