/**
 * Catalog benchmark on real agent processes (run alone: `npx tsc -b && node dist/bench/catalog/cluster.js`).
 *
 * 1. Watchers: WATCHERS (default 1000) blocking queries on `/v1/health/service/web` against a
 *    dev agent process. A change to another service must wake none of them; then a change to
 *    `web` must wake all of them: wake-up latency p50/p99/max from the write (goal p99 ≤ 50 ms).
 * 2. Propagation: 3 servers + 2 clients; a service registered on client 1 through the agent
 *    API, observed by a blocking catalog query on client 2: latency from the register request
 *    to the answer on client 2, over TRIALS (default 20) trials.
 *
 * The bench process itself is the load generator, on the same 2-core machine.
 */
import { Agent as HttpAgent, request } from 'node:http';
import { loadavg } from 'node:os';
import { startAgent, eventually, type AgentProcess } from '../../test/lib/agent-process.js';

const WATCHERS = Number(process.env['WATCHERS'] ?? 1000);
const TRIALS = Number(process.env['TRIALS'] ?? 20);
const keepAlive = new HttpAgent({ keepAlive: true, maxSockets: Infinity });

function call(port: number, method: string, path: string, body?: string): Promise<{ status: number; index: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, agent: keepAlive }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, index: String(res.headers['x-consul-index'] ?? ''), body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};
const ms = (x: number): string => `${x.toFixed(1)} ms`;

async function watchers(): Promise<void> {
  const a = await startAgent({ name: 'bench-dev', args: ['-server', '-bootstrap', '-log-level=warn'] });
  try {
    await eventually('leader', 10_000, async () => (await a.api<string>('/v1/status/leader')) !== '');
    await call(a.http, 'PUT', '/v1/agent/service/register', JSON.stringify({ Name: 'web', Port: 80 }));
    await call(a.http, 'PUT', '/v1/agent/service/register', JSON.stringify({ Name: 'other', Port: 81 }));
    await eventually('web registered', 10_000, async () => JSON.parse((await call(a.http, 'GET', '/v1/health/service/web')).body).length === 1);
    const first = await call(a.http, 'GET', '/v1/health/service/web');
    const index = first.index;
    let woken = 0;
    const wokeAt: number[] = [];
    const pending = Array.from({ length: WATCHERS }, () =>
      call(a.http, 'GET', `/v1/health/service/web?index=${index}&wait=60s`).then(() => {
        woken++;
        wokeAt.push(performance.now());
      }),
    );
    await new Promise((r) => setTimeout(r, 1500));
    await call(a.http, 'PUT', '/v1/agent/service/register', JSON.stringify({ Name: 'other', Port: 82 }));
    await new Promise((r) => setTimeout(r, 1000));
    const wokenByOther = woken;
    const t0 = performance.now();
    await call(a.http, 'PUT', '/v1/agent/service/register', JSON.stringify({ Name: 'web', Port: 8080 }));
    await Promise.race([Promise.all(pending), new Promise((r) => setTimeout(r, 30_000))]);
    const lat = wokeAt.map((t) => t - t0);
    console.log(`watchers: ${WATCHERS} blocked on web; woken by a change to another service: ${wokenByOther}`);
    console.log(
      `watchers: woken by the change to web: ${woken - wokenByOther}/${WATCHERS}; latency min ${ms(Math.min(...lat))}, p50 ${ms(pct(lat, 50))}, p99 ${ms(pct(lat, 99))}, max ${ms(Math.max(...lat))}`,
    );
  } finally {
    a.cleanup();
  }
}

async function propagation(): Promise<void> {
  const agents: AgentProcess[] = [];
  try {
    const s1 = await startAgent({ name: 'ps1', args: ['-server', '-bootstrap-expect=3', '-log-level=warn'] });
    agents.push(s1);
    const join = [`-retry-join=127.0.0.1:${s1.serf}`, '-retry-interval=200ms', '-log-level=warn'];
    for (const n of ['ps2', 'ps3']) agents.push(await startAgent({ name: n, args: ['-server', '-bootstrap-expect=3', ...join] }));
    const c1 = await startAgent({ name: 'pc1', args: join });
    const c2 = await startAgent({ name: 'pc2', args: join });
    agents.push(c1, c2);
    await eventually('leader', 20_000, async () => (await c2.api<string>('/v1/status/leader')) !== '');
    const lat: number[] = [];
    for (let i = 0; i < TRIALS; i++) {
      const name = `svc-${i}`;
      const before = await call(c2.http, 'GET', `/v1/catalog/service/${name}`);
      const seen = (async () => {
        let idx = before.index;
        for (;;) {
          const r = await call(c2.http, 'GET', `/v1/catalog/service/${name}?index=${idx}&wait=10s`);
          if (JSON.parse(r.body).length > 0) return performance.now();
          idx = r.index;
        }
      })();
      await new Promise((r) => setTimeout(r, 20));
      const t0 = performance.now();
      const reg = await call(c1.http, 'PUT', '/v1/agent/service/register', JSON.stringify({ Name: name, Port: 1000 + i }));
      if (reg.status !== 200) throw new Error(`register answered ${reg.status}: ${reg.body}`);
      lat.push((await seen) - t0);
    }
    console.log(`propagation: register on client 1 → visible on client 2 over ${TRIALS} trials: p50 ${ms(pct(lat, 50))}, p99 ${ms(pct(lat, 99))}, max ${ms(Math.max(...lat))}`);
  } finally {
    for (const a of agents) a.cleanup();
  }
}

console.log(`load average at start: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
await watchers();
await propagation();
keepAlive.destroy();
