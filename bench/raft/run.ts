/**
 * Raft benchmark: a 3-server cluster of real `herald agent -server` processes on 127.0.0.1,
 * each with a data dir (the WAL fsyncs every batch), default timings.
 *
 * - Writes: `PUT /v1/catalog/register` through the leader's HTTP API, driven by `wrk` with a
 *   Lua script; every request commits one Raft entry that changes state (the service port
 *   is unique per request). 1, 32 and 128 keep-alive connections (= concurrent proposers),
 *   `--seconds` each: commits/s and p50/p90/p99 latency (HTTP round trip = commit + apply).
 * - Election: SIGKILL the leader; time until both survivors report the same, different
 *   leader on `GET /v1/status/leader` (polled every 25 ms); the killed server is restarted
 *   on its data dir and the cluster waits for 3 voters and one agreed leader before the next
 *   trial. Median and max over `--trials` (default 20). Goal: median ≤ 2 s. Every server
 *   has the other two as `-retry-join`.
 *
 *   node dist/bench/raft/run.js [--seconds 10] [--conns 1,32,128] [--trials 20]
 */
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { AgentFleet, freePort, pollUntil, sleep, type AgentPorts, type AgentSpec, type BenchAgent } from '../lib/agents.js';
import { loadLine, markdownTable, median } from '../lib/report.js';
import { ensureWrk, runWrk, type WrkResult } from '../lib/wrk.js';

const STABLE_LIMIT_MS = 60_000;
const ELECTION_LIMIT_MS = 30_000;
const ELECTION_POLL_MS = 25;

interface RaftConf {
  Servers: Array<{ Node: string; Address: string; Leader: boolean; Voter: boolean }>;
}

/** Lua for wrk: every request registers service `bench` on node `bench-<thread>` with a fresh port. */
const LUA = `
local next_id = 0
function setup(thread)
  next_id = next_id + 1
  thread:set("tid", next_id)
end
local n = 0
request = function()
  n = n + 1
  local body = string.format('{"Node":"bench-%d","Address":"127.0.0.1","Service":{"ID":"bench","Service":"bench","Port":%d}}', tid, n % 60000 + 1)
  return wrk.format("PUT", "/v1/catalog/register", {["Content-Type"] = "application/json"}, body)
end
`;

class Cluster {
  servers: BenchAgent[] = [];
  constructor(private readonly fleet: AgentFleet) {}

  /**
   * Every server gets the others as `-retry-join` (Consul's recommended server setup), so a
   * restarted server rejoins gossip at once instead of waiting for a peer's push-pull.
   */
  async start(): Promise<void> {
    const names = ['s1', 's2', 's3'];
    const ports: AgentPorts[] = [];
    for (let i = 0; i < names.length; i++) ports.push({ http: await freePort(), serf: await freePort(), server: await freePort() });
    const spec = (i: number): AgentSpec => ({
      name: names[i]!,
      server: true,
      ports: ports[i]!,
      args: ['-server', '-bootstrap-expect=3', '-retry-interval=1s', ...ports.filter((_, j) => j !== i).map((p) => `-retry-join=127.0.0.1:${p.serf}`)],
    });
    this.servers = await Promise.all(names.map((_, i) => this.fleet.start(spec(i))));
  }

  byAddress(addr: string): BenchAgent | undefined {
    return this.servers.find((s) => `127.0.0.1:${s.ports.server}` === addr);
  }

  /** Every server's leader, Raft configuration and gossip view, for a failure message. */
  async views(): Promise<string> {
    const lines: string[] = [];
    for (const s of this.servers) {
      const get = async (path: string): Promise<string> => {
        try {
          return JSON.stringify(await s.get<unknown>(path, 2000));
        } catch (e) {
          return `(${(e as Error).message})`;
        }
      };
      lines.push(`${s.name} (pid ${s.pid}, server port ${s.ports.server}, serf ${s.ports.serf}): leader ${await get('/v1/status/leader')}`);
      lines.push(`  raft: ${await get('/v1/operator/raft/configuration')}`);
      lines.push(`  members: ${await get('/v1/agent/members')}`);
      lines.push(`  log tail:\n${s.tail().replace(/^/gm, '    ')}`);
    }
    return lines.join('\n');
  }

  /** Waits for 3 voters and one leader that every server names; returns the leader. */
  async stable(): Promise<BenchAgent> {
    let leader: BenchAgent | undefined;
    await pollUntil('3 voters and one agreed leader', STABLE_LIMIT_MS, async () => {
      const views = await Promise.all(this.servers.map((s) => s.get<string>('/v1/status/leader', 2000)));
      if (!views[0] || views.some((v) => v !== views[0])) return false;
      const conf = await this.servers[0]!.get<RaftConf>('/v1/operator/raft/configuration', 2000);
      if (conf.Servers.filter((s) => s.Voter).length !== 3) return false;
      leader = this.byAddress(views[0]);
      return leader !== undefined;
    }, 100).catch(async (e: Error) => {
      throw new Error(`${e.message}\n${await this.views()}`);
    });
    return leader!;
  }
}

async function writes(cluster: Cluster, luaFile: string, conns: number[], seconds: number, cores: number): Promise<Array<[number, WrkResult, string]>> {
  const out: Array<[number, WrkResult, string]> = [];
  for (const c of conns) {
    const leader = await cluster.stable();
    const load = loadLine(cores);
    const r = await runWrk({ url: leader.url, connections: c, threads: Math.min(c, 2), seconds, script: luaFile });
    console.log(`raft writes conns=${c}: ${r.okPerSec.toFixed(0)} commits/s, p50 ${r.p50ms.toFixed(2)} ms, p99 ${r.p99ms.toFixed(2)} ms, non-2xx ${r.non2xx}, socket errors ${r.socketErrors}; ${load} at start`);
    out.push([c, r, load]);
  }
  return out;
}

/** Election trials; a trial that cannot complete ends the series with `error` (the times so far are kept). */
async function elections(fleet: AgentFleet, cluster: Cluster, trials: number): Promise<{ times: number[]; error?: string }> {
  const times: number[] = [];
  try {
    for (let t = 1; t <= trials; t++) {
      const leader = await cluster.stable();
      const oldAddr = `127.0.0.1:${leader.ports.server}`;
      const survivors = cluster.servers.filter((s) => s !== leader);
      leader.kill('SIGKILL');
      const t0 = Date.now();
      await pollUntil(`trial ${t}: a new leader at both survivors`, ELECTION_LIMIT_MS, async () => {
        const views = await Promise.all(survivors.map((s) => s.get<string>('/v1/status/leader', 1000)));
        return views[0] !== '' && views[0] !== oldAddr && views.every((v) => v === views[0]);
      }, ELECTION_POLL_MS);
      const ms = Date.now() - t0;
      times.push(ms);
      console.log(`raft election trial ${t}: ${ms} ms (killed ${leader.name})`);
      await leader.exited;
      const again = await fleet.start({ name: leader.name, server: true, restartOf: leader, args: leader.spec.args ?? [] });
      cluster.servers = cluster.servers.map((s) => (s === leader ? again : s));
    }
    await cluster.stable();
    return { times };
  } catch (e) {
    console.error(`raft election trials stopped after ${times.length}: ${(e as Error).message}`);
    return { times, error: (e as Error).message.split('\n')[0]! };
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '10' },
      conns: { type: 'string', default: '1,32,128' },
      trials: { type: 'string', default: '20' },
    },
  });
  const seconds = Number(values.seconds);
  const conns = values.conns.split(',').map(Number);
  const trials = Number(values.trials);
  if (!(Number.isInteger(seconds) && seconds >= 1 && seconds <= 120)) throw new Error('bench: --seconds must be 1..120');
  if (conns.some((c) => !Number.isInteger(c) || c < 1 || c > 1024)) throw new Error('bench: --conns must be integers 1..1024');
  if (!(Number.isInteger(trials) && trials >= 0 && trials <= 100)) throw new Error('bench: --trials must be 0..100');
  ensureWrk();
  const cores = cpus().length;
  const startLoad = loadLine(cores);
  console.log(`raft bench ${new Date().toISOString()}: 3 servers, fsync on, ${startLoad}`);
  const fleet = new AgentFleet('herald-raft-bench-');
  try {
    const luaFile = join(fleet.root, 'register.lua');
    writeFileSync(luaFile, LUA);
    const cluster = new Cluster(fleet);
    await cluster.start();
    await cluster.stable();
    await sleep(1000);
    const w = await writes(cluster, luaFile, conns, seconds, cores);
    const electionLoad = loadLine(cores);
    const { times: e, error } = trials > 0 ? await elections(fleet, cluster, trials) : { times: [] as number[] };
    console.log('\n' + markdownTable(
      ['proposers (wrk connections)', 'commits/s', 'p50 ms', 'p90 ms', 'p99 ms', 'errors', 'load at start'],
      w.map(([c, r, load]) => [String(c), r.okPerSec.toFixed(0), r.p50ms.toFixed(2), r.p90ms.toFixed(2), r.p99ms.toFixed(2), String(r.non2xx + r.socketErrors), load.replace('load average ', '')]),
    ));
    if (e.length) {
      const sorted = [...e].sort((a, b) => a - b);
      console.log(`\nleader election after SIGKILL, ${e.length} trials (${electionLoad} at start): median ${median(e)} ms, max ${sorted[sorted.length - 1]} ms, min ${sorted[0]} ms; all: ${e.join(', ')}`);
      console.log(`goal median <= 2000 ms: ${median(e) <= 2000 ? 'met' : 'MISSED'}`);
    }
    if (error) {
      console.log(`INCOMPLETE: ${e.length} of ${trials} election trials; ${error}`);
      process.exitCode = 1;
    }
  } finally {
    fleet.close();
  }
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (e: Error) => {
    console.error(e.stack ?? e.message);
    process.exit(1);
  },
);
