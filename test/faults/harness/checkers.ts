import { checkKv, type CheckResult } from '../../lib/linearizability.js';
import type { Cluster, Host } from './cluster.js';
import type { FaultLog } from './fault-log.js';
import type { History } from './history.js';
import { ACKED_NODE } from './workloads.js';

/** One checker's verdict: `anomalies` must be 0 for the run to pass. */
export interface CheckReport {
  name: string;
  anomalies: number;
  detail: string;
  /** false: reported only (the scenario does not promise it); anomalies do not fail the run. */
  enforced?: boolean;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Wing–Gong/Porcupine over the read/write/cas operations; 'illegal' and 'unknown' (search timed out) both fail. */
export function checkLinearizable(history: History, timeoutMs: number): CheckReport & { result: CheckResult; ops: number } {
  const ops = history.kvOperations();
  const result = checkKv(ops, timeoutMs);
  // 'unknown' (the search ran out of time) fails the run too: an unchecked claim is not a pass.
  const detail = `${ops.length} register operations on ${new Set(ops.map((o) => o.input.key)).size} keys: ${result}${result === 'unknown' ? ' (inconclusive: search budget exhausted)' : ''}`;
  return { name: 'linearizable', anomalies: result === 'ok' ? 0 : 1, result, ops: ops.length, detail };
}

/** Every acknowledged `add` is in every running server's catalog (read with ?stale from each). */
export async function checkAcknowledged(cluster: Cluster, acked: ReadonlySet<string>, waitMs: number): Promise<CheckReport> {
  const missing = new Map<string, string[]>();
  for (const s of cluster.servers.filter((h) => h.running)) {
    const until = Date.now() + waitMs;
    for (;;) {
      let present = new Set<string>();
      try {
        const { body } = await s.api<{ Services: Record<string, unknown> } | null>(`/v1/catalog/node/${ACKED_NODE}?stale`);
        present = new Set(Object.keys(body?.Services ?? {}));
      } catch {
        // counted as missing until the deadline
      }
      const lost = [...acked].filter((id) => !present.has(id));
      if (lost.length === 0 || Date.now() > until) {
        if (lost.length > 0) missing.set(s.name, lost);
        break;
      }
      await sleep(500);
    }
  }
  const n = [...missing.values()].reduce((a, l) => a + l.length, 0);
  const detail = n === 0 ? `${acked.size} acknowledged registrations present on every server` : [...missing].map(([s, l]) => `${s} lacks ${l.length}: ${l.slice(0, 5).join(', ')}`).join('; ');
  return { name: 'acknowledged-writes', anomalies: n, detail };
}

/** A server's catalog as seen with ?stale: nodes, services, checks (indexes included). */
async function catalogView(s: Host): Promise<string> {
  const [nodes, services, checks] = await Promise.all([
    s.api<unknown[]>('/v1/catalog/nodes?stale'),
    s.api<Record<string, string[]>>('/v1/catalog/services?stale'),
    s.api<Array<{ Node: string; CheckID: string }>>('/v1/health/state/any?stale'),
  ]);
  const sortedChecks = [...checks.body].sort((a, b) => `${a.Node}/${a.CheckID}`.localeCompare(`${b.Node}/${b.CheckID}`));
  return JSON.stringify({ index: checks.headers.get('x-consul-index'), nodes: nodes.body, services: services.body, checks: sortedChecks });
}

/** After heal, every running server converges to the same catalog (identical ?stale reads, same index). */
export async function checkConvergence(cluster: Cluster, waitMs: number): Promise<CheckReport> {
  const until = Date.now() + waitMs;
  let last = '';
  for (;;) {
    const views = new Map<string, string>();
    try {
      for (const s of cluster.servers.filter((h) => h.running)) views.set(s.name, await catalogView(s));
      const distinct = new Set(views.values());
      if (distinct.size === 1) return { name: 'catalog-converged', anomalies: 0, detail: `${views.size} servers agree` };
      last = [...views].map(([n, v]) => `${n}: index ${(JSON.parse(v) as { index: string }).index}, ${v.length} bytes`).join('; ');
    } catch (e) {
      last = (e as Error).message;
    }
    if (Date.now() > until) return { name: 'catalog-converged', anomalies: 1, detail: `servers still differ after ${waitMs} ms: ${last}` };
    await sleep(500);
  }
}

interface RaftConfiguration {
  Servers: Array<{ ID: string; Node: string; Address: string; Voter: boolean }>;
}

/**
 * After heal, the Raft configuration is exactly the running servers, each once and a voter
 * (no dead IDs of replaced servers left behind, no learner stuck unpromoted).
 */
export async function checkRaftMembership(cluster: Cluster, waitMs: number): Promise<CheckReport> {
  const want = cluster.servers.filter((h) => h.running).map((h) => h.name).sort();
  const until = Date.now() + waitMs;
  let last = '';
  for (;;) {
    try {
      const leader = await cluster.leader();
      if (leader) {
        const { body } = await leader.api<RaftConfiguration>('/v1/operator/raft/configuration');
        const got = body.Servers.map((s) => `${s.Node}${s.Voter ? '' : '(non-voter)'}`).sort();
        last = got.join(',');
        if (JSON.stringify(got) === JSON.stringify(want)) return { name: 'raft-membership', anomalies: 0, detail: `voters ${got.join(',')}` };
      }
    } catch (e) {
      last = (e as Error).message;
    }
    if (Date.now() > until) return { name: 'raft-membership', anomalies: 1, detail: `configuration ${last} after ${waitMs} ms, want voters ${want.join(',')}` };
    await sleep(500);
  }
}

interface Member {
  Name: string;
  Status: number;
}

/**
 * Polls every running agent's /v1/agent/members and records each transition of a member to
 * `failed` (Status 4) as seen by each observer. Judged at the end against the set of hosts
 * that were ever faulted: a verdict about a never-faulted member is a false failure.
 */
export class GossipWatch {
  readonly verdicts: Array<{ observer: string; member: string; time: number }> = [];
  private readonly last = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private polling = false;

  constructor(
    private readonly cluster: Cluster,
    private readonly now: () => number,
  ) {}

  start(intervalMs = 500): void {
    this.timer = setInterval(() => void this.poll(), intervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    for (let i = 0; i < 50 && this.polling; i++) await sleep(100);
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      await Promise.all(
        this.cluster.hosts
          .filter((h) => h.running && !h.paused)
          .map(async (h) => {
            try {
              const { body } = await h.api<Member[]>('/v1/agent/members', { timeoutMs: 2000 });
              for (const m of body) {
                const k = `${h.name}>${m.Name}`;
                if (m.Status === 4 && this.last.get(k) !== 4) this.verdicts.push({ observer: h.name, member: m.Name, time: this.now() });
                this.last.set(k, m.Status);
              }
            } catch {
              // an unreachable observer reports nothing this round
            }
          }),
      );
    } finally {
      this.polling = false;
    }
  }

  /**
   * Judges every recorded verdict "observer said member failed at t". It is explained, not
   * false, when any of these holds:
   * - the member had a host fault (killed, paused, wiped, impaired) at t or up to
   *   `memberGraceMs` before: verdicts about it come during the fault or while its
   *   refutation is on the way, and a suspicion raised during the fault may run its full
   *   course (the default, 40 s, exceeds the longest suspicion timeout in these clusters,
   *   6 × 4 s × max(1, log10 20) ≈ 31 s);
   * - observer and member were ever cut from each other (partition or one-way drop);
   * - the member was cut from some host and the network was healed at t or up to
   *   `healGraceMs` before: hosts across the cut rightly declared it failed, and at the heal
   *   that news reaches the hosts on its own side a moment before its refutation does (SWIM
   *   and memberlist both accept it; the member refutes with a higher incarnation);
   * - the observer itself had a host fault at t or within `graceMs` before (its view was
   *   stale: a paused agent resumes with every timer overdue before it reads its backlog,
   *   and the watch sees a verdict up to a poll interval late).
   * Every other verdict is a false failure: a healthy member declared failed by a healthy
   * observer that could reach it. The `lifeguard` stall is not a fault in this sense (it is
   * what the promise is about), so there no member may be declared failed at all.
   */
  report(faults: FaultLog, hosts: readonly string[], graceMs = 2000, memberGraceMs = 40_000, healGraceMs = 5000): CheckReport {
    let aboutFaulted = 0;
    let acrossCut = 0;
    let relayedAtHeal = 0;
    let byFaulted = 0;
    const falses: typeof this.verdicts = [];
    for (const v of this.verdicts) {
      if (faults.faultedAround(v.member, v.time, memberGraceMs)) aboutFaulted++;
      else if (faults.wasCut(v.observer, v.member)) acrossCut++;
      else if (faults.cutHealedAround(v.member, v.time, healGraceMs)) relayedAtHeal++;
      else if (faults.faultedAround(v.observer, v.time, graceMs)) byFaulted++;
      else falses.push(v);
    }
    const untouched = faults.untouched(hosts);
    const pairs = faults.checkedPairs(hosts);
    const detail =
      `${this.verdicts.length} failed verdicts (${aboutFaulted} about faulted members, ${acrossCut} across a cut, ${relayedAtHeal} relayed at a heal, ${byFaulted} by an observer while faulted), ` +
      `${falses.length} false` +
      (falses.length ? `: ${falses.slice(0, 5).map((v) => `${v.observer} said ${v.member} failed at ${(v.time / 1000).toFixed(1)}s`).join('; ')}` : '') +
      `; ${pairs} of ${hosts.length * (hosts.length - 1)} observer→member pairs checked for the whole run (the others outside fault windows); hosts no fault touched: ${untouched.join(',') || 'none'}`;
    return { name: 'gossip-false-failures', anomalies: falses.length, detail };
  }
}
