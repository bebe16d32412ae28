/**
 * Seeded simulation of a Raft cluster in one process (VOPR style). A safety phase with
 * message loss, reordering, duplication, delay, partitions (including isolating the
 * leader), crashes that lose everything not yet persisted, and membership changes under
 * client load, leadership transfers; then a liveness phase on a healed network. Invariants are checked after
 * every step; the clients' KV history is checked for linearizability at the end.
 * Every failure message names the seed.
 */
import { ConfChangeType, EntryType, type Entry } from '../../../catalog/raft/types.js';
import type { Message } from '../../../catalog/raft/core/messages.js';
import { RaftError } from '../../../catalog/raft/core/errors.js';
import { checkKv, type KvInput, type KvOutput, type Operation } from '../../lib/linearizability.js';
import { Cluster, dec, enc, type TestStateMachine } from './harness.js';

/** A KV register state machine: entries are JSON-encoded writes and compare-and-sets. */
export class KvMachine implements TestStateMachine {
  kv = new Map<string, string>();
  apply(e: Entry): unknown {
    const cmd = JSON.parse(dec(e.data)) as KvInput;
    if (cmd.op === 'write') {
      this.kv.set(cmd.key, cmd.value);
      return 'ok';
    }
    if (cmd.op === 'cas') {
      if ((this.kv.get(cmd.key) ?? null) !== cmd.expected) return false;
      this.kv.set(cmd.key, cmd.value);
      return true;
    }
    throw new Error('kv: reads are not logged');
  }
  snapshot(): Uint8Array {
    return enc(JSON.stringify([...this.kv]));
  }
  restore(data: Uint8Array): void {
    this.kv = new Map(data.length === 0 ? [] : (JSON.parse(dec(data)) as [string, string][]));
  }
}

export interface SimOptions {
  seed: number;
  /** Initial voters (3 or 5). */
  voters: number;
  /** Ticks of the fault phase. */
  steps?: number;
  /** Add learners, promote them, remove voters while clients run. */
  membership?: boolean;
  clients?: number;
  loss?: number;
  duplicate?: number;
  maxDelay?: number;
  /**
   * Probability that a leader crashes after sending a Ready's AppendEntries and before
   * persisting it (losing its unpersisted tail). Default 0.
   */
  crashBeforePersist?: number;
}

export interface SimResult {
  seed: number;
  ops: number;
  completed: number;
  committed: number;
  leaders: number;
  confChanges: number;
  transfers: number;
  /** Leaders crashed between sending AppendEntries and their own fsync. */
  crashesBeforePersist: number;
  linearizable: 'ok' | 'unknown';
}

export class SimFailure extends Error {
  constructor(seed: number, msg: string) {
    super(`sim seed ${seed}: ${msg}`);
    this.name = 'SimFailure';
  }
}

interface PendingWrite {
  op: Operation;
  node: string;
  index: number;
  term: number;
  client: number;
  deadline: number;
}

interface PendingRead {
  op: Operation;
  node: string;
  index: number | undefined;
  client: number;
  deadline: number;
}

export function runSimulation(o: SimOptions): SimResult {
  try {
    return simulate(o);
  } catch (e) {
    if (e instanceof SimFailure) throw e;
    // A broken invariant inside the core (it throws, never recovers): name the seed too.
    throw new SimFailure(o.seed, `core threw: ${(e as Error).stack ?? String(e)}`);
  }
}

function simulate(o: SimOptions): SimResult {
  const seed = o.seed;
  const fail = (msg: string): never => {
    throw new SimFailure(seed, msg);
  };
  const ids = Array.from({ length: o.voters }, (_, i) => `n${i + 1}`);
  const c = new Cluster(ids, {
    seed,
    core: { electionTicks: 10, heartbeatTicks: 1, maxEntriesPerMsg: 8, maxInflight: 4 },
    makeSm: () => new KvMachine(),
    snapshotThreshold: 12,
    trailingLogs: 4,
  });
  const rng = c.rng.fork();
  const steps = o.steps ?? 300;
  const loss = o.loss ?? 0.05;
  const dupP = o.duplicate ?? 0.02;
  const maxDelay = o.maxDelay ?? 3;
  let now = 0; // event clock for the history
  let tickNo = 0;

  // ---------------------------------------------------------------- invariants
  const leaderOfTerm = new Map<number, string>();
  const appliedAt = new Map<number, string>();
  const committedTerm = new Map<number, number>();
  const checkedCommit = new Map<string, number>();
  const leadersSeen = new Set<string>();
  let confChanges = 0;
  let transfers = 0;
  let crashesBeforePersist = 0;

  const history: Operation[] = [];
  const writes = new Map<string, PendingWrite>(); // `${node}@${index}`
  const reads = new Map<string, PendingRead>(); // context
  const busy = new Set<number>();
  let completed = 0;
  let readSeq = 0;

  c.onApply = ({ node, entry, result }) => {
    const k = `${entry.term}/${entry.type}/${dec(entry.data)}`;
    const prev = appliedAt.get(entry.index);
    if (prev !== undefined && prev !== k) fail(`state machine safety: ${node} applied ${k} at ${entry.index}, another node applied ${prev}`);
    appliedAt.set(entry.index, k);
    const w = writes.get(`${node}@${entry.index}`);
    if (w) {
      writes.delete(`${node}@${entry.index}`);
      busy.delete(w.client);
      if (entry.term === w.term && entry.type === EntryType.Normal) {
        w.op.output = result as KvOutput;
        w.op.return = ++now;
        completed++;
      } else {
        // Overwritten: the proposal can never commit, so it never took effect.
        history.splice(history.indexOf(w.op), 1);
      }
    }
    if (entry.type === EntryType.ConfChange) onConfApplied(node);
  };
  c.onReady = (n, rd) => {
    for (const rs of rd.readStates) {
      const r = reads.get(rs.context);
      if (r && r.node === n.id) r.index = rs.index;
    }
  };

  function onConfApplied(_node: string): void {
    confChanges++;
  }

  function checkInvariants(): void {
    for (const id of c.ids()) {
      const n = c.node(id);
      if (!n.up) continue;
      const core = n.core;
      if (core.role === 'leader') {
        const prev = leaderOfTerm.get(core.term);
        if (prev !== undefined && prev !== id) fail(`election safety: ${prev} and ${id} both lead term ${core.term}`);
        leaderOfTerm.set(core.term, id);
        const key = `${id}@${core.term}`;
        if (!leadersSeen.has(key)) {
          leadersSeen.add(key);
          for (const [i, t] of committedTerm) {
            if (i < core.log.firstIndex()) continue;
            if (core.log.term(i) !== t) fail(`leader completeness: new leader ${key} has term ${core.log.term(i)} at committed index ${i} (term ${t})`);
          }
        }
      }
      // Durable commit only: what the node may have revealed to anyone.
      const commit = Math.min(n.storage.hardStateSync().commit, core.log.lastIndex());
      const from = Math.max((checkedCommit.get(id) ?? 0) + 1, core.log.firstIndex());
      for (let i = from; i <= commit; i++) {
        const t = core.log.term(i);
        if (t === undefined) continue;
        const g = committedTerm.get(i);
        if (g !== undefined && g !== t) fail(`committed entry changed: ${id} has term ${t} at ${i}, committed term ${g}`);
        committedTerm.set(i, t);
      }
      checkedCommit.set(id, Math.max(checkedCommit.get(id) ?? 0, commit));
    }
  }

  // ---------------------------------------------------------------- network
  let inflight: { m: Message; at: number }[] = [];
  function collect(reliable: boolean): void {
    for (const m of c.queue) {
      if (!reliable && rng.next() < loss) continue;
      inflight.push({ m, at: tickNo + (reliable ? 0 : rng.int(maxDelay + 1)) });
      if (!reliable && rng.next() < dupP) inflight.push({ m, at: tickNo + rng.int(maxDelay + 1) });
    }
    c.queue = [];
  }
  const deferred = new Set<string>();
  function deliverDue(reliable: boolean): void {
    const due = inflight.filter((x) => x.at <= tickNo);
    inflight = inflight.filter((x) => x.at > tickNo);
    for (const { m } of reliable ? due : rng.shuffle(due)) {
      c.deliver(m);
      // Sometimes leave the Ready pending: a crash now loses it.
      if (!reliable && rng.next() < 0.15) deferred.add(m.to);
      else c.handleReady(m.to);
    }
  }

  // ---------------------------------------------------------------- faults
  const maxDown = (): number => Math.floor((c.ids().filter((id) => isVoterSomewhere(id)).length - 1) / 2);
  function isVoterSomewhere(id: string): boolean {
    const lead = c.leaders()[0];
    const conf = (lead ? c.core(lead) : c.core(ids[0] as string)).confState;
    return conf.voters.includes(id);
  }
  function crashAll(id: string): void {
    c.crash(id);
    deferred.delete(id);
    for (const [k, w] of writes) {
      if (w.node !== id) continue;
      writes.delete(k);
      busy.delete(w.client);
      // Unknown outcome: stays in the history with return = Infinity.
    }
    for (const [k, r] of reads) {
      if (r.node !== id) continue;
      reads.delete(k);
      busy.delete(r.client);
      history.splice(history.indexOf(r.op), 1);
    }
  }

  const crashP = o.crashBeforePersist ?? 0;
  if (crashP > 0) {
    c.crashBeforePersist = (n, rd) => {
      const replicating = rd.entries.length > 0 && rd.earlyMessages.some((m) => m.type === 'MsgApp' && (m.entries?.length ?? 0) > 0);
      if (!replicating || rng.next() >= crashP) return false;
      if (c.ids().filter((id) => !c.node(id).up).length >= maxDown()) return false;
      crashAll(n.id);
      crashesBeforePersist++;
      return true;
    };
  }

  let nextNodeNo = o.voters + 1;
  function membershipStep(): void {
    const lead = c.leaders()[0];
    if (!lead) return;
    const core = c.core(lead);
    const st = core.status();
    const conf = st.conf;
    try {
      const learner = conf.learners[0];
      if (learner) {
        const pr = st.progress?.[learner];
        if (pr && pr.match >= st.commit) {
          core.proposeConfChange({ type: ConfChangeType.PromoteVoter, nodeId: learner });
          c.handleReady(lead);
        }
        return;
      }
      if (conf.voters.length < 5 && rng.next() < 0.5) {
        const id = `n${nextNodeNo++}`;
        c.addEmpty(id);
        core.proposeConfChange({ type: ConfChangeType.AddLearner, nodeId: id });
        c.handleReady(lead);
      } else if (conf.voters.length > 3) {
        const victims = conf.voters.filter((v) => v !== lead);
        const victim = victims[rng.int(victims.length)] as string;
        core.proposeConfChange({ type: ConfChangeType.RemoveNode, nodeId: victim });
        c.handleReady(lead);
      }
    } catch (e) {
      if (!(e instanceof RaftError)) throw e;
    }
  }

  // ---------------------------------------------------------------- clients
  const nClients = o.clients ?? 3;
  const keys = ['x', 'y'];
  function clientStep(clientId: number): void {
    if (busy.has(clientId) || rng.next() > 0.3) return;
    const up = c.ids().filter((id) => c.node(id).up);
    const id = up[rng.int(up.length)];
    if (!id) return;
    const core = c.core(id);
    const key = keys[rng.int(keys.length)] as string;
    const kind = rng.int(3);
    if (kind === 0) {
      const ctx = `r${++readSeq}`;
      try {
        core.readIndex(ctx);
      } catch (e) {
        if (e instanceof RaftError) return;
        throw e;
      }
      const op: Operation = { clientId, input: { op: 'read', key }, output: undefined, call: ++now, return: Infinity };
      history.push(op);
      reads.set(ctx, { op, node: id, index: undefined, client: clientId, deadline: tickNo + 40 });
      busy.add(clientId);
      c.handleReady(id);
      return;
    }
    if (core.role !== 'leader') return;
    const value = `${clientId}.${now}`;
    const input: KvInput = kind === 1 ? { op: 'write', key, value } : { op: 'cas', key, expected: lastSeen.get(key) ?? null, value };
    let r: { index: number; term: number } | undefined;
    try {
      r = core.propose(enc(JSON.stringify(input)));
    } catch (e) {
      if (e instanceof RaftError) return;
      throw e;
    }
    if (!r) return;
    const op: Operation = { clientId, input, output: undefined, call: ++now, return: Infinity };
    history.push(op);
    writes.set(`${id}@${r.index}`, { op, node: id, index: r.index, term: r.term, client: clientId, deadline: tickNo + 60 });
    busy.add(clientId);
    c.handleReady(id);
  }
  const lastSeen = new Map<string, string | null>();

  function completeReads(): void {
    for (const [ctx, r] of reads) {
      const n = c.node(r.node);
      if (r.index !== undefined && n.up && n.core.log.applied >= r.index) {
        const v = (n.sm as KvMachine).kv.get(r.op.input.key) ?? null;
        r.op.output = v;
        r.op.return = ++now;
        lastSeen.set(r.op.input.key, v);
        reads.delete(ctx);
        busy.delete(r.client);
        completed++;
      } else if (tickNo > r.deadline) {
        reads.delete(ctx);
        busy.delete(r.client);
        history.splice(history.indexOf(r.op), 1);
      }
    }
    for (const [k, w] of writes) {
      if (tickNo > w.deadline) {
        // Client gives up: unknown outcome.
        writes.delete(k);
        busy.delete(w.client);
      }
    }
  }

  // ---------------------------------------------------------------- phases
  function step(faults: boolean): void {
    tickNo++;
    for (const id of c.ids()) c.tick(id);
    collect(!faults);
    deliverDue(!faults);
    if (faults) {
      const r = rng.next();
      const down = c.ids().filter((id) => !c.node(id).up);
      if (r < 0.01) {
        const victim = c.ids()[rng.int(c.ids().length)] as string;
        if (c.node(victim).up && down.length < maxDown()) crashAll(victim);
      } else if (r < 0.03 && down.length > 0) {
        const id = down[rng.int(down.length)] as string;
        c.restart(id);
      } else if (r < 0.04) {
        const lead = c.leaders()[0];
        if (lead) c.isolate(lead);
      } else if (r < 0.05) {
        const shuffled = rng.shuffle(c.ids());
        c.partition([shuffled.slice(0, Math.ceil(shuffled.length / 2))]);
      } else if (r < 0.08) {
        c.heal();
      } else if (r < 0.085) {
        const lead = c.leaders()[0];
        const others = lead ? c.core(lead).confState.voters.filter((v) => v !== lead) : [];
        if (lead && others.length > 0) {
          try {
            c.core(lead).transferLeader(others[rng.int(others.length)] as string);
            c.handleReady(lead);
            transfers++;
          } catch (e) {
            if (!(e instanceof RaftError)) throw e;
          }
        }
      } else if (o.membership && r < 0.115) {
        membershipStep();
      }
    }
    for (let k = 0; k < nClients; k++) clientStep(k);
    for (const id of deferred) c.handleReady(id);
    deferred.clear();
    c.flushReady();
    collect(!faults);
    completeReads();
    checkInvariants();
  }

  for (let i = 0; i < steps; i++) step(true);

  // Liveness: heal, restart everyone, no loss; a leader must emerge and a write must commit.
  c.heal();
  for (const id of c.ids()) if (!c.node(id).up) c.restart(id);
  inflight = inflight.map((x) => ({ ...x, at: tickNo }));
  let probe: { index: number; term: number; node: string } | undefined;
  for (let i = 0; i < 300; i++) {
    step(false);
    const lead = c.leaders()[0];
    const lost = probe && (!lead || c.core(lead).term !== probe.term) && !appliedAt.has(probe.index);
    if ((!probe || lost) && lead && c.core(lead).status().commit > 0) {
      try {
        const r = c.core(lead).propose(enc(JSON.stringify({ op: 'write', key: 'liveness', value: 'done' })));
        if (r) probe = { ...r, node: lead };
        c.handleReady(lead);
      } catch (e) {
        if (!(e instanceof RaftError)) throw e;
      }
    }
    if (probe && (appliedAt.get(probe.index) ?? '').startsWith(`${probe.term}/`) && reads.size === 0 && writes.size === 0) break;
  }
  if (!probe || !(appliedAt.get(probe.index) ?? '').startsWith(`${probe.term}/`)) {
    const st = c.ids().map((id) => {
      const s = c.core(id).status();
      return `${id}:${s.role}/t${s.term}/c${s.commit}/l${s.lastIndex}/${c.node(id).up ? 'up' : 'down'}`;
    });
    fail(`liveness: no write committed after healing (${st.join(' ')})`);
  }

  // Durability: every entry any node applied (committed) is still in the final leader's
  // log at the same index and term, or covered by its snapshot.
  const finalLead = c.leaders()[0];
  if (finalLead) {
    const log = c.core(finalLead).log;
    for (const [i, k] of appliedAt) {
      if (i < log.firstIndex()) {
        if (log.committed < i) fail(`durability: ${finalLead} compacted ${i} without committing it`);
        continue;
      }
      const t = log.term(i);
      if (t === undefined || !k.startsWith(`${t}/`)) fail(`durability: applied entry ${k} at ${i} is gone from leader ${finalLead} (term there: ${t})`);
      if (log.committed < i) fail(`durability: applied entry ${k} at ${i} is not committed on leader ${finalLead}`);
    }
  }

  const lin = checkKv(history, 2000);
  if (lin === 'illegal') {
    fail(`history not linearizable:\n${history.map((h) => JSON.stringify(h)).join('\n')}`);
  }
  return {
    seed,
    ops: history.length,
    completed,
    committed: committedTerm.size,
    leaders: leaderOfTerm.size,
    confChanges,
    transfers,
    crashesBeforePersist,
    linearizable: lin === 'ok' ? 'ok' : 'unknown',
  };
}
