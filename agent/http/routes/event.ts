import type { RouteModule } from '../app.js';
import { sendJson } from '../app.js';
import { need } from './deps.js';
import { readBody } from '../body.js';
import { BadRequestError } from '../errors.js';
import { parseQueryOptions, queryParam } from '../query.js';
import { EventError } from '../../events.js';

/** Serf's user event size limit (name plus payload, before our envelope). */
const EVENT_BODY_LIMIT = 512;

/** `/v1/event/fire/:name` and `/v1/event/list` (blocking on `?index`). */
export const eventRoutes: RouteModule = (router, deps) => {
  router.put('/v1/event/fire/:name', async (ctx) => {
    const name = ctx.params['name'] as string;
    if (!name) throw new BadRequestError('Missing name');
    const payload = await readBody(ctx, EVENT_BODY_LIMIT);
    try {
      const ev = need(deps.events, 'events').fire({
        name,
        payload,
        nodeFilter: queryParam(ctx, 'node'),
        serviceFilter: queryParam(ctx, 'service'),
        tagFilter: queryParam(ctx, 'tag'),
      });
      sendJson(ctx, ev);
    } catch (e) {
      if (e instanceof EventError) throw new BadRequestError(e.message);
      throw e;
    }
  });

  router.get('/v1/event/list', async (ctx) => {
    const q = parseQueryOptions(ctx);
    const name = queryParam(ctx, 'name');
    if (q.minIndex > 0) await need(deps.events, 'events').wait(q.minIndex, q.waitMs + Math.floor(Math.random() * (q.waitMs / 16)));
    const { events, index } = need(deps.events, 'events').list(name);
    ctx.set('X-Consul-Index', String(index));
    sendJson(ctx, events);
  });
};
