import type { RouteModule } from '../app.js';
import { sendJson } from '../app.js';
import { BadRequestError, HttpError } from '../errors.js';
import { queryParam } from '../query.js';

/** `GET /v1/agent/metrics`: Consul's JSON form, or `?format=prometheus` (text exposition format 0.0.4). */
export const metricsRoutes: RouteModule = (router, deps) => {
  router.get('/v1/agent/metrics', (ctx) => {
    const t = deps.telemetry;
    if (!t) throw new HttpError(500, 'agent: metrics not available on this agent');
    const format = queryParam(ctx, 'format');
    if (format === 'prometheus') {
      ctx.type = 'text/plain; version=0.0.4; charset=utf-8';
      ctx.body = t.prometheus();
      return;
    }
    if (format !== undefined && format !== '' && format !== 'json') throw new BadRequestError(`Invalid format: "${format}" (use prometheus or leave it out)`);
    sendJson(ctx, t.json());
  });
};
