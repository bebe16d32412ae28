/**
 * The leader's view of one follower's log (etcd-raft's Progress).
 *
 * - probe: one AppendEntries at a time until the follower's match point is found;
 * - replicate: optimistic pipelining, `next` advanced on send, bounded by an inflight window;
 * - snapshot: a snapshot is on its way; nothing else is sent until it is acknowledged
 *   (or `snapshotTicks` reaches the election timeout, when the leader probes again).
 *
 * Invariant: `match < next`.
 */
export type ProgressState = 'probe' | 'replicate' | 'snapshot';

/** Flow control: the last indexes of AppendEntries messages in flight, oldest first. */
export class Inflights {
  private readonly buf: number[] = [];
  constructor(readonly capacity: number) {}

  get count(): number {
    return this.buf.length;
  }

  full(): boolean {
    return this.buf.length >= this.capacity;
  }

  add(lastIndex: number): void {
    this.buf.push(lastIndex);
  }

  /** Frees every message whose last index is <= `index` (acknowledged). */
  freeLE(index: number): void {
    let n = 0;
    while (n < this.buf.length && (this.buf[n] as number) <= index) n++;
    this.buf.splice(0, n);
  }

  freeFirst(): void {
    this.buf.shift();
  }

  reset(): void {
    this.buf.length = 0;
  }
}

export class Progress {
  match = 0;
  next: number;
  state: ProgressState = 'probe';
  /** In probe state: an AppendEntries was sent and not yet answered (pause until then). */
  probeSent = false;
  /** Index of the snapshot being sent in snapshot state. */
  pendingSnapshot = 0;
  snapshotTicks = 0;
  /** Heard from since the last check-quorum round. */
  recentActive = false;
  /**
   * The highest commit index sent to this follower (in an AppendEntries or heartbeat): a
   * broadcast with nothing new for it skips the follower (etcd-raft's sentCommit).
   */
  sentCommit = 0;
  readonly inflights: Inflights;

  constructor(next: number, maxInflight: number, readonly isLearner: boolean) {
    this.next = next;
    this.inflights = new Inflights(maxInflight);
  }

  private resetState(state: ProgressState): void {
    this.state = state;
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.snapshotTicks = 0;
    this.inflights.reset();
  }

  becomeProbe(): void {
    if (this.state === 'snapshot') {
      const ps = this.pendingSnapshot;
      this.resetState('probe');
      this.next = Math.max(this.match + 1, ps + 1);
    } else {
      this.resetState('probe');
      this.next = this.match + 1;
    }
  }

  becomeReplicate(): void {
    this.resetState('replicate');
    this.next = this.match + 1;
  }

  becomeSnapshot(index: number): void {
    this.resetState('snapshot');
    this.pendingSnapshot = index;
  }

  /** Records an acknowledgement up to `n`; true if `match` moved. */
  maybeUpdate(n: number): boolean {
    let updated = false;
    if (this.match < n) {
      this.match = n;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, n + 1);
    return updated;
  }

  /**
   * Handles a rejection of the AppendEntries at `rejected`; `hint` is the follower's last
   * possibly matching index. Returns false for a stale rejection (ignored).
   */
  maybeDecrTo(rejected: number, hint: number): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, hint + 1), this.match + 1, 1);
    this.probeSent = false;
    return true;
  }

  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.probeSent;
      case 'replicate':
        return this.inflights.full();
      case 'snapshot':
        return true;
    }
  }
}
