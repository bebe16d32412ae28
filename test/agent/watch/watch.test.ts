import { expect } from 'chai';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { startAgent, type TestAgent } from '../health/fixture.js';
import { waitFor } from '../checks/helpers.js';
import { SystemClock } from '../../../agent/runtime/clock.js';
import { createLogger, silentLogger } from '../../../agent/runtime/logger.js';
import { Watcher, type WatchFetch } from '../../../agent/watch/watcher.js';
import { agentFetch, AgentWatches, parseWatchConfig } from '../../../agent/watch/agent-watches.js';
import { httpHandler, scriptHandler } from '../../../agent/watch/handlers.js';
import { watchQuery } from '../../../agent/watch/plan.js';
import { tempDir } from '../../lib/tmp.js';

function captureLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const dest = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: createLogger({ destination: dest, json: true, level: 'debug' }), lines };
}

/** A hook receiver: answers `codes` in order (then 200) and records the bodies. */
async function hookServer(codes: number[] = []) {
  const got: Array<{ body: string; index: string | undefined; method: string | undefined; token: string | undefined }> = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      got.push({ body, index: req.headers['x-consul-index'] as string | undefined, method: req.method, token: req.headers['x-token'] as string | undefined });
      res.statusCode = codes.shift() ?? 200;
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return { url, got, close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}

describe('watches', () => {
  let t: TestAgent | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('plans: each type names its query; missing parameters are errors', () => {
    expect(watchQuery({ type: 'service', service: 'web', tag: ['v1'], passingOnly: true }).path).to.equal('/v1/health/service/web?tag=v1&passing');
    expect(watchQuery({ type: 'checks' }).path).to.equal('/v1/health/state/any');
    expect(watchQuery({ type: 'checks', service: 'db' }).path).to.equal('/v1/health/checks/db');
    expect(watchQuery({ type: 'keyprefix', prefix: 'app/cfg' }).path).to.equal('/v1/kv/app/cfg?recurse');
    expect(watchQuery({ type: 'key', key: 'a b/c' }).path).to.equal('/v1/kv/a%20b/c');
    expect(watchQuery({ type: 'event', name: 'deploy' }).path).to.equal('/v1/event/list?name=deploy');
    expect(() => watchQuery({ type: 'service' })).to.throw('watch: type "service" requires -service');
    expect(() => watchQuery({ type: 'checks', state: 'bad' })).to.throw(/invalid -state "bad"/);
  });

  it('a checks watch runs its handler exactly once per real change (no run on a wake-up without change)', async () => {
    t = await startAgent({ check_update_interval: '0s' });
    await t.put('/v1/agent/check/register', { Name: 'a', TTL: '1h', Status: 'passing' });
    await t.put('/v1/agent/check/register', { Name: 'b', TTL: '1h' });
    await t.ae.idle();
    const seen: string[][] = [];
    const fetch = agentFetch(new URL(t.url));
    const w = new Watcher({
      params: { type: 'checks', state: 'critical' },
      fetch,
      clock: new SystemClock(),
      handler: (v) => {
        seen.push((v as Array<{ CheckID: string }>).map((c) => c.CheckID));
      },
    });
    w.start();
    try {
      await waitFor(() => seen.length === 1, 5000, 'first run');
      expect(seen).to.deep.equal([['b']]);
      // Output-only changes of a passing check wake the query but change nothing watched.
      for (const note of ['x1', 'x2']) {
        const q = w.queries;
        await t.put(`/v1/agent/check/pass/a?note=${note}`);
        await t.ae.idle();
        await waitFor(() => w.queries > q, 5000, `wake-up after ${note}`);
      }
      expect(seen).to.have.length(1);
      await t.put('/v1/agent/check/fail/a');
      await t.ae.idle();
      await waitFor(() => seen.length === 2, 5000, 'run after a fails');
      await t.put('/v1/agent/check/pass/a');
      await t.ae.idle();
      await waitFor(() => seen.length === 3, 5000, 'run after a passes');
      await new Promise((r) => setTimeout(r, 100));
      expect(seen).to.deep.equal([['b'], ['a', 'b'], ['b']]);
    } finally {
      await w.stop();
    }
  });

  it('query errors back off (never a tight loop) and the watch recovers', async () => {
    let calls = 0;
    const fetch: WatchFetch = async () => {
      calls++;
      if (calls <= 3) throw new Error('connect ECONNREFUSED');
      return { status: 200, text: '["x"]', index: 7 };
    };
    const seen: unknown[] = [];
    const { ManualClock } = await import('../../../agent/runtime/clock.js');
    const clock = new ManualClock();
    const w = new Watcher({ params: { type: 'nodes' }, fetch, clock, handler: (v) => void seen.push(v), retryMs: 1000 });
    w.start();
    await waitFor(() => calls === 1, 1000, 'first call');
    await new Promise((r) => setTimeout(r, 20));
    expect(calls).to.equal(1);
    clock.advance(1000);
    await waitFor(() => calls === 2, 1000, 'second call');
    clock.advance(1999);
    await new Promise((r) => setTimeout(r, 20));
    expect(calls).to.equal(2);
    clock.advance(1);
    await waitFor(() => calls === 3, 1000, 'third call after 2 s');
    clock.advance(4000);
    await waitFor(() => seen.length === 1, 1000, 'recovered');
    await w.stop();
  });

  it('http handler: POSTs the JSON with X-Consul-Index, retries failures with back-off and logs them', async () => {
    const hook = await hookServer([500, 503]);
    const { logger, lines } = captureLogger();
    try {
      const h = httpHandler({ url: hook.url, header: { 'X-Token': ['s3cret'] }, retryMs: 10, clock: new SystemClock(), logger });
      await h([{ Node: 'n1' }], 42);
      expect(hook.got).to.have.length(3);
      expect(hook.got[2]).to.deep.equal({ body: '[{"Node":"n1"}]', index: '42', method: 'POST', token: 's3cret' });
      const warns = lines.filter((l) => l['level'] === 40).map((l) => l['msg']);
      expect(warns).to.deep.equal(['watch http handler failed (status 500); retrying in 10 ms', 'watch http handler failed (status 503); retrying in 20 ms']);

      const always = await hookServer([500, 500, 500, 500]);
      try {
        const h2 = httpHandler({ url: always.url, attempts: 3, retryMs: 5, clock: new SystemClock(), logger });
        let err: Error | undefined;
        await Promise.resolve(h2({}, 1)).catch((e: Error) => (err = e));
        expect(err?.message).to.equal(`watch: http handler ${always.url} failed after 3 attempts: status 500`);
        expect(always.got).to.have.length(3);
      } finally {
        await always.close();
      }
    } finally {
      await hook.close();
    }
  });

  it('a failing handler inside a watch is logged and the watch goes on', async () => {
    const { logger, lines } = captureLogger();
    let n = 0;
    const fetch: WatchFetch = async (_p, signal) => {
      n++;
      if (n > 2) await new Promise((r) => signal.addEventListener('abort', r));
      return { status: 200, text: JSON.stringify([n]), index: n };
    };
    const w = new Watcher({ params: { type: 'nodes' }, fetch, clock: new SystemClock(), logger, handler: () => { throw new Error('pager down'); } });
    w.start();
    await waitFor(() => w.runs === 2, 2000, 'two runs');
    await w.stop();
    expect(lines.filter((l) => l['level'] === 50).map((l) => l['msg'])).to.deep.equal(['watch handler failed: pager down', 'watch handler failed: pager down']);
  });

  it('script handler: JSON on stdin and CONSUL_INDEX; a hanging handler is killed at its timeout', async () => {
    const tmp = tempDir();
    try {
      const out = `${tmp.dir}/out.json`;
      await scriptHandler({ shell: `cat > ${out}; echo " $CONSUL_INDEX" >> ${out}`, clock: new SystemClock(), logger: silentLogger() })({ a: 1 }, 9);
      expect(readFileSync(out, 'utf8')).to.equal('{"a":1}\n 9\n');

      const pidFile = `${tmp.dir}/pid`;
      const started = Date.now();
      let err: Error | undefined;
      await Promise.resolve(scriptHandler({ args: ['sh', '-c', `echo $$ > ${pidFile}; sleep 30; echo late`], timeoutMs: 200, clock: new SystemClock(), logger: silentLogger() })({}, 1)).catch(
        (e: Error) => (err = e),
      );
      expect(err?.message).to.equal('watch: handler killed after 200 ms timeout');
      expect(Date.now() - started).to.be.lessThan(5000);
      const pid = Number(readFileSync(pidFile, 'utf8'));
      expect(() => process.kill(pid, 0)).to.throw();
      let bad: Error | undefined;
      await Promise.resolve(scriptHandler({ args: ['sh', '-c', 'exit 3'], clock: new SystemClock(), logger: silentLogger() })({}, 1)).catch((e: Error) => (bad = e));
      expect(bad?.message).to.equal('watch: handler exited with 3');
    } finally {
      tmp.cleanup();
    }
  });

  it('config watches: validated up front; an http watch on service health posts each change', async () => {
    expect(() => AgentWatches.parseAll([{ type: 'service' , args: ['x'] }])).to.throw('watches[0]: type "service" requires "service"');
    expect(() => parseWatchConfig({ type: 'nodes', handler_type: 'http' })).to.throw('watch.http_handler_config: required for handler_type "http"');
    expect(() => parseWatchConfig({ type: 'nodes' })).to.throw('watch: a script handler needs "args" (or "handler")');
    expect(() => parseWatchConfig({ type: 'bogus', args: ['x'] })).to.throw(/watch.type: must be one of key, keyprefix/);
    expect(parseWatchConfig({ type: 'checks', state: 'critical', handler_type: 'http', http_handler_config: { path: 'https://x/y', method: 'put', timeout: '5s', tls_skip_verify: true } })).to.deep.equal({
      params: { type: 'checks', state: 'critical' },
      handler: { kind: 'http', url: 'https://x/y', method: 'PUT', timeoutMs: 5000, tlsSkipVerify: true },
    });

    t = await startAgent();
    const hook = await hookServer();
    const watches = new AgentWatches({ clock: new SystemClock(), logger: silentLogger(), fetch: agentFetch(new URL(t.url)) });
    try {
      await watches.start(AgentWatches.parseAll([{ type: 'service', service: 'web', passingonly: true, handler_type: 'http', http_handler_config: { path: hook.url } }]));
      await waitFor(() => hook.got.length === 1, 5000, 'initial post');
      expect(JSON.parse(hook.got[0]!.body)).to.deep.equal([]);
      await t.put('/v1/agent/service/register', { Name: 'web', Check: { TTL: '1h', Status: 'passing' } });
      await t.ae.idle();
      await waitFor(() => hook.got.length === 2, 5000, 'post after register');
      expect((JSON.parse(hook.got[1]!.body) as Array<{ Service: { ID: string } }>).map((e) => e.Service.ID)).to.deep.equal(['web']);
      await t.put('/v1/agent/check/fail/service:web');
      await t.ae.idle();
      await waitFor(() => hook.got.length === 3, 5000, 'post after critical');
      expect(JSON.parse(hook.got[2]!.body)).to.deep.equal([]);
    } finally {
      await watches.stop();
      await hook.close();
    }
  });
});
