/**
 * Which host or link each fault touched, and when; the basis on which the gossip checker
 * tells a false `failed` verdict from one the faults explain.
 *
 * Two kinds of fault:
 * - a **host fault** (killed, paused, data dir wiped, all its packets impaired) makes the
 *   host itself unhealthy from its start until the nemesis undoes it (restart, SIGCONT,
 *   heal); a host fault never undone lasts until the run's final heal;
 * - a **cut** (a partition or a one-way drop) separates two hosts; it is remembered as a
 *   pair, either direction.
 *
 * Times are the run's history clock (ms since its start).
 */
export interface HostFaultWindow {
  host: string;
  from: number;
  /** Undefined while the fault lasts. */
  to?: number;
}

export class FaultLog {
  readonly windows: HostFaultWindow[] = [];
  private readonly open = new Map<string, HostFaultWindow>();
  private readonly cuts = new Set<string>();
  /** When the network was healed (every cut undone). */
  private readonly heals: number[] = [];

  constructor(private readonly now: () => number) {}

  /** `host` becomes unhealthy now (a second call while it is already faulted is a no-op). */
  hostFault(host: string): void {
    if (this.open.has(host)) return;
    const w: HostFaultWindow = { host, from: this.now() };
    this.windows.push(w);
    this.open.set(host, w);
  }

  /** `host` is healthy again from now. */
  hostHealed(host: string): void {
    const w = this.open.get(host);
    if (!w) return;
    w.to = this.now();
    this.open.delete(host);
  }

  /** Every host fault ends now (the final heal). */
  healAll(): void {
    for (const h of [...this.open.keys()]) this.hostHealed(h);
  }

  /** `a` and `b` cannot (or one of them cannot) hear each other from now. */
  cut(a: string, b: string): void {
    this.cuts.add(pair(a, b));
  }

  /** Every cut ends now (the network is healed). */
  networkHealed(): void {
    this.heals.push(this.now());
  }

  /** Whether `host` was ever cut from another host and the network was healed in [t − graceMs, t]. */
  cutHealedAround(host: string, t: number, graceMs: number): boolean {
    if (![...this.cuts].some((p) => p.split('|').includes(host))) return false;
    return this.heals.some((h) => h <= t && h + graceMs >= t);
  }

  /** Hosts that had a host fault at any time. */
  hostFaulted(): Set<string> {
    return new Set(this.windows.map((w) => w.host));
  }

  /** Whether `a` and `b` were ever cut from each other, in either direction. */
  wasCut(a: string, b: string): boolean {
    return this.cuts.has(pair(a, b));
  }

  /** Whether `host` had a host fault at some time in [t − graceMs, t]. */
  faultedAround(host: string, t: number, graceMs: number): boolean {
    return this.windows.some((w) => w.host === host && w.from <= t && (w.to === undefined || w.to + graceMs >= t));
  }

  /** Hosts never touched by any fault (no host fault and no cut). */
  untouched(hosts: readonly string[]): string[] {
    const hf = this.hostFaulted();
    return hosts.filter((h) => !hf.has(h) && !hosts.some((o) => o !== h && this.wasCut(h, o)));
  }

  /**
   * Ordered (observer, member) pairs whose `failed` verdicts no fault of the member or
   * between the two could explain: where the gossip check has teeth (the observer's own
   * fault windows aside).
   */
  checkedPairs(hosts: readonly string[]): number {
    const hf = this.hostFaulted();
    let n = 0;
    for (const m of hosts) {
      if (hf.has(m)) continue;
      for (const o of hosts) if (o !== m && !this.wasCut(o, m)) n++;
    }
    return n;
  }
}

function pair(a: string, b: string): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}
