/**
 * `DeregisterCriticalServiceAfter`, as Consul's agent does it: every {@link REAP_INTERVAL_MS}
 * the reaper deregisters (from local state, so anti-entropy removes it from the catalog) each
 * service that has a check critical for longer than that check's timeout (at least 1 m).
 *
 * Contract: "critical since" is the reaper's clock time of the first change that left the
 * check critical (or when the reaper first saw it critical: at start, or at registration);
 * any non-critical status clears it. Node-level checks never reap anything.
 */
import type { Clock, TimerHandle } from '../runtime/clock.js';
import type { Logger } from '../runtime/logger.js';
import type { LocalState } from '../local/state.js';
import type { LocalCheck } from '../local/types.js';
import { parseDuration } from '../config/duration.js';
import { MIN_DEREGISTER_AFTER_MS } from './types.js';

/** Consul's reap pass interval. */
export const REAP_INTERVAL_MS = 30_000;

export class CriticalServiceReaper {
  private readonly since = new Map<string, number>();
  private unsubscribe: (() => void) | undefined;
  private timer: TimerHandle | undefined;
  private readonly log: Logger;

  constructor(
    private readonly local: LocalState,
    private readonly clock: Clock,
    logger: Logger,
  ) {
    this.log = logger.child({ component: 'checks' });
  }

  start(): void {
    if (this.unsubscribe) return;
    this.unsubscribe = this.local.subscribe((c) => {
      if (c.kind === 'check') this.observe(c.id, c.op === 'put');
    });
    for (const c of this.local.checks()) this.observe(c.CheckID, false);
    this.timer = this.clock.setInterval(() => this.reap(), REAP_INTERVAL_MS);
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.clock.clearInterval(this.timer);
    this.since.clear();
  }

  /** One reap pass (also run by the timer); returns the IDs of the services it deregistered. */
  reap(): string[] {
    const now = this.clock.now();
    const reaped: string[] = [];
    for (const c of this.local.checks()) {
      const timeout = deregisterAfterMs(c);
      const t = this.since.get(c.CheckID);
      if (timeout === undefined || t === undefined || c.ServiceID === '' || reaped.includes(c.ServiceID)) continue;
      if (now - t > timeout) {
        this.log.info({ serviceId: c.ServiceID, checkId: c.CheckID }, `check "${c.CheckID}" has been critical for too long; deregistered service "${c.ServiceID}"`);
        if (this.local.removeService(c.ServiceID)) reaped.push(c.ServiceID);
      }
    }
    return reaped;
  }

  private observe(id: string, fresh: boolean): void {
    const c = this.local.check(id);
    if (c === undefined || c.Status !== 'critical') {
      this.since.delete(id);
      return;
    }
    if (fresh || !this.since.has(id)) this.since.set(id, this.clock.now());
  }
}

/** The check's DeregisterCriticalServiceAfter in ms, raised to 1 m; undefined when unset. */
export function deregisterAfterMs(c: LocalCheck): number | undefined {
  const raw = c.Definition['DeregisterCriticalServiceAfter'];
  if (raw === undefined || raw === '') return undefined;
  let ms: number;
  try {
    ms = typeof raw === 'number' ? raw / 1e6 : parseDuration(String(raw));
  } catch {
    return undefined;
  }
  if (!(ms > 0)) return undefined;
  return Math.max(ms, MIN_DEREGISTER_AFTER_MS);
}
