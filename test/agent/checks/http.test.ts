import { expect } from 'chai';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { probeHttp } from '../../../agent/checks/http.js';
import type { HttpCheckSpec } from '../../../agent/checks/types.js';
import { SystemClock } from '../../../agent/runtime/clock.js';
import { freePort } from '../../lib/net.js';
import { base } from './helpers.js';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  rawHeaders: string[];
  body: string;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** A real HTTP server on 127.0.0.1 whose behaviour the test swaps at will. */
async function startServer(): Promise<{ url: string; seen: Seen[]; setHandler: (h: Handler) => void; close: () => Promise<void> }> {
  let handler: Handler = (_req, res) => res.end('ok');
  const seen: Seen[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, rawHeaders: req.rawHeaders, body });
      handler(req, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    setHandler: (h) => (handler = h),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

function spec(url: string, over: Partial<HttpCheckSpec> = {}): HttpCheckSpec {
  return {
    ...base('web-http'),
    kind: 'http',
    url,
    method: 'GET',
    header: {},
    body: '',
    tlsSkipVerify: false,
    disableRedirects: false,
    intervalMs: 10_000,
    ...over,
  };
}

describe('checks: HTTP probe (real server on 127.0.0.1)', function () {
  this.timeout(10_000);
  const clock = new SystemClock();
  let srv: Awaited<ReturnType<typeof startServer>>;

  beforeEach(async () => {
    srv = await startServer();
  });
  afterEach(async () => {
    await srv.close();
  });

  it('2xx is passing, with Consul\'s output line and default headers', async () => {
    srv.setHandler((_q, res) => res.end('all good'));
    const r = await probeHttp(spec(`${srv.url}/health`), clock);
    expect(r).to.deep.equal({ status: 'passing', output: `HTTP GET ${srv.url}/health: 200 OK Output: all good` });
    const req = srv.seen[0] as Seen;
    expect(req.headers['user-agent']).to.equal('Consul Health Check');
    expect(req.headers['accept']).to.equal('text/plain, text/*, */*');
    expect(req.method).to.equal('GET');
    expect(req.url).to.equal('/health');
  });

  it('204 and 299 are passing too', async () => {
    srv.setHandler((_q, res) => {
      res.statusCode = 204;
      res.end();
    });
    expect((await probeHttp(spec(srv.url + '/'), clock)).status).to.equal('passing');
    srv.setHandler((_q, res) => {
      res.statusCode = 299;
      res.end();
    });
    expect((await probeHttp(spec(srv.url + '/'), clock)).status).to.equal('passing');
  });

  it('429 is warning, 500 and 404 are critical, and the server can flip back to healthy', async () => {
    srv.setHandler((_q, res) => {
      res.writeHead(429, 'Too Many Requests').end('slow down');
    });
    expect(await probeHttp(spec(srv.url + '/h'), clock)).to.deep.equal({
      status: 'warning',
      output: `HTTP GET ${srv.url}/h: 429 Too Many Requests Output: slow down`,
    });
    srv.setHandler((_q, res) => {
      res.writeHead(500).end('boom');
    });
    expect(await probeHttp(spec(srv.url + '/h'), clock)).to.deep.equal({
      status: 'critical',
      output: `HTTP GET ${srv.url}/h: 500 Internal Server Error Output: boom`,
    });
    srv.setHandler((_q, res) => {
      res.writeHead(404).end();
    });
    expect((await probeHttp(spec(srv.url + '/h'), clock)).status).to.equal('critical');
    srv.setHandler((_q, res) => res.end('back'));
    expect((await probeHttp(spec(srv.url + '/h'), clock)).status).to.equal('passing');
  });

  it('sends the method, body and headers (multi-valued; a given User-Agent wins)', async () => {
    const r = await probeHttp(
      spec(srv.url + '/p', { method: 'POST', body: '{"ping":1}', header: { 'X-Multi': ['a', 'b'], 'User-Agent': ['mine/1'], 'Content-Type': ['application/json'] } }),
      clock,
    );
    expect(r.status).to.equal('passing');
    expect(r.output).to.match(/^HTTP POST /);
    const req = srv.seen[0] as Seen;
    expect(req.method).to.equal('POST');
    expect(req.body).to.equal('{"ping":1}');
    expect(req.headers['user-agent']).to.equal('mine/1');
    expect(req.headers['content-type']).to.equal('application/json');
    const multi = req.rawHeaders.filter((_v, i) => i % 2 === 1 && req.rawHeaders[i - 1]?.toLowerCase() === 'x-multi');
    expect(multi).to.deep.equal(['a', 'b']);
  });

  it('a Host header replaces the request\'s host', async () => {
    const r = await probeHttp(spec(srv.url + '/v', { header: { Host: ['api.internal'] } }), clock);
    expect(r.status).to.equal('passing');
    expect(srv.seen[0]?.headers.host).to.equal('api.internal');
  });

  it('follows redirects unless DisableRedirects is set', async () => {
    srv.setHandler((req, res) => {
      if (req.url === '/old') res.writeHead(302, { Location: '/new' }).end();
      else res.end('moved here');
    });
    const followed = await probeHttp(spec(srv.url + '/old'), clock);
    expect(followed).to.deep.equal({ status: 'passing', output: `HTTP GET ${srv.url}/old: 200 OK Output: moved here` });
    const notFollowed = await probeHttp(spec(srv.url + '/old', { disableRedirects: true }), clock);
    expect(notFollowed.status).to.equal('critical');
    expect(notFollowed.output).to.equal(`HTTP GET ${srv.url}/old: 302 Found Output: `);
  });

  it('keeps only the last OutputMaxSize bytes of the body', async () => {
    const body = 'a'.repeat(6000) + 'b'.repeat(4000) + 'END!';
    srv.setHandler((_q, res) => res.end(body));
    const r = await probeHttp(spec(srv.url + '/big'), clock);
    const out = r.output.slice(r.output.indexOf('Output: ') + 'Output: '.length);
    expect(out.length).to.equal(4096);
    expect(out).to.equal(body.slice(-4096));
    const small = await probeHttp(spec(srv.url + '/big', { outputMaxSize: 10 }), clock);
    expect(small.output).to.match(/Output: bbbbbbEND!$/);
  });

  it('a server that does not answer within the timeout is critical', async () => {
    srv.setHandler(() => {
      /* never answers */
    });
    const t0 = Date.now();
    const r = await probeHttp(spec(srv.url + '/slow', { timeoutMs: 200, intervalMs: 10_000 }), clock);
    expect(r.status).to.equal('critical');
    expect(r.output).to.equal(`Get "${srv.url}/slow": timeout after 200ms (Client.Timeout exceeded)`);
    expect(Date.now() - t0).to.be.lessThan(5000);
  });

  it('connection refused is critical with the error', async () => {
    const port = await freePort();
    const r = await probeHttp(spec(`http://127.0.0.1:${port}/`), clock);
    expect(r.status).to.equal('critical');
    expect(r.output).to.equal(`Get "http://127.0.0.1:${port}/": connect ECONNREFUSED 127.0.0.1:${port}`);
  });

  it('aborting ends a probe in flight', async () => {
    srv.setHandler(() => {});
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    const r = await probeHttp(spec(srv.url + '/slow', { timeoutMs: 8000, intervalMs: 60_000 }), clock, ac.signal);
    expect(r).to.deep.equal({ status: 'critical', output: `Get "${srv.url}/slow": check stopped` });
  });
});

describe('checks: HTTPS probe and TLSSkipVerify', function () {
  this.timeout(10_000);
  const clock = new SystemClock();

  it('a self-signed certificate fails verification unless TLSSkipVerify is set', async () => {
    const server = createHttpsServer(
      { key: readFileSync('test/fixtures/tls/localhost.key'), cert: readFileSync('test/fixtures/tls/localhost.crt') },
      (_q, res) => res.end('tls ok'),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    try {
      const url = `https://127.0.0.1:${port}/`;
      const strict = await probeHttp(spec(url), clock);
      expect(strict.status).to.equal('critical');
      expect(strict.output).to.match(/self[- ]signed/i);
      const skip = await probeHttp(spec(url, { tlsSkipVerify: true }), clock);
      expect(skip).to.deep.equal({ status: 'passing', output: `HTTP GET ${url}: 200 OK Output: tls ok` });
      // A Host header does not change the name the certificate is checked against.
      const withHost = await probeHttp(spec(url, { tlsSkipVerify: true, header: { Host: ['other.example'] } }), clock);
      expect(withHost.status).to.equal('passing');
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
