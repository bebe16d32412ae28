/**
 * Gossip benchmark: N real `herald agent` processes (clients, LAN gossip profile = memberlist's
 * LAN timings) against HashiCorp Serf run by `../shared/anchors/serf-gossip.sh` in the same
 * run, measured the same way as that script:
 *
 * - converge: from the moment the seed answers until three observers (first, middle, last)
 *   see all N alive; the other N-1 are started at once, each joining the seed;
 * - detect failed (K trials): SIGKILL member N-k, time until observers 0 and N/2-1 report it
 *   `failed` (Status 4 in /v1/agent/members);
 * - leave seen: `PUT /v1/agent/leave` on member N-K-1, time until the same observers report
 *   it `left` (Status 3).
 *
 * Polling is every 50 ms, sequential, like the script. Also reported: each agent's RSS after
 * convergence, and gossip bytes/s and CPU per agent over a steady window (`--rate-window` s,
 * starting `--settle` s after convergence so that join broadcasts have died down).
 *
 * A second, herald-only convergence figure starts all N processes first and then makes them
 * join at once, to separate Node's start-up time (hundreds of ms per process on a loaded
 * 2-core machine) from the protocol. Two floors are measured in the same run: N-1 bare
 * `node -e 0` processes, and N-1 `herald version` processes, started at once until all exit.
 *
 *   node dist/bench/gossip/run.js [N...] [--trials 3] [--rate-window 5] [--settle 5] [--no-anchor] [--no-prestarted] [--prestarted-runs 5]
 *   node dist/bench/gossip/run.js [N...] --prestarted-only R     (only the pre-started convergence, R times)
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { AgentFleet, cpuMs, freePort, HERALD_BIN, pollUntil, REPO_ROOT, rssKb, sleep, type AgentPorts, type BenchAgent } from '../lib/agents.js';
import { loadLine, markdownTable, median, ratio } from '../lib/report.js';

const ANCHOR = join(REPO_ROOT, '..', 'shared', 'anchors', 'serf-gossip.sh');
const POLL_MS = 50;
const CONVERGE_LIMIT_MS = 120_000;
const DETECT_LIMIT_MS = 90_000;
const LEAVE_LIMIT_MS = 30_000;
const ANCHOR_LIMIT_MS = 300_000;

interface Member {
  Name: string;
  Status: number;
}

interface Measured {
  convergeMs: number;
  /** Herald only: gossip convergence with the processes already running (median of the runs). */
  convergePrestartedMs?: number;
  convergePrestartedRuns?: number[];
  /** Herald only: N-1 bare `node -e 0` processes started at once, until all have exited (median of 3). */
  nodeFloorMs?: number;
  /** Herald only: N-1 `herald version` processes started at once, until all have exited (median of 3). */
  cliFloorMs?: number;
  detectMs: number[];
  leaveMs: number;
  /** kB per agent after convergence. */
  rssKb: number[];
  /** Per agent over the steady window. */
  sentBps?: number[];
  recvBps?: number[];
  cpuPct?: number[];
}

async function aliveSeen(a: BenchAgent): Promise<number> {
  return (await a.get<Member[]>('/v1/agent/members', 2000)).filter((m) => m.Status === 1).length;
}

async function statusOf(a: BenchAgent, name: string): Promise<number | undefined> {
  return (await a.get<Member[]>('/v1/agent/members', 2000)).find((m) => m.Name === name)?.Status;
}

/** Each agent's view (alive count, others' statuses) and log tail, for a failure message. */
async function views(agents: BenchAgent[]): Promise<string> {
  const out: string[] = [];
  for (const a of agents) {
    let view: string;
    try {
      const ms = await a.get<Member[]>('/v1/agent/members', 2000);
      view = `${ms.filter((m) => m.Status === 1).length} alive; ${ms.filter((m) => m.Status !== 1).map((m) => `${m.Name}=${m.Status}`).join(' ')}`;
    } catch (err) {
      view = `(${(err as Error).message})`;
    }
    out.push(`${a.name} (pid ${a.pid}, serf ${a.ports.serf}): ${view}\n${a.tail().replace(/^/gm, '    ')}`);
  }
  return out.join('\n');
}

interface SerfLan {
  bytes_sent: string;
  bytes_received: string;
}

async function gossipBytes(a: BenchAgent): Promise<{ sent: number; recv: number }> {
  const self = await a.get<{ Stats: { serf_lan?: SerfLan } }>('/v1/agent/self', 2000);
  const s = self.Stats.serf_lan;
  if (!s) throw new Error(`bench: ${a.name} has no Stats.serf_lan`);
  return { sent: Number(s.bytes_sent), recv: Number(s.bytes_received) };
}

async function runHerald(n: number, k: number, rateWindowS: number, settleS: number): Promise<Measured> {
  if (n < k + 3) throw new Error(`bench: N=${n} is too small for ${k} trials`);
  const fleet = new AgentFleet(`herald-gossip-bench-${n}-`);
  try {
    const ports: AgentPorts[] = [];
    for (let i = 0; i < n; i++) ports.push({ http: await freePort(), serf: await freePort(), server: -1 });
    const seed = await fleet.start({ name: 'h0', ports: ports[0]! });
    const t0 = Date.now();
    const agents: BenchAgent[] = [seed];
    for (let i = 1; i < n; i++) agents.push(await fleet.spawn({ name: `h${i}`, ports: ports[i]!, args: [`-join=127.0.0.1:${seed.ports.serf}`] }));
    let respawned = 0;
    await pollUntil(`N=${n}: all ${n} alive at three observers`, CONVERGE_LIMIT_MS, async () => {
      // A start-up failure (port taken meanwhile) is retried on new ports and reported.
      for (let i = 1; i < n; i++) {
        const a = agents[i]!;
        if (a.proc.exitCode !== null || a.proc.signalCode !== null) {
          if (++respawned > 3) throw new Error(`bench: agents keep exiting; last ${a.name}:\n${a.tail()}`);
          console.log(`bench: ${a.name} exited at start-up; respawning on new ports (converge time includes this)`);
          agents[i] = await fleet.spawn({ name: a.name, args: a.spec.args ?? [] });
        }
      }
      for (const o of [agents[0]!, agents[Math.floor(n / 2)]!, agents[n - 1]!]) if ((await aliveSeen(o)) !== n) return false;
      return true;
    }, POLL_MS).catch(async (e: Error) => {
      throw new Error(`${e.message}\n${await views(agents)}`);
    });
    const convergeMs = Date.now() - t0;
    console.log(`herald N=${n} converge_ms=${convergeMs}`);

    const rss = agents.map((a) => rssKb(a.pid) ?? NaN);
    let sentBps: number[] | undefined;
    let recvBps: number[] | undefined;
    let cpuPct: number[] | undefined;
    if (rateWindowS > 0) {
      // Let the join broadcasts' retransmissions die down first: the window is the steady state.
      await sleep(settleS * 1000);
      const b0 = await Promise.all(agents.map(gossipBytes));
      const c0 = agents.map((a) => cpuMs(a.pid) ?? NaN);
      const w0 = Date.now();
      await sleep(rateWindowS * 1000);
      const b1 = await Promise.all(agents.map(gossipBytes));
      const c1 = agents.map((a) => cpuMs(a.pid) ?? NaN);
      const secs = (Date.now() - w0) / 1000;
      sentBps = b1.map((b, i) => (b.sent - b0[i]!.sent) / secs);
      recvBps = b1.map((b, i) => (b.recv - b0[i]!.recv) / secs);
      cpuPct = c1.map((c, i) => ((c - c0[i]!) / (secs * 1000)) * 100);
    }
    await sleep(2000);

    const detectMs: number[] = [];
    const watchers = [agents[0]!, agents[Math.floor(n / 2) - 1]!];
    for (let j = 1; j <= k; j++) {
      const victim = agents[n - j]!;
      victim.kill('SIGKILL');
      const t1 = Date.now();
      await pollUntil(`N=${n}: ${victim.name} failed at two observers`, DETECT_LIMIT_MS, async () => {
        for (const o of watchers) if ((await statusOf(o, victim.name)) !== 4) return false;
        return true;
      }, POLL_MS);
      detectMs.push(Date.now() - t1);
      console.log(`herald N=${n} detect_failed_ms=${detectMs[detectMs.length - 1]}`);
    }

    const leaver = agents[n - k - 1]!;
    const t2 = Date.now();
    void leaver.put('/v1/agent/leave', undefined, 10_000).catch(() => undefined);
    await pollUntil(`N=${n}: ${leaver.name} left at two observers`, LEAVE_LIMIT_MS, async () => {
      for (const o of watchers) if ((await statusOf(o, leaver.name)) !== 3) return false;
      return true;
    }, POLL_MS);
    const leaveMs = Date.now() - t2;
    console.log(`herald N=${n} leave_seen_ms=${leaveMs}`);
    return { convergeMs, detectMs, leaveMs, rssKb: rss, ...(sentBps ? { sentBps, recvBps, cpuPct } : {}) };
  } finally {
    fleet.close();
  }
}

/**
 * Convergence of gossip alone: N agents already running (not joined), then every one but
 * the seed is told to join it at once (`PUT /v1/agent/join/<seed>`); time until the same
 * three observers see all N alive. Separates Node's process start-up from the protocol.
 */
async function runHeraldPrestarted(n: number): Promise<number> {
  const fleet = new AgentFleet(`herald-gossip-bench-pre-${n}-`);
  try {
    const agents: BenchAgent[] = [];
    for (let i = 0; i < n; i++) agents.push(await fleet.spawn({ name: `p${i}` }));
    let respawned = 0;
    await pollUntil(`N=${n}: all agents answer HTTP`, CONVERGE_LIMIT_MS, async () => {
      respawned += await fleet.respawnExited(agents, 3 - respawned);
      for (const a of agents) await a.get('/v1/agent/self', 1000);
      return true;
    }, 100).catch(async (e: Error) => {
      throw new Error(`${e.message}\n${await views(agents)}`);
    });
    const seed = agents[0]!;
    const observers = [agents[0]!, agents[Math.floor(n / 2)]!, agents[n - 1]!];
    const t0 = Date.now();
    const joins = Promise.allSettled(agents.slice(1).map((a) => a.put(`/v1/agent/join/127.0.0.1:${seed.ports.serf}`, undefined, 10_000)));
    await pollUntil(`N=${n}: all ${n} alive at three observers (pre-started)`, CONVERGE_LIMIT_MS, async () => {
      for (const o of observers) if ((await aliveSeen(o)) !== n) return false;
      return true;
    }, POLL_MS);
    const ms = Date.now() - t0;
    const failed = (await joins).filter((r) => r.status === 'rejected');
    if (failed.length) console.log(`herald N=${n}: ${failed.length} join requests failed (first: ${(failed[0] as PromiseRejectedResult).reason})`);
    console.log(`herald N=${n} converge_prestarted_ms=${ms}`);
    return ms;
  } finally {
    fleet.close();
  }
}

/** VmRSS (kB) of the anchor's `serf agent` processes, found by their command line. */
function serfRss(): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
      if (cmd[1] === 'agent' && /(^|\/)serf$/.test(cmd[0] ?? '') && cmd.includes('-profile=lan')) {
        const r = rssKb(Number(d));
        if (r !== undefined) out.push(r);
      }
    } catch {
      // The process ended while we looked.
    }
  }
  return out;
}

/** Runs the Serf anchor script and parses its `serf N=.. key=ms` lines. */
async function runSerf(n: number, k: number): Promise<Measured> {
  const child = spawn('bash', [ANCHOR, String(n), String(k)], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const m: Measured = { convergeMs: NaN, detectMs: [], leaveMs: NaN, rssKb: [] };
  let buf = '';
  let err = '';
  child.stderr!.on('data', (d) => (err = (err + String(d)).slice(-4000)));
  child.stdout!.on('data', (d) => {
    buf += String(d);
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      const r = /^serf N=\d+ (\w+)=(\d+)$/.exec(line);
      if (!r) continue;
      console.log(line);
      const v = Number(r[2]);
      if (r[1] === 'converge_ms') {
        m.convergeMs = v;
        m.rssKb = serfRss();
      } else if (r[1] === 'detect_failed_ms') m.detectMs.push(v);
      else if (r[1] === 'leave_seen_ms') m.leaveMs = v;
    }
  });
  const killGroup = (sig: NodeJS.Signals): void => {
    try {
      process.kill(-child.pid!, sig);
    } catch {
      // Already gone.
    }
  };
  const onExit = (): void => killGroup('SIGKILL');
  process.on('exit', onExit);
  try {
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => {
        killGroup('SIGTERM');
        setTimeout(() => killGroup('SIGKILL'), 2000).unref();
      }, ANCHOR_LIMIT_MS);
      child.once('exit', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    if (code !== 0 || Number.isNaN(m.leaveMs)) throw new Error(`bench: ${ANCHOR} ${n} ${k} exited with ${code}:\n${err}`);
    return m;
  } finally {
    process.off('exit', onExit);
  }
}

const fmt = (x: number, digits = 0): string => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');
const mean = (xs: readonly number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;

/**
 * How long it takes this machine just to start `count` processes of `args` at once and see
 * them all exit: the floor under any "converge including process start" figure for a
 * program run by Node. Median of three.
 */
async function startFloor(count: number, args: string[]): Promise<number> {
  const runs: number[] = [];
  for (let r = 0; r < 3; r++) {
    const t0 = Date.now();
    await Promise.all(
      Array.from({ length: count }, () => new Promise<void>((resolve, reject) => {
        const p = spawn(process.execPath, args, { stdio: 'ignore' });
        const timer = setTimeout(() => p.kill('SIGKILL'), 30_000);
        p.once('error', reject);
        p.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
      })),
    );
    runs.push(Date.now() - t0);
  }
  return median(runs);
}

function table(n: number, h: Measured, s: Measured | undefined): string {
  const rows: string[][] = [];
  const row = (metric: string, hv: number, sv: number | undefined, digits = 0, extraH = '', extraS = ''): void => {
    rows.push([metric, fmt(hv, digits) + extraH, sv === undefined ? 'n/a' : fmt(sv, digits) + extraS, ratio(hv, sv)]);
  };
  row('converge ms (as the script: includes process start)', h.convergeMs, s?.convergeMs);
  if (h.convergePrestartedMs !== undefined) {
    row(`converge ms, herald processes already running (median of ${h.convergePrestartedRuns?.length ?? 1})`, h.convergePrestartedMs, s?.convergeMs, 0, h.convergePrestartedRuns ? ` (${h.convergePrestartedRuns.join(', ')})` : '');
  }
  if (h.nodeFloorMs !== undefined) row(`floor: ${n - 1} bare \`node -e 0\` started at once, until all exit`, h.nodeFloorMs, s?.convergeMs);
  if (h.cliFloorMs !== undefined) row(`floor: ${n - 1} \`herald version\` started at once, until all exit`, h.cliFloorMs, s?.convergeMs);
  row('detect failed ms (median)', median(h.detectMs), s ? median(s.detectMs) : undefined, 0, ` (${h.detectMs.join(', ')})`, s ? ` (${s.detectMs.join(', ')})` : '');
  row('detect failed ms (max)', Math.max(...h.detectMs), s ? Math.max(...s.detectMs) : undefined);
  row('leave seen ms', h.leaveMs, s?.leaveMs);
  row('RSS per agent MB (mean)', mean(h.rssKb) / 1024, s && s.rssKb.length ? mean(s.rssKb) / 1024 : undefined, 1, ` (max ${fmt(Math.max(...h.rssKb) / 1024, 1)})`, s && s.rssKb.length ? ` (max ${fmt(Math.max(...s.rssKb) / 1024, 1)}, ${s.rssKb.length} procs)` : '');
  if (h.sentBps && h.recvBps && h.cpuPct) {
    rows.push(['gossip bytes/s sent per agent (mean)', `${fmt(mean(h.sentBps))} (max ${fmt(Math.max(...h.sentBps))})`, 'n/a', 'n/a']);
    rows.push(['gossip bytes/s received per agent (mean)', `${fmt(mean(h.recvBps))} (max ${fmt(Math.max(...h.recvBps))})`, 'n/a', 'n/a']);
    rows.push(['CPU % per agent, steady (mean)', `${fmt(mean(h.cpuPct), 1)} (max ${fmt(Math.max(...h.cpuPct), 1)})`, 'n/a', 'n/a']);
  }
  return `N=${n}\n\n` + markdownTable(['metric', 'herald', 'serf', 'herald/serf'], rows);
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      trials: { type: 'string', default: '3' },
      'rate-window': { type: 'string', default: '5' },
      settle: { type: 'string', default: '5' },
      'no-anchor': { type: 'boolean', default: false },
      'no-prestarted': { type: 'boolean', default: false },
      'prestarted-only': { type: 'string' },
      'prestarted-runs': { type: 'string', default: '5' },
    },
  });
  const ns = positionals.length ? positionals.map(Number) : [10, 30];
  const k = Number(values.trials);
  const rateWindowS = Number(values['rate-window']);
  const prestarted = !values['no-prestarted'];
  const prestartedRuns = Number(values['prestarted-runs']);
  if (!Number.isInteger(prestartedRuns) || prestartedRuns < 1 || prestartedRuns > 20) throw new Error('bench: --prestarted-runs must be 1..20');
  const settleS = Number(values.settle);
  if (!(settleS >= 0 && settleS <= 60)) throw new Error('bench: --settle must be 0..60 s');
  if (ns.some((n) => !Number.isInteger(n) || n < k + 3 || n > 100)) throw new Error(`bench: N must be integers in ${k + 3}..100`);
  if (!Number.isInteger(k) || k < 1 || k > 10) throw new Error('bench: --trials must be 1..10');
  if (!(rateWindowS >= 0 && rateWindowS <= 60)) throw new Error('bench: --rate-window must be 0..60 s');
  const cores = cpus().length;
  if (values['prestarted-only'] !== undefined) {
    // Development aid: only the pre-started convergence, R times per N, no anchor.
    const reps = Number(values['prestarted-only']);
    if (!Number.isInteger(reps) || reps < 1 || reps > 20) throw new Error('bench: --prestarted-only must be 1..20');
    for (const n of ns) {
      const ms: number[] = [];
      for (let r = 0; r < reps; r++) {
        console.log(`herald N=${n}: ${loadLine(cores)}`);
        ms.push(await runHeraldPrestarted(n));
      }
      console.log(`herald N=${n} converge_prestarted_ms median ${median(ms)} (${ms.join(', ')})`);
    }
    return;
  }
  console.log(`gossip bench ${new Date().toISOString()} N=${ns.join(',')} trials=${k}; herald LAN profile, anchor ${values['no-anchor'] ? 'skipped' : ANCHOR}`);
  const tables: string[] = [];
  for (const n of ns) {
    const loadH = loadLine(cores);
    console.log(`herald N=${n}: start, ${loadH}`);
    const h = await runHerald(n, k, rateWindowS, settleS);
    if (prestarted) {
      const runs: number[] = [];
      for (let r = 0; r < prestartedRuns; r++) runs.push(await runHeraldPrestarted(n));
      h.convergePrestartedMs = median(runs);
      h.convergePrestartedRuns = runs;
    }
    h.nodeFloorMs = await startFloor(n - 1, ['-e', '0']);
    h.cliFloorMs = await startFloor(n - 1, [HERALD_BIN, 'version']);
    console.log(`herald N=${n} floor_node_ms=${h.nodeFloorMs} floor_cli_ms=${h.cliFloorMs}`);
    let s: Measured | undefined;
    let loadS = '';
    if (!values['no-anchor']) {
      loadS = loadLine(cores);
      console.log(`serf N=${n}: start, ${loadS}`);
      s = await runSerf(n, k);
    }
    tables.push(`${table(n, h, s)}\n\nAt start: herald ${loadH}${s ? `; serf ${loadS}` : ''}.`);
  }
  console.log('\n' + tables.join('\n\n'));
}

main().then(
  () => process.exit(0),
  (e: Error) => {
    console.error(e.stack ?? e.message);
    process.exit(1);
  },
);
