/**
 * The running checks of an agent, by check ID. Replacing a check's runner (a re-registration)
 * stops the old runner completely before the new one starts, so a stale probe can never
 * report over a fresh one; operations on one check ID are applied in call order.
 */
import type { CheckRunner } from './runner.js';

export class CheckRunnerSet {
  private readonly runners = new Map<string, CheckRunner>();
  private readonly queues = new Map<string, Promise<void>>();
  private closed = false;

  /** IDs of the checks whose runner is running (or about to start). */
  ids(): string[] {
    return [...this.runners.keys()].sort();
  }

  has(checkId: string): boolean {
    return this.runners.has(checkId);
  }

  /** Starts `runner`, first stopping the runner it replaces (same checkId), if any. */
  set(runner: CheckRunner): Promise<void> {
    if (this.closed) return Promise.reject(new Error(`checks: runner set is stopped; cannot start check "${runner.checkId}"`));
    const old = this.runners.get(runner.checkId);
    this.runners.set(runner.checkId, runner);
    return this.enqueue(runner.checkId, async () => {
      if (old && old !== runner) await old.stop();
      // A later set() or remove() may already have superseded this runner.
      if (this.runners.get(runner.checkId) === runner) runner.start();
    });
  }

  /** Stops and forgets the check's runner; resolves false when there was none. */
  remove(checkId: string): Promise<boolean> {
    const old = this.runners.get(checkId);
    if (!old) return this.enqueue(checkId, async () => {}).then(() => false);
    this.runners.delete(checkId);
    return this.enqueue(checkId, () => old.stop()).then(() => true);
  }

  /** Stops every runner (agent shutdown); later set() calls are refused. */
  async stopAll(): Promise<void> {
    this.closed = true;
    const ids = [...this.runners.keys()];
    await Promise.all(ids.map((id) => this.remove(id)));
    await Promise.all([...this.queues.values()]);
  }

  private enqueue(checkId: string, op: () => Promise<void>): Promise<void> {
    const prev = this.queues.get(checkId) ?? Promise.resolve();
    const next = prev.then(op, op);
    const settled = next.catch(() => {});
    this.queues.set(checkId, settled);
    void settled.then(() => {
      if (this.queues.get(checkId) === settled) this.queues.delete(checkId);
    });
    return next;
  }
}
