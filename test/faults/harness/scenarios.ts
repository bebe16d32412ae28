import type { Rng } from '../../../agent/runtime/rng.js';
import type { Cluster, Host, HostSpec } from './cluster.js';
import type { FaultLog } from './fault-log.js';

/** What a scenario's nemesis can do; every fault goes through here so it lands in the timeline. */
export interface Nemesis {
  cluster: Cluster;
  rng: Rng;
  /** Every host fault and cut, with times: what excuses a gossip `failed` verdict. */
  faults: FaultLog;
  note: (what: string) => void;
  /** Sleeps, but returns early (false) once the fault phase is over. */
  sleep: (ms: number) => Promise<boolean>;
  /** Whether the fault phase still runs. */
  active: () => boolean;
  /** Milliseconds left in the fault phase. */
  remainingMs: () => number;
  /** Waits (bounded) until a running server names a leader. */
  awaitLeader: (ms: number) => Promise<Host | undefined>;
}

export interface Scenario {
  name: string;
  summary: string;
  hosts: HostSpec[];
  /** Extra agent config for every agent. */
  config?: Record<string, unknown>;
  /** Runs faults until `n.active()` is false. The runner heals everything afterwards. */
  nemesis: (n: Nemesis) => Promise<void>;
  /**
   * Negative control: clients read with ?stale, and the run passes only if the
   * linearizability checker finds the resulting anomaly (proof the checker has teeth).
   */
  control?: boolean;
  /** Servers that must have restored a leader's snapshot by the end. */
  expectSnapshotRestore?: (n: Nemesis) => string[];
}

const hosts = (servers: number, clients: number): HostSpec[] => [
  ...Array.from({ length: servers }, (_, i) => ({ name: `s${i + 1}`, server: true })),
  ...Array.from({ length: clients }, (_, i) => ({ name: `c${i + 1}`, server: false })),
];

const names = (hs: Host[]): string => hs.map((h) => h.name).join(',');

/** Holds a fault for `holdMs`, heals, then lets the cluster recover for `recoverMs`. */
async function cycle(n: Nemesis, holdMs: number, recoverMs: number, inject: () => Promise<void> | void, heal: () => Promise<void> | void): Promise<void> {
  await inject();
  await n.sleep(holdMs);
  await heal();
  await n.sleep(recoverMs);
}

function partition(n: Nemesis, groups: Host[][], label: string): void {
  n.cluster.net.partition(groups.map((g) => g.map((h) => h.name)));
  for (const [i, g] of groups.entries()) {
    for (const other of groups.slice(i + 1)) for (const a of g) for (const b of other) n.faults.cut(a.name, b.name);
  }
  n.note(`partition (${label}): ${groups.map(names).join(' | ')}`);
}

function heal(n: Nemesis): void {
  n.cluster.net.heal();
  n.faults.networkHealed();
  n.note('heal network');
}

export const scenarios: Scenario[] = [
  {
    name: 'leader-isolated',
    summary: '5 servers + 3 clients; the current leader is cut off from every other host while clients write, then healed; repeated.',
    hosts: hosts(5, 3),
    nemesis: async (n) => {
      while (n.active()) {
        const leader = await n.awaitLeader(10_000);
        if (!leader || !n.active()) break;
        const rest = n.cluster.hosts.filter((h) => h !== leader);
        await cycle(n, 6000 + n.rng.int(4000), 4000, () => partition(n, [[leader], rest], `isolate leader ${leader.name}`), () => heal(n));
      }
    },
  },
  {
    name: 'control-stale-reads',
    summary: 'negative control: as leader-isolated, but clients read with ?stale; passes only if the checker catches the stale reads.',
    hosts: hosts(5, 3),
    control: true,
    nemesis: async (n) => {
      while (n.active()) {
        const leader = await n.awaitLeader(10_000);
        if (!leader || !n.active()) break;
        const rest = n.cluster.hosts.filter((h) => h !== leader);
        await cycle(n, 8000, 3000, () => partition(n, [[leader], rest], `isolate leader ${leader.name}`), () => heal(n));
      }
    },
  },
  {
    name: 'split',
    summary: '5 servers + 3 clients; a random majority/minority split (3|2 servers, clients spread at random), healed; repeated.',
    hosts: hosts(5, 3),
    nemesis: async (n) => {
      while (n.active()) {
        const servers = n.rng.shuffle([...n.cluster.servers]);
        const major = servers.slice(0, 3);
        const minor = servers.slice(3);
        for (const c of n.cluster.clients) (n.rng.next() < 0.5 ? major : minor).push(c);
        await cycle(n, 6000 + n.rng.int(4000), 4000, () => partition(n, [major, minor], 'majority | minority'), () => heal(n));
      }
    },
  },
  {
    name: 'one-way',
    summary: '5 servers + 3 clients; the leader stops hearing from two followers (one-way drop), healed; repeated.',
    hosts: hosts(5, 3),
    nemesis: async (n) => {
      while (n.active()) {
        const leader = await n.awaitLeader(10_000);
        if (!leader || !n.active()) break;
        const others = n.rng.shuffle(n.cluster.servers.filter((h) => h !== leader)).slice(0, 2);
        await cycle(
          n,
          6000,
          4000,
          () => {
            for (const o of others) {
              n.cluster.net.dropFrom(o.name, leader.name);
              n.faults.cut(o.name, leader.name);
            }
            n.note(`one-way: ${leader.name} (leader) drops packets from ${names(others)}`);
          },
          () => heal(n),
        );
      }
    },
  },
  {
    name: 'rolling-kill',
    summary: '5 servers + 3 clients; each server in turn is SIGKILLed, left down, restarted from its data dir, and rejoins.',
    hosts: hosts(5, 3),
    nemesis: async (n) => {
      while (n.active()) {
        for (const s of n.rng.shuffle([...n.cluster.servers])) {
          if (!n.active()) return;
          n.faults.hostFault(s.name);
          n.note(`SIGKILL ${s.name}`);
          await s.signal('SIGKILL');
          await n.sleep(4000);
          n.note(`restart ${s.name} from its data dir`);
          await s.start();
          n.faults.hostHealed(s.name);
          await n.awaitLeader(15_000);
          await n.sleep(3000);
        }
      }
    },
  },
  {
    name: 'pause',
    summary: '5 servers + 3 clients; two servers (often the leader) SIGSTOPped for 3–5 s, past the 1–2 s election timeout, then SIGCONT.',
    hosts: hosts(5, 3),
    nemesis: async (n) => {
      while (n.active()) {
        const leader = await n.awaitLeader(10_000);
        const pool = n.cluster.servers.filter((h) => h !== leader);
        const victims = [leader && n.rng.next() < 0.6 ? leader : (pool.splice(n.rng.int(pool.length), 1)[0] as Host), pool[n.rng.int(pool.length)] as Host];
        const uniq = [...new Set(victims)];
        await cycle(
          n,
          3000 + n.rng.int(2000),
          5000,
          async () => {
            for (const v of uniq) {
              n.faults.hostFault(v.name);
              await v.signal('SIGSTOP');
            }
            n.note(`SIGSTOP ${names(uniq)}${leader && uniq.includes(leader) ? ' (incl. leader)' : ''}`);
          },
          async () => {
            for (const v of uniq) {
              await v.signal('SIGCONT');
              n.faults.hostHealed(v.name);
            }
            n.note(`SIGCONT ${names(uniq)}`);
          },
        );
      }
    },
  },
  {
    name: 'lossy',
    summary: '5 servers + 3 clients; every host loses 10% of the packets it sends and delays the rest 50 ms ± 20 ms (normal) for the whole fault phase (tc netem, or the netdelay NFQUEUE delayer where the kernel has no netem).',
    hosts: hosts(5, 3),
    nemesis: async (n) => {
      const all = n.cluster.hosts.map((h) => h.name);
      const l = { lossPct: 10, delayMs: 50, jitterMs: 20, seed: n.rng.int(2 ** 31) };
      for (const h of all) n.faults.hostFault(h);
      await n.cluster.net.impair(all, l);
      n.note(`impair all links: ${n.cluster.net.describeImpairment(l)}`);
      while (await n.sleep(1000)) {
        // hold
      }
    },
  },
  {
    name: 'wipe',
    summary: '5 servers + 3 clients, snapshots every 64 entries; a follower is killed, its data dir wiped, writes go on, and it rejoins as a new server that must catch up by snapshot.',
    hosts: hosts(5, 3),
    config: { raft_snapshot_threshold: 64, raft_trailing_logs: 16 },
    nemesis: async (n) => {
      const leader = await n.awaitLeader(10_000);
      const victim = n.rng.shuffle(n.cluster.servers.filter((h) => h !== leader))[0] as Host;
      n.faults.hostFault(victim.name);
      n.note(`SIGKILL ${victim.name} and wipe its data dir`);
      await victim.wipe();
      await n.sleep(Math.max(3000, n.remainingMs() / 3));
      n.note(`restart ${victim.name} empty (new node ID)`);
      await victim.start();
      n.faults.hostHealed(victim.name);
      while (await n.sleep(1000)) {
        // let it catch up while clients write
      }
      (n as Nemesis & { wiped?: string }).wiped = victim.name;
    },
    expectSnapshotRestore: (n) => {
      const w = (n as Nemesis & { wiped?: string }).wiped;
      return w ? [w] : [];
    },
  },
  {
    name: 'lifeguard',
    summary: '3 servers + 17 clients; one client blocks its event loop 300 ms every second (HERALD_TEST_STALL_MS); no member may be declared failed.',
    hosts: [...hosts(3, 17)].map((h) => (h.name === 'c1' ? { ...h, env: { HERALD_TEST_STALL_MS: '300', HERALD_TEST_STALL_EVERY_MS: '1000' } } : h)),
    nemesis: async (n) => {
      n.note('c1 stalls its event loop 300 ms every 1000 ms (since start)');
      while (await n.sleep(1000)) {
        // the fault is continuous
      }
    },
  },
];

export function scenario(name: string): Scenario {
  const s = scenarios.find((x) => x.name === name);
  if (!s) throw new Error(`faults: unknown scenario ${JSON.stringify(name)}; known: ${scenarios.map((x) => x.name).join(', ')}`);
  return s;
}
