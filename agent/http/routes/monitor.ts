import { PassThrough } from 'node:stream';
import type { RouteModule } from '../app.js';
import { BadRequestError, HttpError } from '../errors.js';
import { queryFlag, queryParam } from '../query.js';
import { parseLogLevel } from '../../runtime/log-hub.js';

/**
 * `GET /v1/agent/monitor?loglevel=<trace|debug|info|warn|err>[&logjson]`: streams the agent's
 * log lines (chunked) until the client goes away. A client that does not keep up is cut off
 * by the log hub rather than slowing the agent (the stream ends with the reason).
 * `PUT /v1/agent/reload`: re-reads the config files and applies what can change at run time.
 */
export const monitorRoutes: RouteModule = (router, deps) => {
  router.get('/v1/agent/monitor', (ctx) => {
    const hub = deps.logHub;
    if (!hub) throw new HttpError(500, 'agent: log monitor not available on this agent');
    const raw = queryParam(ctx, 'loglevel') ?? 'info';
    const level = parseLogLevel(raw);
    if (!level || level === 'silent') throw new BadRequestError(`Unknown log level: ${raw}`);
    const out = new PassThrough();
    const unsubscribe = hub.subscribe({
      level,
      json: queryFlag(ctx, 'logjson'),
      write: (line) => out.write(line),
      pendingBytes: () => out.writableLength + out.readableLength,
      onDrop: (reason) => out.end(`${reason}\n`),
    });
    ctx.req.on('close', () => {
      unsubscribe();
      out.destroy();
    });
    ctx.status = 200;
    ctx.body = out;
    ctx.type = 'text/plain; charset=utf-8';
    ctx.res.flushHeaders();
  });

  router.put('/v1/agent/reload', async (ctx) => {
    if (!deps.reload) throw new HttpError(500, 'agent: reload not available on this agent');
    await deps.reload();
    ctx.status = 200;
    ctx.body = '';
  });
};
