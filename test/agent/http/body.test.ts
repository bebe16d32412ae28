import { expect } from 'chai';
import Koa from 'koa';
import { readJson } from '../../../agent/http/body.js';
import { HttpError } from '../../../agent/http/errors.js';
import { serveApp } from '../../lib/net.js';

/** A koa app that echoes the parsed JSON body, with the same error mapping as the API. */
function echoApp(limit: number): Koa {
  const app = new Koa();
  app.use(async (ctx) => {
    try {
      ctx.body = { got: (await readJson(ctx, limit)) ?? null };
    } catch (e) {
      if (!(e instanceof HttpError)) throw e;
      ctx.status = e.status;
      ctx.body = e.message;
    }
  });
  return app;
}

describe('http body reading', () => {
  it('parses JSON, treats an empty body as undefined, and names the JSON error', async () => {
    const srv = await serveApp(echoApp(1024));
    try {
      let res = await fetch(srv.url, { method: 'PUT', body: '{"Name":"web"}' });
      expect(await res.json()).to.deep.equal({ got: { Name: 'web' } });
      res = await fetch(srv.url, { method: 'PUT' });
      expect(await res.json()).to.deep.equal({ got: null });
      res = await fetch(srv.url, { method: 'PUT', body: '{"Name":' });
      expect(res.status).to.equal(400);
      expect(await res.text()).to.match(/^Request decode failed: /);
    } finally {
      await srv.close();
    }
  });

  it('refuses bodies over the limit with 413, declared or streamed', async () => {
    const srv = await serveApp(echoApp(1024));
    try {
      let res = await fetch(srv.url, { method: 'PUT', body: JSON.stringify({ v: 'x'.repeat(2000) }) });
      expect(res.status).to.equal(413);
      expect(await res.text()).to.contain('limit is 1024 bytes');
      // Chunked upload without a Content-Length: the limit is enforced while reading.
      const stream = new ReadableStream({
        start(c) {
          for (let i = 0; i < 10; i++) c.enqueue(new TextEncoder().encode('x'.repeat(200)));
          c.close();
        },
      });
      res = await fetch(srv.url, { method: 'PUT', body: stream, duplex: 'half' } as RequestInit);
      expect(res.status).to.equal(413);
    } finally {
      await srv.close();
    }
  });
});
