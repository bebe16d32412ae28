/**
 * Catalog benchmark on real agent processes (run alone: `npx tsc -b && node dist/bench/catalog/cluster.js`).
 *
 * 1. Watchers: WATCHERS (default 1000) blocking queries on `/v1/health/service/web` against a
 *    dev agent process. A change to another service must wake none of them; then a change to
 *    `web` must wake all of them: wake-up latency min/p50/p99/max from the start of the
 *    register request to the complete answer at the watcher (goal p99 ≤ 50 ms). Env CLIENT
 *    picks the watcher client (see below).
 * 2. Propagation: 3 servers + 2 clients; a service registered on client 1 through the agent
 *    API, observed by a blocking catalog query on client 2: latency from the register request
 *    to the answer on client 2, over TRIALS (default 20) trials; TRIALS=0 skips it.
 *
 * The bench process itself is the load generator, on the same 2-core machine.
 */
import { Agent as HttpAgent, request } from 'node:http';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { startAgent, eventually, type AgentProcess } from '../../test/lib/agent-process.js';
import { epochNow, openWatchers, spawnWatchers, type WatchResult, type Watchers } from '../lib/watch-client.js';

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

/**
 * How the watchers are driven (env CLIENT):
 * - `procs` (default): raw TCP sockets with minimal HTTP parsing, spread over CLIENT_PROCS
 *   (default 2) child processes;
 * - `raw`: the same raw sockets in the bench process;
 * - `http`: `node:http` requests in the bench process (the method used before 2026-11-26
 *   15:00; its response parsing on the same 2 cores inflated the latency).
 */
const CLIENT = process.env['CLIENT'] ?? 'procs';
const CLIENT_PROCS = Number(process.env['CLIENT_PROCS'] ?? 2);

/** User + system CPU of process `pid` in ms, from /proc (Linux; clock ticks of 10 ms); NaN elsewhere. */
function processCpuMs(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return NaN;
  }
}

function httpWatchers(port: number, path: string, count: number): Watchers {
  let answered = 0;
  const results = Array.from({ length: count }, () =>
    call(port, 'GET', path).then((r) => {
      answered++;
      return { status: r.status, index: r.index, bytes: r.body.length, at: epochNow() };
    }),
  );
  const done = Promise.all(results);
  done.catch(() => undefined);
  return { ready: new Promise((r) => setTimeout(r, 1000)), answered: () => answered, done, close: () => keepAlive.destroy() };
}

function startWatchers(port: number, path: string): Watchers {
  if (CLIENT === 'http') return httpWatchers(port, path, WATCHERS);
  if (CLIENT === 'raw') return openWatchers(port, path, WATCHERS);
  if (CLIENT === 'procs') return spawnWatchers(port, path, WATCHERS, CLIENT_PROCS);
  throw new Error(`bench: unknown CLIENT "${CLIENT}" (procs, raw or http)`);
}

async function watchers(): Promise<void> {
  const a = await startAgent({ name: 'bench-dev', args: ['-server', '-bootstrap', '-log-level=warn'] });
  let w: Watchers | undefined;
  try {
    await eventually('leader', 10_000, async () => (await a.api<string>('/v1/status/leader')) !== '');
    await call(a.http, 'PUT', '/v1/agent/service/register', JSON.stringify({ Name: 'web', Port: 80 }));
    await call(a.http, 'PUT', '/v1/agent/service/register', JSON.stringify({ Name: 'other', Port: 81 }));
    await eventually('web registered', 10_000, async () => JSON.parse((await call(a.http, 'GET', '/v1/health/service/web')).body).length === 1);
    const first = await call(a.http, 'GET', '/v1/health/service/web');
    const index = first.index;
    w = startWatchers(a.http, `/v1/health/service/web?index=${index}&wait=60s`);
    await w.ready;
    await new Promise((r) => setTimeout(r, 1500));
    await call(a.http, 'PUT', '/v1/agent/service/register', JSON.stringify({ Name: 'other', Port: 82 }));
    await new Promise((r) => setTimeout(r, 1000));
    const wokenByOther = w.answered();
    const cpu0 = processCpuMs(a.proc.pid);
    const t0 = epochNow();
    await call(a.http, 'PUT', '/v1/agent/service/register', JSON.stringify({ Name: 'web', Port: 8080 }));
    const registerMs = epochNow() - t0;
    const results = await Promise.race([w.done, new Promise<WatchResult[]>((_, rej) => setTimeout(() => rej(new Error(`bench: only ${w!.answered()} of ${WATCHERS} watchers answered in 30 s`)), 30_000))]);
    const agentCpu = processCpuMs(a.proc.pid) - cpu0;
    const lat = results.map((r) => r.at - t0);
    const moved = results.every((r) => r.status === 200 && Number(r.index) > Number(index));
    console.log(`watchers (client ${CLIENT}${CLIENT === 'procs' ? ` x${CLIENT_PROCS}` : ''}): ${WATCHERS} blocked on web; woken by a change to another service: ${wokenByOther}`);
    console.log(
      `watchers: woken by the change to web: ${results.length}/${WATCHERS} (all 200 with a newer index: ${moved}); latency min ${ms(Math.min(...lat))}, p50 ${ms(pct(lat, 50))}, p99 ${ms(pct(lat, 99))}, max ${ms(Math.max(...lat))}; fan-out (p99 - min) ${ms(pct(lat, 99) - Math.min(...lat))}; the register request itself took ${ms(registerMs)}; agent CPU from the register to the last answer ${ms(agentCpu)} (10 ms ticks)`,
    );
  } finally {
    w?.close();
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
    // Measure a settled cluster: both clients registered by the leader's reconciliation and
    // through their first anti-entropy sync (the first trial otherwise includes that).
    await eventually('both clients in the catalog', 20_000, async () => {
      const nodes = await c2.api<Array<{ Node: string }>>('/v1/catalog/nodes');
      return ['pc1', 'pc2'].every((n) => nodes.some((x) => x.Node === n));
    });
    await eventually('client 1 synced', 20_000, async () => (await c2.api<Record<string, unknown>>('/v1/catalog/node/pc1')) !== null);
    const lat: number[] = [];
    // Trial -1 warms up (a client's first registration after start-up also waits for its
    // first anti-entropy round, ~0.3–0.8 s); it is not counted.
    for (let i = -1; i < TRIALS; i++) {
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
      const took = (await seen) - t0;
      if (i >= 0) lat.push(took);
      else console.log(`propagation: warm-up trial (not counted) ${ms(took)}`);
    }
    const slowest = lat.indexOf(Math.max(...lat));
    console.log(`propagation: register on client 1 → visible on client 2 over ${TRIALS} trials: p50 ${ms(pct(lat, 50))}, p99 ${ms(pct(lat, 99))}, max ${ms(Math.max(...lat))} (trial ${slowest + 1})`);
  } finally {
    for (const a of agents) a.cleanup();
  }
}

console.log(`load average at start: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
await watchers();
if (TRIALS > 0) await propagation();
keepAlive.destroy();
