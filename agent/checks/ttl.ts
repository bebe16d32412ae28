/**
 * TTL checks: the application reports in (`/v1/agent/check/pass|warn|fail|update`), and a
 * check that has not heard from it within its TTL turns critical with Consul's output
 * "TTL expired" (followed by the last output reported, if any).
 *
 * Contract: every TTL check in {@link LocalState} has exactly one armed timer from the moment
 * it is registered (including checks loaded from disk at start; registering it again starts
 * a fresh TTL) until it expires or is removed; a report re-arms it for a full TTL. Expiry writes through `LocalState.updateCheck`, so
 * anti-entropy pushes it like any other change. Time comes from the injected Clock.
 */
import { parseDuration } from '../config/duration.js';
import type { Clock, TimerHandle } from '../runtime/clock.js';
import type { Logger } from '../runtime/logger.js';
import type { LocalState } from '../local/state.js';
import type { LocalCheck, LocalCheckStatus } from '../local/types.js';

/** Consul truncates check output to 4 KiB by default. */
export const DEFAULT_OUTPUT_MAX = 4096;

export class TtlCheckError extends Error {
  override name = 'TtlCheckError';
  constructor(
    readonly reason: 'unknown' | 'not-ttl',
    message: string,
  ) {
    super(message);
  }
}

interface Armed {
  /** undefined once expired: the check stays critical until the next report. */
  handle: TimerHandle | undefined;
  ttlMs: number;
  lastOutput: string;
}

export class TtlChecks {
  private readonly armed = new Map<string, Armed>();
  private unsubscribe: (() => void) | undefined;
  private readonly log: Logger;

  constructor(
    private readonly local: LocalState,
    private readonly clock: Clock,
    logger: Logger,
  ) {
    this.log = logger.child({ component: 'checks' });
  }

  /** Arms every TTL check already registered and follows later registrations. */
  start(): void {
    if (this.unsubscribe) return;
    this.unsubscribe = this.local.subscribe((c) => {
      if (c.kind === 'check' && c.op !== 'update') this.reconcile(c.id);
    });
    for (const c of this.local.checks()) this.reconcile(c.CheckID);
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    for (const a of this.armed.values()) this.clock.clearTimeout(a.handle);
    this.armed.clear();
  }

  /**
   * Records a report for TTL check `id`: sets its status and output (truncated to
   * {@link DEFAULT_OUTPUT_MAX} bytes, or the check's OutputMaxSize) and re-arms its timer.
   * Throws {@link TtlCheckError} for an unknown check or one that is not a TTL check.
   */
  update(id: string, status: LocalCheckStatus, output: string): void {
    const c = this.local.check(id);
    if (c === undefined) throw new TtlCheckError('unknown', `Unknown check ID "${id}". Ensure you are using the check ID, not the check name.`);
    if (c.Type !== 'ttl') throw new TtlCheckError('not-ttl', `CheckID "${id}" does not have associated TTL`);
    const max = typeof c.Definition['OutputMaxSize'] === 'number' && c.Definition['OutputMaxSize'] > 0 ? c.Definition['OutputMaxSize'] : DEFAULT_OUTPUT_MAX;
    const out = truncate(output, max);
    this.arm(c, out);
    this.local.updateCheck(id, status, out);
  }

  /** Number of TTL checks whose timer is running (for tests and stats). */
  get size(): number {
    let n = 0;
    for (const a of this.armed.values()) if (a.handle !== undefined) n++;
    return n;
  }

  private reconcile(id: string): void {
    const c = this.local.check(id);
    const a = this.armed.get(id);
    if (c === undefined || c.Type !== 'ttl') {
      if (a) {
        this.clock.clearTimeout(a.handle);
        this.armed.delete(id);
      }
      return;
    }
    this.arm(c, c.Output);
  }

  private arm(c: LocalCheck, lastOutput: string): void {
    const prev = this.armed.get(c.CheckID);
    if (prev) this.clock.clearTimeout(prev.handle);
    const ttlMs = ttlOf(c);
    const id = c.CheckID;
    const handle = this.clock.setTimeout(() => {
      const a = this.armed.get(id);
      if (a === undefined || a.handle !== handle) return;
      a.handle = undefined;
      const output = a.lastOutput === '' ? 'TTL expired' : `TTL expired (last output before timeout follows): ${a.lastOutput}`;
      this.log.warn({ checkId: id }, `check "${id}": TTL expired`);
      this.local.updateCheck(id, 'critical', output);
    }, ttlMs);
    this.armed.set(id, { handle, ttlMs, lastOutput });
  }
}

function ttlOf(c: LocalCheck): number {
  return parseDuration(String(c.Definition['TTL']));
}

function truncate(s: string, max: number): string {
  const b = Buffer.from(s, 'utf8');
  if (b.length <= max) return s;
  return `${b.subarray(0, max).toString('utf8')} ... (captured ${max} of ${b.length} bytes)`;
}
