/**
 * Lifeguard suspicion timer. A suspected member is declared failed when the timer expires.
 * The timer starts at `max` and shrinks towards `min` as independent confirmations (other
 * members suspecting the same node at the same incarnation) arrive; repeated suspicion from
 * the same source never restarts or extends it.
 */
export class Suspicion {
  private readonly confirmers = new Set<string>();
  private confirmations = 0;
  private deadline: number;
  private lastCalls = 0;

  /**
   * @param start tick the suspicion began
   * @param k confirmations expected to reach `min`; 0 means the timeout is `min` outright
   * @param from the member whose suspicion started the timer (not counted as a confirmation)
   */
  constructor(
    readonly start: number,
    private readonly k: number,
    private readonly min: number,
    private readonly max: number,
    from: string,
  ) {
    this.confirmers.add(from);
    this.deadline = start + (k < 1 ? min : max);
  }

  /**
   * Records a confirmation from `from`. Returns true when it was new (and so worth
   * re-gossiping); the deadline then moves earlier, never later.
   */
  confirm(from: string): boolean {
    if (this.confirmations >= this.k) return false;
    if (this.confirmers.has(from)) return false;
    this.confirmers.add(from);
    this.confirmations++;
    this.deadline = this.start + remainingSuspicionTime(this.confirmations, this.k, this.min, this.max);
    return true;
  }

  /** Tick at which the member is to be declared failed. */
  expiresAt(): number {
    return this.deadline;
  }

  /**
   * Whether the expired timer may end in a verdict now: only after a last call (see
   * {@link lastCall}) has had its grace to be refuted, and, while this node's own health
   * is degraded (`healthy` false), only after `maxCalls` last calls.
   */
  mayConclude(healthy: boolean, maxCalls: number): boolean {
    return this.lastCalls > 0 && (healthy || this.lastCalls >= maxCalls);
  }

  /**
   * Records a last call at `now` — the suspicion told to the suspect directly — and
   * postpones the verdict by `grace` ticks for the refutation to arrive.
   */
  lastCall(now: number, grace: number): void {
    this.lastCalls++;
    this.deadline = Math.max(this.deadline, now + grace);
  }

  lastCallCount(): number {
    return this.lastCalls;
  }

  confirmationCount(): number {
    return this.confirmations;
  }
}

/**
 * Base suspicion timeout (memberlist `suspicionTimeout`):
 * `mult × max(1, log10(max(1, n))) × interval`, rounded up to a whole tick.
 */
export function suspicionTimeout(mult: number, n: number, interval: number): number {
  const nodeScale = Math.max(1, Math.log10(Math.max(1, n)));
  return Math.ceil(mult * nodeScale * interval - 1e-9);
}

/**
 * Total timeout (from the start of suspicion) after `c` of `k` expected confirmations:
 * `max − (max − min) × log(c + 1) / log(k + 1)`, never below `min`. With k < 1 it is `min`.
 */
export function remainingSuspicionTime(c: number, k: number, min: number, max: number): number {
  if (k < 1) return min;
  const frac = Math.log(c + 1) / Math.log(k + 1);
  const raw = Math.floor(max - frac * (max - min));
  return Math.max(min, raw);
}

/**
 * Confirmations expected for a suspicion in a cluster of `n` members: `indirectChecks`, or 0
 * when fewer than that many members (besides this node and the suspect) could confirm.
 */
export function expectedConfirmations(indirectChecks: number, n: number): number {
  return n - 2 < indirectChecks ? 0 : indirectChecks;
}
