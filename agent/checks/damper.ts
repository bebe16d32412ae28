/**
 * Flap damping (Consul's SuccessBeforePassing / FailuresBeforeWarning / FailuresBeforeCritical).
 * Pure state machine: feed it every probe result, it says what (if anything) to report.
 *
 * Contract, exactly Consul's status handler:
 * - passing and warning both count as a success: the failure count resets, the success count
 *   grows, and the result is reported as it is once successes ≥ successBeforePassing;
 * - critical is a failure: the success count resets, the failure count grows; it is reported
 *   as critical once failures ≥ failuresBeforeCritical, else as warning once
 *   failures ≥ failuresBeforeWarning, else not at all;
 * - a result that is not reported leaves the check's last reported status in place;
 * - the counters start at the thresholds, so the very first result is always reported
 *   (Consul does this so a new check leaves its initial status at the first run).
 * Thresholds of 0 or 1 (0 is the default) report every result unchanged.
 */
import type { CheckStatus, ProbeResult } from './types.js';

export interface DamperThresholds {
  successBeforePassing: number;
  failuresBeforeWarning: number;
  failuresBeforeCritical: number;
}

export class StatusDamper {
  private successes: number;
  private failures: number;

  constructor(private readonly t: DamperThresholds) {
    this.successes = t.successBeforePassing;
    this.failures = t.failuresBeforeCritical;
  }

  /** Consecutive successes (passing or warning) seen so far. */
  get successCount(): number {
    return this.successes;
  }

  /** Consecutive failures (critical) seen so far. */
  get failureCount(): number {
    return this.failures;
  }

  /** Records one probe result; returns what to report, or undefined to report nothing. */
  step(status: CheckStatus, output: string): ProbeResult | undefined {
    if (status === 'passing' || status === 'warning') {
      this.successes++;
      this.failures = 0;
      return this.successes >= this.t.successBeforePassing ? { status, output } : undefined;
    }
    this.failures++;
    this.successes = 0;
    if (this.failures >= this.t.failuresBeforeCritical) return { status: 'critical', output };
    if (this.failures >= this.t.failuresBeforeWarning) return { status: 'warning', output };
    return undefined;
  }
}
