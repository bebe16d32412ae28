import type { RouteModule } from '../app.js';
import { sendJson } from '../app.js';
import { need } from './deps.js';
import { BadRequestError } from '../errors.js';
import { queryParam } from '../query.js';

/** `/v1/operator/raft/*`: the Raft configuration, peer removal and leadership transfer. */
export const operatorRoutes: RouteModule = (router, deps) => {
  router.get('/v1/operator/raft/configuration', async (ctx) => {
    sendJson(ctx, await need(deps.cluster, 'cluster').raftConfiguration());
  });

  router.delete('/v1/operator/raft/peer', async (ctx) => {
    const id = queryParam(ctx, 'id');
    const address = queryParam(ctx, 'address');
    if (!id && !address) throw new BadRequestError('Must specify either ?id with the server\'s ID or ?address with IP:port of peer to remove');
    if (id && address) throw new BadRequestError('Must specify only one of ?id or ?address');
    await need(deps.cluster, 'cluster').removePeer(id ? { id } : { address: address as string });
    ctx.status = 200;
    ctx.body = '';
  });

  router.post('/v1/operator/raft/transfer-leader', async (ctx) => {
    const id = queryParam(ctx, 'id') || undefined;
    await need(deps.cluster, 'cluster').transferLeader(id);
    sendJson(ctx, { Success: true });
  });
};
