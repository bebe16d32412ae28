import { expect } from 'chai';
import { request } from 'node:http';
import { kvApi } from '../../lib/kv-http.js';
import { serveListener } from '../../lib/net.js';
import { kvPutFastPath } from '../../../agent/http/kv-put-fast.js';
import { KV_ROUTE } from '../../../agent/http/routes/kv.js';
import { Telemetry } from '../../../agent/telemetry/registry.js';

type Api = Awaited<ReturnType<typeof kvApi>>;

interface Answer {
  status: number;
  type: string | undefined;
  length: string | undefined;
  body: string;
}

/** One request over a fresh connection; `chunked` sends the body without Content-Length. */
function send(base: string, method: string, path: string, body: Buffer, chunked = false): Promise<Answer> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = chunked ? { 'transfer-encoding': 'chunked' } : { 'content-length': body.length };
    const r = request({ host: u.hostname, port: u.port, method, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], length: res.headers['content-length'], body: Buffer.concat(chunks).toString('latin1') }),
      );
    });
    r.on('error', reject);
    r.end(body);
  });
}

/** Every key with its flags and value, as the API reads them back (indexes left out). */
async function dump(t: Api): Promise<unknown> {
  const r = await t.json<Array<{ Key: string; Flags: number; Value: string | null }>>('GET', '/v1/kv/?recurse');
  return r.status === 404 ? [] : (r.body as Array<{ Key: string; Flags: number; Value: string | null }>).map((e) => [e.Key, e.Flags, e.Value]);
}

const CASES: Array<{ what: string; path: string; body: Buffer; chunked?: boolean; fast: boolean }> = [
  { what: 'plain set', path: '/v1/kv/app/config', body: Buffer.from('hello'), fast: true },
  { what: 'binary value', path: '/v1/kv/bin', body: Buffer.from([0, 255, 10, 13, 128]), fast: true },
  { what: 'empty value', path: '/v1/kv/empty', body: Buffer.alloc(0), fast: true },
  { what: 'value at the size limit', path: '/v1/kv/edge', body: Buffer.alloc(512 * 1024, 1), fast: true },
  { what: 'percent-encoded key', path: '/v1/kv/a%2Fb%20c', body: Buffer.from('x'), fast: true },
  { what: 'undecodable key, kept as sent', path: '/v1/kv/bad%E0%A4%A', body: Buffer.from('y'), fast: true },
  { what: 'key with a trailing slash', path: '/v1/kv/dir/', body: Buffer.from('z'), fast: true },
  { what: 'overwrite', path: '/v1/kv/app/config', body: Buffer.from('again'), fast: true },
  { what: 'flags (query string)', path: '/v1/kv/flagged?flags=42', body: Buffer.from('f'), fast: false },
  { what: 'cas 0 on an existing key', path: '/v1/kv/app/config?cas=0', body: Buffer.from('no'), fast: false },
  { what: 'empty key', path: '/v1/kv/', body: Buffer.from('x'), fast: false },
  { what: 'value over the limit', path: '/v1/kv/big', body: Buffer.alloc(512 * 1024 + 1), fast: false },
  { what: 'chunked body', path: '/v1/kv/chunked', body: Buffer.from('c'), chunked: true, fast: false },
  { what: 'other spelling of the path', path: '/V1/KV/upper', body: Buffer.from('u'), fast: false },
];

describe('http: the PUT /v1/kv fast path', function () {
  this.timeout(30_000);
  let fast: Api;
  let koa: Api;
  let fastMetrics: Telemetry;
  let koaMetrics: Telemetry;
  before(async () => {
    fastMetrics = new Telemetry();
    koaMetrics = new Telemetry();
    fast = await kvApi({ telemetry: fastMetrics });
    koa = await kvApi({ koaOnly: true, telemetry: koaMetrics });
  });
  after(async () => {
    await fast?.close();
    await koa?.close();
  });

  it('answers every request (taken or passed on) with the status, headers and body of the koa route, and leaves the same state', async () => {
    for (const c of CASES) {
      const a = await send(fast.url(''), 'PUT', c.path, c.body, c.chunked);
      const b = await send(koa.url(''), 'PUT', c.path, c.body, c.chunked);
      expect(a, c.what).to.deep.equal(b);
    }
    expect(await dump(fast)).to.deep.equal(await dump(koa));
    expect(((await fast.json('GET', '/v1/kv/bad%25E0%25A4%25A?raw')).body as string)).to.equal('y');
  });

  it('takes exactly the plain sets; everything else goes to the koa app', async () => {
    const t = await kvApi();
    const taken: string[] = [];
    const path = kvPutFastPath(t.deps);
    expect(path).to.not.equal(undefined);
    const callback = t.app.callback();
    const srv = await serveListener((req, res) => {
      if (path!(req, res)) taken.push(req.url ?? '');
      else void callback(req, res);
    });
    try {
      for (const c of CASES) await send(srv.url, 'PUT', c.path, c.body, c.chunked);
      await send(srv.url, 'GET', '/v1/kv/app/config', Buffer.alloc(0));
      await send(srv.url, 'POST', '/v1/kv/app/config', Buffer.from('p'));
      expect(taken).to.deep.equal(CASES.filter((c) => c.fast).map((c) => c.path));
    } finally {
      await srv.close();
      await t.close();
    }
  });

  it('records the same HTTP metrics as the koa route', async () => {
    const names = (t: Telemetry): unknown =>
      t
        .json()
        .Samples.filter((s) => s.Name.startsWith('consul.http.PUT.v1.kv') || (s.Name === 'consul.api.http' && s.Labels['path'] === KV_ROUTE && s.Labels['method'] === 'PUT'))
        .map((s) => [s.Name, s.Labels, s.Count]);
    const fastSeen = names(fastMetrics);
    expect(fastSeen).to.deep.equal(names(koaMetrics));
    expect(JSON.stringify(fastSeen)).to.include(`"code":"200"`);
  });
});
