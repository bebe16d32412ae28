import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SeededRng } from '../../../agent/runtime/rng.js';
import { checkAcknowledged, checkConvergence, checkLinearizable, checkRaftMembership, GossipWatch, type CheckReport } from './checkers.js';
import { Cluster, type Host } from './cluster.js';
import { FaultLog } from './fault-log.js';
import { History } from './history.js';
import type { Nemesis, Scenario } from './scenarios.js';
import { CatalogWorkload, KvWorkload, LockWorkload, runClients, type Workload } from './workloads.js';

export interface RunOptions {
  seed: number;
  /** Length of the fault phase in seconds (setup, heal and checks come on top). */
  timeSec: number;
  /** Concurrent clients per workload. Default 4. */
  workers?: number;
  /** Print the timeline as it happens. Default true. */
  verbose?: boolean;
  /** Keep the run directory (data dirs, agent logs) even when the run passes. */
  keep?: boolean;
}

export interface RunReport {
  scenario: string;
  seed: number;
  ok: boolean;
  timeline: string[];
  operations: { invoke: number; ok: number; fail: number; info: number };
  /** Completions per operation name and outcome. */
  byOperation: Record<string, number>;
  workloads: string[];
  faults: number;
  checks: CheckReport[];
  durationMs: number;
  dir: string;
  error?: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function bounded<T>(what: string, ms: number, p: Promise<T>): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, rej) => (t = setTimeout(() => rej(new Error(`faults: ${what} took over ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(t);
  }
}

async function waitFor(what: string, ms: number, f: () => Promise<boolean>): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      if (await f()) return;
    } catch {
      // retry
    }
    if (Date.now() > until) throw new Error(`faults: timed out after ${ms} ms waiting for ${what}`);
    await sleep(250);
  }
}

/**
 * Runs one scenario end to end: network + agents up, workloads and nemesis for `timeSec`,
 * heal (network, paused and killed agents), final reads, checkers, teardown. Never leaves
 * namespaces or processes behind, whatever happens.
 */
export async function runScenario(sc: Scenario, o: RunOptions): Promise<RunReport> {
  const started = Date.now();
  const rng = new SeededRng(o.seed);
  const history = new History();
  const timeline: string[] = [];
  let faults = 0;
  const note = (what: string): void => {
    const line = `[${(history.now() / 1000).toFixed(1).padStart(6)}s] ${what}`;
    timeline.push(line);
    if (/^(partition|SIGKILL|SIGSTOP|one-way|impair|c1 stalls)/.exec(what) !== null) faults++;
    if (o.verbose !== false) console.log(`  ${sc.name} seed=${o.seed} ${line}`);
  };
  const dir = mkdtempSync(join(tmpdir(), `herald-faults-${sc.name}-${o.seed}-`));
  const report: RunReport = { scenario: sc.name, seed: o.seed, ok: false, timeline, operations: { invoke: 0, ok: 0, fail: 0, info: 0 }, byOperation: {}, workloads: [], faults: 0, checks: [], durationMs: 0, dir };
  let cluster: Cluster | undefined;
  let watch: GossipWatch | undefined;
  const faultLog = new FaultLog(() => history.now());
  try {
    cluster = new Cluster({ hosts: sc.hosts, dir, ...(sc.config ? { config: sc.config } : {}), note });
    const c = cluster;
    note(`network up: ${c.hosts.map((h) => `${h.name}=${h.addr}`).join(' ')}; link impairment by ${c.net.impairMode}${c.net.impairModeReason ? ` (${c.net.impairModeReason})` : ''}`);
    await bounded('starting agents', 90_000, c.startAll());
    note(`${c.hosts.length} agents started`);
    await waitFor('a leader', 30_000, async () => (await c.leader()) !== undefined);
    await waitFor('every agent in every server\'s catalog', 60_000, async () => {
      for (const s of c.servers) {
        const { body } = await s.api<unknown[]>('/v1/catalog/nodes?stale');
        if (body.length !== c.hosts.length) return false;
      }
      return true;
    });
    note(`cluster ready, leader ${(await c.leader())?.name}`);

    const readMode = sc.control ? 'stale' : 'consistent';
    const catalog = new CatalogWorkload(history, readMode);
    const workloads: Workload[] = [catalog];
    if (await KvWorkload.available(c.servers[0] as Host)) workloads.push(new KvWorkload(history, readMode), new LockWorkload(history));
    report.workloads = workloads.map((w) => w.name);
    note(`workloads: ${report.workloads.join(', ')}${workloads.length === 1 ? ' (no /v1/kv on this build: KV and lock workloads skipped)' : ''}`);

    watch = new GossipWatch(c, () => history.now());
    watch.start();
    let clientsStop = false;
    const clients = Promise.all(workloads.map((w, i) => runClients(c, w, rng.fork(), o.workers ?? 4, () => clientsStop, 25, i * 1_000_000)));

    const faultEnd = Date.now() + o.timeSec * 1000;
    const nemesis: Nemesis = {
      cluster: c,
      rng: rng.fork(),
      faults: faultLog,
      note,
      active: () => Date.now() < faultEnd,
      remainingMs: () => Math.max(0, faultEnd - Date.now()),
      sleep: async (ms) => {
        const left = faultEnd - Date.now();
        if (left <= 0) return false;
        await sleep(Math.min(ms, left));
        return Date.now() < faultEnd;
      },
      awaitLeader: async (ms) => {
        const until = Date.now() + ms;
        for (;;) {
          const l = await c.leader();
          if (l || Date.now() > until) return l;
          await sleep(250);
        }
      },
    };
    await bounded('the nemesis', o.timeSec * 1000 + 60_000, sc.nemesis(nemesis));

    // Heal everything, let clients run a little longer on the healed cluster, then stop them.
    c.net.heal();
    await bounded('delayers to stop', 10_000, c.net.settle());
    for (const h of c.hosts) if (h.paused) await h.signal('SIGCONT');
    for (const h of c.hosts) if (!h.running) await h.start();
    faultLog.healAll();
    faultLog.networkHealed();
    note('heal all: network, paused and killed agents');
    await waitFor('a leader after heal', 30_000, async () => (await c.leader()) !== undefined);
    await sleep(3000);
    clientsStop = true;
    await bounded('clients to stop', 30_000, clients);
    note('clients stopped');

    // Final reads through the leader: the state every acknowledged write must be visible in.
    await waitFor('final reads', 30_000, async () => {
      const l = await c.leader();
      if (!l) return false;
      for (const [i, w] of workloads.entries()) await w.finalReads(i * 1_000_000 + 900_000, l);
      return true;
    });
    await watch.stop();

    report.checks.push(checkLinearizable(history, 120_000));
    report.checks.push(await checkAcknowledged(c, catalog.acked, 20_000));
    report.checks.push(await checkConvergence(c, 30_000));
    report.checks.push(await checkRaftMembership(c, 30_000));
    report.checks.push(watch.report(faultLog, c.hosts.map((h) => h.name)));
    for (const name of sc.expectSnapshotRestore?.(nemesis) ?? []) {
      const restored = readFileSync(join(dir, `${name}.log`), 'utf8').includes("state restored from a leader's snapshot");
      report.checks.push({ name: 'caught-up-by-snapshot', anomalies: restored ? 0 : 1, detail: `${name} ${restored ? 'restored a leader snapshot' : 'never restored a leader snapshot'}` });
    }
    report.operations = history.counts();
    report.byOperation = history.byOperation();
    if (sc.control) {
      // The claim inverted: stale reads must be caught; every other checker still holds.
      const lin = report.checks.find((r) => r.name === 'linearizable') as CheckReport & { result: string };
      lin.detail += lin.result === 'illegal' ? ' (expected: negative control caught)' : ' (negative control NOT caught)';
      report.ok = lin.result === 'illegal' && report.checks.every((r) => r === lin || r.enforced === false || r.anomalies === 0);
    } else report.ok = report.checks.every((r) => r.enforced === false || r.anomalies === 0);
  } catch (e) {
    report.error = (e as Error).stack ?? String(e);
    report.operations = history.counts();
  } finally {
    await watch?.stop();
    await cluster?.destroy();
    report.faults = faults;
    report.durationMs = Date.now() - started;
    writeFileSync(join(dir, 'history.jsonl'), history.events.map((e) => JSON.stringify(e)).join('\n') + '\n');
    writeFileSync(join(dir, 'timeline.txt'), timeline.join('\n') + '\n');
    if (report.ok && !o.keep) rmSync(dir, { recursive: true, force: true });
  }
  return report;
}

/** A human summary; the first line names scenario and seed so a failure can be replayed. */
export function formatReport(r: RunReport): string {
  const lines = [
    `${r.ok ? 'PASS' : 'FAIL'} ${r.scenario} seed=${r.seed} (${(r.durationMs / 1000).toFixed(0)} s); replay: node dist/test/faults/run.js --scenario ${r.scenario} --seed ${r.seed}`,
    `  workloads: ${r.workloads.join(', ') || '-'}; operations: ${r.operations.invoke} (${r.operations.ok} ok, ${r.operations.fail} fail, ${r.operations.info} info); faults injected: ${r.faults}`,
    `  by kind: ${Object.entries(r.byOperation).sort().map(([k, v]) => `${k} ${v}`).join(', ')}`,
    ...r.checks.map((c) => `  ${c.anomalies === 0 ? 'ok  ' : c.enforced === false ? 'note' : 'BAD '} ${c.name}: ${c.anomalies} anomalies; ${c.detail}`),
  ];
  if (r.error) lines.push(`  error: ${r.error}`);
  if (!r.ok) lines.push(`  agent logs and data: ${r.dir}`, '  timeline:', ...r.timeline.map((t) => `    ${t}`));
  return lines.join('\n');
}
