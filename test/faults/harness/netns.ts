import { execFileSync, spawnSync } from 'node:child_process';
import { Delayer, NETDELAY_QUEUE, netdelayUnsupported, parseSummary } from './netdelay.js';

/**
 * A private L2 network made only of network namespaces this harness creates:
 *
 *   hf-br  (namespace)  bridge br0 ── hfv-<host> ══ eth0 in hf-<host>  (10.77.0.<n>/24)
 *                               └──── hfr-peer  ══ hf-root in the root namespace (10.77.0.1/24)
 *
 * The root-namespace veth lets the test runner reach every agent's HTTP API; nothing is
 * routed beyond the subnet. Every name starts with {@link PREFIX} so {@link cleanupLeftovers}
 * can remove what a crashed run left behind. Faults are applied inside host namespaces:
 * iptables DROP rules for partitions; for a degraded link `tc netem`, or where the kernel has
 * no netem the `netdelay` NFQUEUE delayer (see {@link ImpairMode}).
 */
export const PREFIX = 'hf-';
export const SUBNET = '10.77.0';
export const ROOT_ADDR = `${SUBNET}.1`;
const BRIDGE_NS = `${PREFIX}br`;
const ROOT_VETH = 'hf-root';

/** Thrown when the machine cannot host the harness (not root, no `ip netns`). */
export class UnsupportedError extends Error {
  override name = 'UnsupportedError';
}

function run(cmd: string, args: string[], allowFail = false): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
  } catch (e) {
    if (allowFail) return '';
    const err = e as { stderr?: string; message: string };
    throw new Error(`faults: ${cmd} ${args.join(' ')} failed: ${err.stderr?.trim() || err.message}`);
  }
}

const ip = (...args: string[]): string => run('ip', args);
const nsExec = (ns: string, cmd: string, args: string[], allowFail = false): string => run('ip', ['netns', 'exec', ns, cmd, ...args], allowFail);

/** Why the harness cannot run here, or undefined when it can. */
export function unsupportedReason(): string | undefined {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'network namespaces need root';
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return `\`ip netns\` is unavailable (${r.error?.message ?? r.stderr.trim()}); install iproute2`;
  const t = spawnSync('iptables', ['-V'], { encoding: 'utf8' });
  if (t.error || t.status !== 0) return '`iptables` is unavailable; install the iptables package';
  return undefined;
}

/** Namespaces whose name starts with the harness prefix. */
function ourNamespaces(): string[] {
  return run('ip', ['netns', 'list'], true)
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(PREFIX));
}

/**
 * Kills every process inside our namespaces and deletes the namespaces and the root veth.
 * Safe to call at any time; used before a run (leftovers of a crashed run) and after it.
 */
export function cleanupLeftovers(): void {
  const names = ourNamespaces();
  for (const ns of names) {
    for (const pid of run('ip', ['netns', 'pids', ns], true).split('\n').filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  run('ip', ['link', 'del', ROOT_VETH], true);
  for (const ns of names) run('ip', ['netns', 'del', ns], true);
}

/** Whether `tc netem` works in a namespace (the kernel may lack sch_netem). */
function probeNetem(ns: string): boolean {
  const ok = spawnSync('ip', ['netns', 'exec', ns, 'tc', 'qdisc', 'add', 'dev', 'lo', 'root', 'netem', 'delay', '1ms'], { encoding: 'utf8' }).status === 0;
  if (ok) nsExec(ns, 'tc', ['qdisc', 'del', 'dev', 'lo', 'root'], true);
  return ok;
}

export interface LinkImpairment {
  /** Packet loss in percent of the packets each impaired host sends. */
  lossPct: number;
  /** Added one-way delay (not in `loss-only` mode). */
  delayMs: number;
  /** Delay variation, the standard deviation of a normal distribution (not in `loss-only` mode); reordering follows from it. */
  jitterMs: number;
  /** Seeds the delayer's loss and delay draws (host i uses seed + i); default 1. netem is not seeded. */
  seed?: number;
}

/**
 * How {@link Network.impair} degrades a link, best first, as probed when the network is
 * created. Every mode acts on the packets a host sends on its eth0 (egress, like netem), so
 * a packet between two impaired hosts is impaired once.
 * - `netem`: `tc qdisc … netem delay D J distribution normal loss L%`.
 * - `netdelay`: no netem in this kernel: an iptables `NFQUEUE --queue-bypass` rule on OUTPUT
 *   hands each packet to the `netdelay` program in the host's namespace, which drops L% and
 *   releases the others after D ± J (normal, seeded), out of order as the delays fall.
 * - `loss-only`: neither available (netdelay could not be built): iptables `statistic`
 *   random drops, no delay or reordering.
 */
export type ImpairMode = 'netem' | 'netdelay' | 'loss-only';

/** The live network, if any: only it may tear down (a stale run's cleanup must not remove a newer one). */
let current: Network | undefined;

export class Network {
  private readonly addrs = new Map<string, string>();
  /** How links are impaired here; see {@link ImpairMode}. */
  readonly impairMode: ImpairMode = 'loss-only';
  /** Why the mode is not `netem` (empty when it is). */
  readonly impairModeReason: string = '';
  /** Running delayers by host (netdelay mode, while impaired). */
  private readonly delayers = new Map<string, Delayer>();
  private destroyed = false;

  private constructor(
    readonly hosts: readonly string[],
    private readonly note: (what: string) => void,
  ) {
    hosts.forEach((h, i) => this.addrs.set(h, `${SUBNET}.${10 + i}`));
  }

  /**
   * Creates the bridge and one namespace per host (names ≤ 10 chars, [a-z0-9]). `note`
   * receives what the delayers report (their packet counts when stopped, an unexpected exit).
   */
  static create(hosts: readonly string[], note: (what: string) => void = () => {}): Network {
    const why = unsupportedReason();
    if (why) throw new UnsupportedError(`faults: ${why}`);
    if (hosts.length > 200) throw new Error('faults: at most 200 hosts');
    for (const h of hosts) if (/^[a-z0-9]{1,10}$/.exec(h) === null) throw new Error(`faults: bad host name ${JSON.stringify(h)}`);
    cleanupLeftovers();
    const net = new Network(hosts, note);
    current = net;
    try {
      ip('netns', 'add', BRIDGE_NS);
      ip('-n', BRIDGE_NS, 'link', 'set', 'lo', 'up');
      ip('-n', BRIDGE_NS, 'link', 'add', 'br0', 'type', 'bridge');
      ip('-n', BRIDGE_NS, 'link', 'set', 'br0', 'up');
      for (const h of hosts) {
        const ns = net.ns(h);
        ip('netns', 'add', ns);
        ip('-n', ns, 'link', 'set', 'lo', 'up');
        ip('-n', BRIDGE_NS, 'link', 'add', `hfv-${h}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
        ip('-n', BRIDGE_NS, 'link', 'set', `hfv-${h}`, 'master', 'br0', 'up');
        ip('-n', ns, 'addr', 'add', `${net.addr(h)}/24`, 'dev', 'eth0');
        ip('-n', ns, 'link', 'set', 'eth0', 'up');
      }
      ip('link', 'add', ROOT_VETH, 'type', 'veth', 'peer', 'name', 'hfr-peer', 'netns', BRIDGE_NS);
      ip('-n', BRIDGE_NS, 'link', 'set', 'hfr-peer', 'master', 'br0', 'up');
      ip('addr', 'add', `${ROOT_ADDR}/24`, 'dev', ROOT_VETH);
      ip('link', 'set', ROOT_VETH, 'up');
      const mode = probeImpairMode(BRIDGE_NS);
      (net as { impairMode: ImpairMode }).impairMode = mode.mode;
      (net as { impairModeReason: string }).impairModeReason = mode.reason;
    } catch (e) {
      net.destroy();
      throw e;
    }
    return net;
  }

  ns(host: string): string {
    return `${PREFIX}${host}`;
  }

  addr(host: string): string {
    const a = this.addrs.get(host);
    if (!a) throw new Error(`faults: unknown host ${host}`);
    return a;
  }

  /**
   * Cuts traffic between hosts in different groups, both directions. Hosts in no group keep
   * talking to everyone. The test runner (root namespace) is never cut off.
   */
  partition(groups: readonly (readonly string[])[]): void {
    const groupOf = new Map<string, number>();
    groups.forEach((g, i) => g.forEach((h) => groupOf.set(h, i)));
    for (const [a, ga] of groupOf) {
      for (const [b, gb] of groupOf) if (ga !== gb) this.dropFrom(b, a);
    }
  }

  /** Drops every packet `from` sends to `to` (one-way: `to` still reaches `from`). */
  dropFrom(from: string, to: string): void {
    nsExec(this.ns(to), 'iptables', ['-w', '-A', 'INPUT', '-s', this.addr(from), '-j', 'DROP']);
  }

  /**
   * Degrades every packet each listed host sends (see {@link ImpairMode}); replaces an
   * earlier impairment of the same host. Resolves once the impairment is in force.
   */
  async impair(hosts: readonly string[], l: LinkImpairment): Promise<void> {
    for (const [i, h] of hosts.entries()) {
      const ns = this.ns(h);
      if (this.impairMode === 'netem') {
        const args = ['qdisc', 'replace', 'dev', 'eth0', 'root', 'netem', 'delay', `${l.delayMs}ms`, `${l.jitterMs}ms`, 'distribution', 'normal', 'loss', `${l.lossPct}%`];
        nsExec(ns, 'tc', args);
      } else if (this.impairMode === 'netdelay') {
        await this.stopDelayer(h);
        const d = await Delayer.start({
          ns,
          lossPct: l.lossPct,
          delayMs: l.delayMs,
          jitterMs: l.jitterMs,
          seed: (l.seed ?? 1) + i,
          onUnexpectedExit: (why) => this.note(`${why}; ${h}'s packets now pass unimpaired (--queue-bypass)`),
        });
        this.delayers.set(h, d);
        // Only locally sent packets leaving by eth0 (not the agent talking to itself on lo).
        // --queue-bypass: while no program serves the queue, packets pass (fail open). One
        // rule per host, also when impair() is called again.
        const rule = ['OUTPUT', '-o', 'eth0', '-j', 'NFQUEUE', '--queue-num', String(NETDELAY_QUEUE), '--queue-bypass'];
        nsExec(ns, 'iptables', ['-w', '-D', ...rule], true);
        nsExec(ns, 'iptables', ['-w', '-A', ...rule]);
      } else if (l.lossPct > 0) {
        const p = String(l.lossPct / 100);
        nsExec(ns, 'iptables', ['-w', '-A', 'OUTPUT', '-o', 'eth0', '-m', 'statistic', '--mode', 'random', '--probability', p, '-j', 'DROP']);
      }
    }
  }

  /** A one-line description of what {@link impair} does here, for timelines. */
  describeImpairment(l: LinkImpairment): string {
    const what = `${l.lossPct}% loss, ${l.delayMs} ms ± ${l.jitterMs} ms delay`;
    if (this.impairMode === 'netem') return `${what} (tc netem)`;
    if (this.impairMode === 'netdelay') return `${what} (netdelay on NFQUEUE, seed ${l.seed ?? 1}; no netem in this kernel)`;
    return `${l.lossPct}% loss only (iptables statistic: no delay or reordering; ${this.impairModeReason})`;
  }

  /**
   * Removes every partition and impairment. Rules go first, then each delayer is told to
   * release what it holds and exit (not awaited; {@link settle} waits).
   */
  heal(): void {
    for (const h of this.hosts) {
      nsExec(this.ns(h), 'iptables', ['-w', '-F'], true);
      if (this.impairMode === 'netem') nsExec(this.ns(h), 'tc', ['qdisc', 'del', 'dev', 'eth0', 'root'], true);
    }
    for (const h of [...this.delayers.keys()]) void this.stopDelayer(h);
  }

  /** Kills every running delayer as if it crashed (self-tests of failing open); returns how many. */
  crashDelayers(): number {
    let n = 0;
    for (const d of this.delayers.values()) {
      if (!d.running) continue;
      d.crash();
      n++;
    }
    return n;
  }

  /** Waits (bounded) until every delayer stopped by {@link heal} has exited. */
  async settle(): Promise<void> {
    await Promise.all([...this.stopping]);
  }

  private readonly stopping = new Set<Promise<void>>();

  private async stopDelayer(h: string): Promise<void> {
    const d = this.delayers.get(h);
    if (!d) return;
    this.delayers.delete(h);
    const p = d.stop().then((line) => {
      const s = parseSummary(line);
      this.note(s ? `netdelay ${h}: ${line.replace(/^netdelay: queue \d+: /, '')} (${((100 * s.dropped) / Math.max(1, s.packets)).toFixed(1)}% dropped)` : `netdelay ${h}: ${line}`);
    });
    this.stopping.add(p);
    try {
      await p;
    } finally {
      this.stopping.delete(p);
    }
  }

  /** Deletes everything this network created, delayers included. Idempotent. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const d of this.delayers.values()) d.kill();
    this.delayers.clear();
    if (current !== this) return;
    current = undefined;
    cleanupLeftovers();
  }
}

/** The best impairment mode this machine supports, and why it is not netem. */
function probeImpairMode(ns: string): { mode: ImpairMode; reason: string } {
  if (probeNetem(ns)) return { mode: 'netem', reason: '' };
  const why = netdelayUnsupported(ns);
  if (why) return { mode: 'loss-only', reason: `no tc netem in this kernel; ${why}` };
  return { mode: 'netdelay', reason: 'no tc netem in this kernel' };
}
