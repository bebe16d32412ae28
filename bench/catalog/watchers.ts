/**
 * Catalog HTTP benchmark (run alone: `npx tsc -b && node dist/bench/catalog/watchers.js`).
 *
 * 1. Blocking watchers: N clients block on `/v1/health/service/web?index=…`; a change to
 *    another service must wake none of them; a change to `web` must wake all of them. Prints
 *    the wake-up latency (min/p50/p99/max) measured from the write to the complete answer at
 *    the client. Env CLIENT picks the watcher client (see below); PROFILE=file writes a CPU
 *    profile of the server process during the wake-up. Then the floor: a bare `node:http`
 *    server answering as many held requests with the same bytes in one loop.
 * 2. Read throughput of `/v1/health/service/web?passing` (3 instances) against a bare Node
 *    `http` server answering the same bytes on the same machine in the same run (the
 *    ceiling), as requests/s and a ratio.
 *
 * The server runs in this process over real sockets on 127.0.0.1, with the single-node
 * LocalApplier behind the catalog endpoint (no Raft).
 */
import { Agent, createServer, request, type Server, type ServerResponse } from 'node:http';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import type { AddressInfo } from 'node:net';
import { createHttpApp } from '../../agent/http/app.js';
import { buildConfig } from '../../agent/config/config.js';
import { silentLogger } from '../../agent/runtime/logger.js';
import { VERSION } from '../../agent/version.js';
import { Telemetry } from '../../agent/telemetry/registry.js';
import { CatalogEndpoint } from '../../catalog/endpoint.js';
import { LocalApplier } from '../../catalog/local-applier.js';
import { realTimers } from '../../catalog/timers.js';
import { TimerWheel } from '../../catalog/timer-wheel.js';
import { CommandType, StateStore, type RegisterRequest } from '../../catalog/state/index.js';
import { epochNow, openWatchers, spawnWatchers, type Watchers } from '../lib/watch-client.js';

const WATCHERS = Number(process.env['WATCHERS'] ?? 1000);
const READ_SECONDS = Number(process.env['READ_SECONDS'] ?? 3);
const CONCURRENCY = 32;
/** Watcher client: `procs` (default; raw sockets in CLIENT_PROCS child processes), `raw` (raw sockets here), `http` (node:http here, the old method). */
const CLIENT = process.env['CLIENT'] ?? 'procs';
const CLIENT_PROCS = Number(process.env['CLIENT_PROCS'] ?? 2);
/** Woken reads answered per event-loop turn (CatalogEndpoint's wakeBatch); unset = its default. */
const WAKE_BATCH = process.env['WAKE_BATCH'] ? Number(process.env['WAKE_BATCH']) : undefined;
/** When set, a V8 CPU profile of the wake-up (from the write to the last answer) is written to this file. */
const PROFILE = process.env['PROFILE'];

const agent = new Agent({ keepAlive: true, maxSockets: Infinity });

function get(port: number, path: string): Promise<{ status: number; index: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, index: String(res.headers['x-consul-index'] ?? ''), body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

function httpWatchers(port: number, path: string): Watchers {
  let answered = 0;
  const results = Array.from({ length: WATCHERS }, () =>
    get(port, path).then((r) => {
      answered++;
      return { status: r.status, index: r.index, bytes: r.body.length, at: epochNow() };
    }),
  );
  const done = Promise.all(results);
  done.catch(() => undefined);
  return { ready: Promise.resolve(), answered: () => answered, done, close: () => undefined };
}

function listen(server: Server): Promise<number> {
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r((server.address() as AddressInfo).port)));
}

const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

async function throughput(port: number, path: string, seconds: number): Promise<number> {
  let n = 0;
  const until = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < until) {
        const r = await get(port, path);
        if (r.status !== 200) throw new Error(`bench: ${path} answered ${r.status}`);
        n++;
      }
    }),
  );
  return n / seconds;
}

function startWatchers(port: number, path: string): Watchers {
  return CLIENT === 'raw' ? openWatchers(port, path, WATCHERS) : CLIENT === 'procs' ? spawnWatchers(port, path, WATCHERS, CLIENT_PROCS) : httpWatchers(port, path);
}

/**
 * The floor for part 1: a bare `node:http` server holds WATCHERS requests and answers all of
 * them in one synchronous loop with `body` and Herald's headers; latency from that loop's
 * start to each complete answer at the client, measured with the same client.
 */
async function bareWake(body: Buffer, index: string): Promise<void> {
  const held: ServerResponse[] = [];
  const bare = createServer((_req, res) => void held.push(res));
  const port = await listen(bare);
  const w = startWatchers(port, `/v1/health/service/web?index=${index}&wait=60s`);
  await w.ready;
  for (let i = 0; i < 200 && held.length < WATCHERS; i++) await new Promise((r) => setTimeout(r, 25));
  if (held.length < WATCHERS) throw new Error(`bench: only ${held.length} of ${WATCHERS} requests reached the bare server`);
  await new Promise((r) => setTimeout(r, 200));
  const t0 = epochNow();
  const cpu0 = process.cpuUsage();
  for (const res of held) {
    res.writeHead(200, {
      'Content-Type': 'application/json; charset=utf-8',
      'X-Consul-Index': index,
      'X-Consul-KnownLeader': 'true',
      'X-Consul-LastContact': '0',
      'Content-Length': body.length,
    });
    res.end(body);
  }
  const results = await w.done;
  const cpu = process.cpuUsage(cpu0);
  const lat = results.map((r) => r.at - t0).sort((a, b) => a - b);
  console.log(
    `floor: bare node:http answering ${WATCHERS} held requests in one loop (same bytes, same client): min ${lat[0]!.toFixed(1)} ms, p50 ${pct(lat, 50).toFixed(1)} ms, p99 ${pct(lat, 99).toFixed(1)} ms, max ${lat[lat.length - 1]!.toFixed(1)} ms; server CPU ${((cpu.user + cpu.system) / 1000).toFixed(1)} ms`,
  );
  w.close();
  bare.closeAllConnections();
  await new Promise((r) => bare.close(r));
}

async function main(): Promise<void> {
  const store = new StateStore();
  const catalog = new CatalogEndpoint({ store, propose: new LocalApplier(store).propose, timers: new TimerWheel({ base: realTimers, now: () => performance.now() }), rng: Math.random, wakeBatch: WAKE_BATCH });
  const app = createHttpApp({
    config: buildConfig({ dev: true, raw: { node_name: 'bench' } }),
    nodeId: '00000000-0000-0000-0000-000000000001',
    version: VERSION,
    logger: silentLogger(),
    status: { leader: () => '127.0.0.1:8300', peers: () => ['127.0.0.1:8300'] },
    catalog,
    // As in the agent: every request is sampled into the metrics registry.
    telemetry: new Telemetry(),
  });
  const server = createServer(app.callback());
  const sent: number[] = [];
  server.on('request', (req, res) => {
    if (req.url?.includes('wait=')) res.on('finish', () => sent.push(epochNow()));
  });
  server.maxConnections = WATCHERS * 2;
  const port = await listen(server);
  const reg = (req: RegisterRequest) => catalog.write({ type: CommandType.Register, req });
  for (let i = 1; i <= 3; i++) {
    await reg({ Node: `n${i}`, Address: `192.0.2.${i}`, Service: { ID: `web-${i}`, Service: 'web', Port: 8080, Tags: ['v1'] }, Check: { Name: 'alive', CheckID: `web-${i}-alive`, ServiceID: `web-${i}`, Status: 'passing' } });
  }

  // 1. blocking watchers
  const first = await get(port, '/v1/health/service/web');
  const path = `/v1/health/service/web?index=${first.index}&wait=60s`;
  const w = startWatchers(port, path);
  await w.ready;
  for (let i = 0; i < 200 && store.watchCount < WATCHERS; i++) await new Promise((r) => setTimeout(r, 25));
  if (store.watchCount < WATCHERS) throw new Error(`bench: only ${store.watchCount} of ${WATCHERS} watchers are blocked`);
  await reg({ Node: 'n9', Address: '192.0.2.9', Service: { ID: 'db-1', Service: 'db', Port: 5432 } });
  await new Promise((r) => setTimeout(r, 500));
  const wokenByOther = w.answered();
  const profiler = PROFILE ? new Session() : undefined;
  if (profiler) {
    profiler.connect();
    await profiler.post('Profiler.enable');
    await profiler.post('Profiler.setSamplingInterval', { interval: 100 });
    await profiler.post('Profiler.start');
  }
  const changeAt = epochNow();
  const cpu0 = process.cpuUsage();
  await reg({ Node: 'n4', Address: '192.0.2.4', Service: { ID: 'web-4', Service: 'web', Port: 8080 } });
  const results = await w.done;
  const cpu = process.cpuUsage(cpu0);
  if (profiler) {
    const { profile } = await profiler.post('Profiler.stop');
    writeFileSync(PROFILE!, JSON.stringify(profile));
    profiler.disconnect();
    console.log(`cpu profile of the wake-up written to ${PROFILE}`);
  }
  w.close();
  const lat = results.map((r) => r.at - changeAt).sort((a, b) => a - b);
  const sentLat = sent.map((t) => t - changeAt).sort((a, b) => a - b);
  const moved = results.every((r) => r.status === 200 && Number(r.index) > Number(first.index));
  console.log(`watchers (client ${CLIENT}): ${WATCHERS} blocked on web; a change to db woke ${wokenByOther}; a change to web woke ${results.length} (all 200 with a newer index: ${moved})`);
  console.log(`answer written by the server after the write: min ${sentLat[0]!.toFixed(1)} ms, p50 ${pct(sentLat, 50).toFixed(1)} ms, p99 ${pct(sentLat, 99).toFixed(1)} ms, max ${sentLat[sentLat.length - 1]!.toFixed(1)} ms`);
  console.log(`server process CPU from the write to the last answer: ${((cpu.user + cpu.system) / 1000).toFixed(1)} ms (user ${(cpu.user / 1000).toFixed(1)}, system ${(cpu.system / 1000).toFixed(1)})`);
  console.log(`answer received by the client after the write: min ${lat[0]!.toFixed(1)} ms, p50 ${pct(lat, 50).toFixed(1)} ms, p99 ${pct(lat, 99).toFixed(1)} ms, max ${lat[lat.length - 1]!.toFixed(1)} ms (fan-out p99 - min ${(pct(lat, 99) - lat[0]!).toFixed(1)} ms)`);

  // 1b. the floor: a bare node:http server answering as many held requests with the same bytes
  const woken = await get(port, '/v1/health/service/web');
  await bareWake(Buffer.from(woken.body), woken.index);

  // 2. read throughput against a bare http server returning the same bytes (READ_SECONDS=0 skips it)
  if (READ_SECONDS <= 0) {
    agent.destroy();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    return;
  }
  await catalog.write({ type: CommandType.Deregister, req: { Node: 'n4' } });
  const sample = await get(port, '/v1/health/service/web?passing');
  const bytes = Buffer.from(sample.body);
  const bare = createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json', 'X-Consul-Index': sample.index, 'Content-Length': bytes.length });
    res.end(bytes);
  });
  const barePort = await listen(bare);
  const bareRps = await throughput(barePort, '/v1/health/service/web?passing', READ_SECONDS);
  const rps = await throughput(port, '/v1/health/service/web?passing', READ_SECONDS);
  console.log(`reads of /v1/health/service/web?passing (3 instances, ${bytes.length} bytes), ${CONCURRENCY} concurrent keep-alive clients, ${READ_SECONDS} s each:`);
  console.log(`  bare node:http  ${bareRps.toFixed(0)} req/s (ceiling)`);
  console.log(`  herald          ${rps.toFixed(0)} req/s  (${((rps / bareRps) * 100).toFixed(0)}% of the ceiling)`);

  agent.destroy();
  server.closeAllConnections();
  bare.closeAllConnections();
  await Promise.all([new Promise((r) => server.close(r)), new Promise((r) => bare.close(r))]);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
