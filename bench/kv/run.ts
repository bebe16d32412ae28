/**
 * KV write benchmark: a 3-server Herald cluster of real processes (Raft WAL on disk, one
 * durable O_DSYNC write per batch) against the etcd anchor, measured in the same run with the same wrk load.
 *
 *   node dist/bench/kv/run.js [seconds]      (default 10 s per measurement)
 *
 * Environment: HERALD_BENCH_PROF=<dir> writes a CPU profile per server; HERALD_BENCH_QUICK=1
 * runs only the 32-connection herald measurement and the anchor; HERALD_BENCH_NO_ANCHOR=1
 * skips the anchor; HERALD_BENCH_CONNS=<n> changes the headline run's connections (experiments); HERALD_BENCH_WARMUP=<s> runs an unmeasured 32-connection load of that many
 * seconds before the herald measurements (default none: the anchor is measured cold too); HERALD_BENCH_BIN=<file> starts that bundle instead of dist/herald.mjs; HERALD_TRACE_KV=<file> (passed on to the servers) makes each server write
 * its write-path trace summary to <file>.<pid>.json after the 32-connection run; HERALD_BENCH_IDLE=<s> waits that long
 * with no load before measuring; HERALD_BENCH_THREADS=1 prints each server's CPU during the headline run split into
 * its main thread and the rest (V8's compiler and GC threads, libuv's pool); HERALD_BENCH_STDOUT=1 passes the servers'
 * stdout through (for V8 tracing flags in HERALD_BENCH_NODE_ARGS).
 *
 * The headline line also reports each server's CPU per 1000 writes and its system calls per
 * write ([read-type, write-type], from /proc/<pid>/io), leader first.
 *
 * Measurements (wrk, --latency, 2 threads):
 * - herald PUT /v1/kv/bench/key with 32 connections (the headline), then
 *   `bash <repo>/../shared/anchors/etcd-writes.sh 32 <seconds>` right after it;
 * - herald PUT with 1 and 128 connections;
 * - herald GET /v1/kv/bench/key?consistent with 32 connections (ReadIndex reads).
 * Requests go to the leader's HTTP port (a follower would forward over RPC).
 * Prints one JSON line per measurement and a summary with herald/etcd writes/s (target ≥ 1.0).
 */
import { freePort, HERALD_BIN, statCpuMs } from '../lib/agents.js';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root, from dist/bench/kv/. */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** HERALD_BENCH_BIN=<file> runs another build of the bundle (for before/after comparisons). */
const MAIN = process.env['HERALD_BENCH_BIN'] ?? HERALD_BIN;

function run(cmd: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((res, rej) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) rej(new Error(`bench: ${cmd} ${args.join(' ')} failed: ${err.message}\n${stderr}`));
      else res(`${stdout}\n${stderr}`);
    });
  });
}

interface WrkResult {
  rps: number;
  p50Ms: number | null;
  p99Ms: number | null;
  non2xx: number;
}

function ms(v: string, unit: string): number {
  const n = Number(v);
  return unit === 'us' ? n / 1000 : unit === 's' ? n * 1000 : unit === 'm' ? n * 60_000 : n;
}

function parseWrk(out: string): WrkResult {
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
  const p = (q: string): number | null => {
    const m = new RegExp(`^\\s*${q}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(out);
    return m ? ms(m[1]!, m[2]!) : null;
  };
  const non = /Non-2xx or 3xx responses:\s+(\d+)/.exec(out);
  return { rps: rps ? Number(rps[1]) : 0, p50Ms: p('50'), p99Ms: p('99'), non2xx: non ? Number(non[1]) : 0 };
}

async function wrk(url: string, script: string, conns: number, seconds: number): Promise<WrkResult> {
  const threads = Math.min(conns, 2);
  return parseWrk(await run('wrk', [`-t${threads}`, `-c${conns}`, `-d${seconds}s`, '-s', script, '--latency', url], (seconds + 60) * 1000));
}

interface Server {
  name: string;
  proc: ChildProcess;
  http: number;
  serf: number;
}

/** Starts a server; retries with fresh ports when one was taken in between (the machine is shared). */
async function startServer(dir: string, name: string, join_: number | undefined): Promise<Server> {
  for (let attempt = 1; ; attempt++) {
    const s = await startServerOnce(dir, name, join_);
    const up = await waitFor(`${name} HTTP`, 15_000, async () => {
      if (s.proc.exitCode !== null) return false;
      await fetch(`http://127.0.0.1:${s.http}/v1/agent/self`);
      return true;
    });
    if (up) return s;
    if (attempt >= 3) throw new Error(`bench: ${name} did not start`);
  }
}

async function startServerOnce(dir: string, name: string, join_: number | undefined): Promise<Server> {
  const [http, serf, server] = [await freePort(), await freePort(), await freePort()];
  const cfg = join(dir, `${name}.json`);
  const snapThreshold = process.env['HERALD_BENCH_SNAPSHOT_THRESHOLD'];
  writeFileSync(cfg, JSON.stringify({ gossip_lan: { profile: 'local' }, ...(snapThreshold ? { raft_snapshot_threshold: Number(snapThreshold) } : {}) }));
  const args = [
    MAIN, 'agent', '-server', '-bootstrap-expect=3', `-node=${name}`, `-data-dir=${join(dir, name)}`, '-bind=127.0.0.1', '-client=127.0.0.1',
    `-http-port=${http}`, `-serf-lan-port=${serf}`, `-server-port=${server}`, '-dns-port=-1', `-config-file=${cfg}`, '-log-level=warn',
    ...(join_ !== undefined ? [`-retry-join=127.0.0.1:${join_}`, '-retry-interval=200ms'] : []),
  ];
  // HERALD_BENCH_PROF=<dir>: write a V8 CPU profile per server (on exit) for finding hot spots.
  const prof = process.env['HERALD_BENCH_PROF'];
  const node = prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`, `--cpu-prof-name=${name}.cpuprofile`] : [];
  // HERALD_BENCH_NODE_ARGS="--flag ...": extra Node/V8 flags for the servers (experiments).
  const extra = (process.env['HERALD_BENCH_NODE_ARGS'] ?? '').split(' ').filter((x) => x !== '');
  const proc = spawn(process.execPath, [...node, ...extra, ...args], { stdio: ['ignore', process.env['HERALD_BENCH_STDOUT'] === '1' ? 'inherit' : 'ignore', 'inherit'] });
  return { name, proc, http, serf };
}

/** User + system CPU time of a process so far, in ms (system only with HERALD_BENCH_SYS=1; Linux /proc; NaN elsewhere). */
function cpuMs(pid: number | undefined): number {
  const c = statCpuMs(`/proc/${pid}/stat`);
  if (c === undefined) return NaN;
  return process.env['HERALD_BENCH_SYS'] === '1' ? c[1] : c[0] + c[1];
}

/** CPU ms (user + system) of each thread of a process, by thread id: [thread name, ms] (Linux /proc). */
function threadCpuMs(pid: number | undefined): Map<string, [string, number]> {
  const out = new Map<string, [string, number]>();
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const dir = `/proc/${pid}/task/${tid}`;
      const c = statCpuMs(`${dir}/stat`);
      if (c !== undefined) out.set(tid, [readFileSync(`${dir}/comm`, 'utf8').trim(), c[0] + c[1]]);
    }
  } catch {
    /* not Linux, or the process is gone */
  }
  return out;
}

/** [read-type, write-type] system calls of a process so far (Linux /proc/<pid>/io: syscr, syscw; NaN elsewhere). */
function ioCounts(pid: number | undefined): number[] {
  try {
    const f = readFileSync(`/proc/${pid}/io`, 'utf8');
    const get = (k: string): number => Number(new RegExp(`^${k}: (\\d+)$`, 'm').exec(f)?.[1] ?? NaN);
    return [get('syscr'), get('syscw')];
  } catch {
    return [NaN, NaN];
  }
}

async function waitFor<T>(what: string, ms: number, f: () => Promise<T | undefined>): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      const v = await f();
      if (v !== undefined) return v;
    } catch {
      /* not up yet */
    }
    if (Date.now() > until) throw new Error(`bench: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function main(): Promise<void> {
  const seconds = Number(process.argv[2] ?? 10);
  const dir = mkdtempSync(join(tmpdir(), 'herald-kv-bench-'));
  const servers: Server[] = [];
  try {
    servers.push(await startServer(dir, 'b1', undefined));
    servers.push(await startServer(dir, 'b2', servers[0]!.serf));
    servers.push(await startServer(dir, 'b3', servers[0]!.serf));
    const leaderAddr = await waitFor('a leader', 30_000, async () => {
      const r = await fetch(`http://127.0.0.1:${servers[0]!.http}/v1/status/leader`);
      const l = (await r.json()) as string;
      return l ? l : undefined;
    });
    const leader = await waitFor('the leader to be identified', 30_000, async () => {
      for (const s of servers) {
        const conf = (await (await fetch(`http://127.0.0.1:${s.http}/v1/operator/raft/configuration`)).json()) as { Servers: Array<{ Node: string; Leader: boolean }> };
        const l = conf.Servers.find((x) => x.Leader);
        if (l) return servers.find((x) => x.name === l.Node);
      }
      return undefined;
    });
    await waitFor('a first write', 30_000, async () => ((await fetch(`http://127.0.0.1:${leader.http}/v1/kv/bench/key`, { method: 'PUT', body: 'warm' })).ok ? true : undefined));
    const base = `http://127.0.0.1:${leader.http}`;
    const put = join(dir, 'put.lua');
    writeFileSync(put, 'wrk.method = "PUT"\nwrk.path = "/v1/kv/bench/key"\nwrk.body = "value-1234567890"\n');
    const get = join(dir, 'get.lua');
    writeFileSync(get, 'wrk.method = "GET"\nwrk.path = "/v1/kv/bench/key?consistent"\n');
    console.log(JSON.stringify({ setup: '3 herald servers, Raft WAL on disk (one O_DSYNC write per batch)', leader: leader.name, leaderRaft: leaderAddr }));

    // HERALD_BENCH_WARMUP=<s>: an unmeasured 32-connection run first, so the measured one sees
    // JIT-compiled code (not the default: the etcd anchor is measured cold, like herald).
    // HERALD_BENCH_IDLE=<s>: wait that long, with no load, before measuring (experiments: start-up work vs JIT warm-up).
    const idle = Number(process.env['HERALD_BENCH_IDLE'] ?? 0);
    if (idle > 0) await new Promise((r) => setTimeout(r, idle * 1000));
    const warmup = Number(process.env['HERALD_BENCH_WARMUP'] ?? 0);
    if (warmup > 0) console.log(JSON.stringify({ warmup: `${warmup} s, not measured`, ...(await wrk(base, put, 32, warmup)) }));
    const trace = process.env['HERALD_TRACE_KV'];
    if (trace) {
      // Drop what the start-up and the warm-up recorded.
      for (const s of servers) s.proc.kill('SIGUSR2');
      await new Promise((r) => setTimeout(r, 500));
    }
    const cpu0 = servers.map((s) => cpuMs(s.proc.pid));
    const io0 = servers.map((s) => ioCounts(s.proc.pid));
    const threads0 = servers.map((s) => threadCpuMs(s.proc.pid));
    const w32 = await wrk(base, put, Number(process.env['HERALD_BENCH_CONNS'] ?? 32), seconds);
    const cpu = servers.map((s, i) => cpuMs(s.proc.pid) - cpu0[i]!);
    const io = servers.map((s, i) => ioCounts(s.proc.pid).map((v, j) => v - io0[i]![j]!));
    if (process.env['HERALD_BENCH_THREADS'] === '1') {
      // CPU ms of each server's threads during the measurement, summed by thread name (main
      // thread, V8 workers: compiler and GC, libuv pool: disk writes), leader first.
      for (const s of [leader, ...servers.filter((x) => x !== leader)]) {
        const i = servers.indexOf(s);
        const now = threadCpuMs(s.proc.pid);
        const byName: Record<string, number> = {};
        for (const [tid, [name, ms]] of now) {
          // Node's worker threads are all named like the main one: the main thread is the one whose id is the pid.
          const k = tid === String(s.proc.pid) ? 'main' : `other ${name}`;
          byName[k] = (byName[k] ?? 0) + ms - (threads0[i]!.get(tid)?.[1] ?? 0);
        }
        console.log(JSON.stringify({ threadsCpuMs: s.name, ...Object.fromEntries(Object.entries(byName).map(([k, v]) => [k, Math.round(v)])) }));
      }
    }
    const writes = w32.rps * seconds;
    // CPU per 1000 writes of each server (leader first): a figure much less sensitive to the
    // machine's other load than latency is.
    const cpuPer1k = [leader, ...servers.filter((s) => s !== leader)].map((s) => Math.round((cpu[servers.indexOf(s)]! / writes) * 1000 * 10) / 10);
    // System calls per write (read-type, write-type) of each server, leader first: batching shows here.
    const sysPerWrite = [leader, ...servers.filter((s) => s !== leader)].map((s) => io[servers.indexOf(s)]!.map((v) => Math.round((v / writes) * 100) / 100));
    console.log(JSON.stringify({ measurement: 'herald PUT /v1/kv, 32 connections', ...w32, cpuMsPer1kWrites: cpuPer1k, syscallsPerWrite: sysPerWrite }));
    if (trace) {
      for (const s of servers) s.proc.kill('SIGUSR2');
      await new Promise((r) => setTimeout(r, 3000));
      console.log(JSON.stringify({ trace: `${trace}.<pid>.json`, pids: servers.map((s) => ({ name: s.name, pid: s.proc.pid })) }));
    }
    const quick = process.env['HERALD_BENCH_QUICK'] === '1';
    const none: WrkResult = { rps: 0, p50Ms: null, p99Ms: null, non2xx: 0 };
    let etcd = none;
    if (process.env['HERALD_BENCH_NO_ANCHOR'] !== '1') {
      const anchorScript = resolve(ROOT, '..', 'shared', 'anchors', 'etcd-writes.sh');
      etcd = parseWrk(await run('bash', [anchorScript, '32', String(seconds)], (seconds + 180) * 1000));
      console.log(JSON.stringify({ measurement: 'etcd POST /v3/kv/put, 32 connections (anchor)', ...etcd }));
    }
    let [w1, w128, r32] = [none, none, none];
    if (!quick) {
      w1 = await wrk(base, put, 1, seconds);
      console.log(JSON.stringify({ measurement: 'herald PUT /v1/kv, 1 connection', ...w1 }));
      w128 = await wrk(base, put, 128, seconds);
      console.log(JSON.stringify({ measurement: 'herald PUT /v1/kv, 128 connections', ...w128 }));
      r32 = await wrk(base, get, 32, seconds);
      console.log(JSON.stringify({ measurement: 'herald GET /v1/kv?consistent, 32 connections', ...r32 }));
    }

    const ratio = etcd.rps > 0 ? w32.rps / etcd.rps : 0;
    const f = (v: number | null): string => (v === null ? '?' : `${v.toFixed(2)} ms`);
    console.log(`herald writes/s (32 conns): ${w32.rps.toFixed(0)}  etcd writes/s: ${etcd.rps.toFixed(0)}`);
    console.log(`ratio herald/etcd writes/s: ${ratio.toFixed(3)} (target >= 1.0)`);
    console.log(`p99: herald ${f(w32.p99Ms)}, etcd ${f(etcd.p99Ms)}  p50: herald ${f(w32.p50Ms)}, etcd ${f(etcd.p50Ms)}`);
    console.log(`herald writes/s: 1 conn ${w1.rps.toFixed(0)} (p99 ${f(w1.p99Ms)}), 128 conns ${w128.rps.toFixed(0)} (p99 ${f(w128.p99Ms)}); consistent reads/s (32 conns) ${r32.rps.toFixed(0)} (p99 ${f(r32.p99Ms)})`);
    const bad = w32.non2xx + w1.non2xx + w128.non2xx + r32.non2xx;
    if (bad > 0) console.log(`WARNING: ${bad} non-2xx responses from herald`);
  } finally {
    const sig = process.env['HERALD_BENCH_PROF'] ? 'SIGINT' : 'SIGKILL';
    await Promise.all(servers.map((s) => new Promise<void>((r) => {
      if (s.proc.exitCode !== null) return r();
      const t = setTimeout(() => s.proc.kill('SIGKILL'), 10_000);
      s.proc.once('exit', () => (clearTimeout(t), r()));
      s.proc.kill(sig);
    })));
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
