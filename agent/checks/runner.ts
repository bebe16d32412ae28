/**
 * The interval runner: runs one probe every `intervalMs`, first after a random stagger, never
 * two runs of the same check at once, and reports damped results. Shared by HTTP, TCP, gRPC
 * and script checks; each kind only supplies its probe.
 *
 * Schedule (Consul's): wait rng·interval, probe, then wait a full interval after the probe
 * *finished*, probe again, and so on. So a slow probe delays the next one instead of
 * overlapping it.
 */
import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../runtime/clock.js';
import type { Rng } from '../runtime/rng.js';
import { silentLogger } from '../runtime/logger.js';
import { StatusDamper, type DamperThresholds } from './damper.js';
import type { CheckReport, IntervalCheckSpec, ProbeResult } from './types.js';
import { DEFAULT_TIMEOUT_MS } from './types.js';

/** What every runner offers the agent. */
export interface CheckRunner {
  readonly checkId: string;
  /** Starts scheduling; idempotent. A stopped runner cannot be started again. */
  start(): void;
  /**
   * Stops scheduling and aborts a probe in flight. Resolves when no probe of this check is
   * running any more (a killed script has exited). Nothing is reported after stop() is called.
   */
  stop(): Promise<void>;
}

/**
 * A probe: runs the check once. Must resolve (never reject) with a result, and must finish
 * promptly once `signal` aborts.
 */
export type Probe = (signal: AbortSignal) => Promise<ProbeResult>;

export interface IntervalRunnerOptions extends DamperThresholds {
  checkId: string;
  intervalMs: number;
  probe: Probe;
  report: CheckReport;
  /** Sees every probe result before damping, and whether it was reported (for metrics). */
  onResult?: (result: ProbeResult, reported: boolean) => void;
  clock: Clock;
  rng: Rng;
  logger?: Logger;
}

export class IntervalRunner implements CheckRunner {
  readonly checkId: string;
  private readonly damper: StatusDamper;
  private readonly logger: Logger;
  private timer: TimerHandle | undefined;
  private running: Promise<void> | undefined;
  private abort: AbortController | undefined;
  private started = false;
  private stopped = false;
  private runs = 0;

  constructor(private readonly opts: IntervalRunnerOptions) {
    if (!(opts.intervalMs > 0)) throw new RangeError(`checks: interval must be positive for check ${opts.checkId}`);
    this.checkId = opts.checkId;
    this.damper = new StatusDamper(opts);
    this.logger = (opts.logger ?? silentLogger()).child({ component: 'checks', check: opts.checkId });
  }

  /** Probes started so far. */
  get runCount(): number {
    return this.runs;
  }

  /** True while a probe is running. */
  get busy(): boolean {
    return this.abort !== undefined;
  }

  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    this.schedule(Math.floor(this.opts.rng.next() * this.opts.intervalMs));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.opts.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.abort?.abort();
    await this.running;
  }

  private schedule(ms: number): void {
    this.timer = this.opts.clock.setTimeout(() => {
      this.timer = undefined;
      this.running = this.runOnce();
    }, ms);
  }

  private async runOnce(): Promise<void> {
    if (this.stopped) return;
    this.runs++;
    const ac = new AbortController();
    this.abort = ac;
    let result: ProbeResult;
    try {
      result = await this.opts.probe(ac.signal);
    } catch (err) {
      // Probes should not throw; if one does, the check is critical rather than silent.
      result = { status: 'critical', output: `checks: probe failed: ${(err as Error).message}` };
    }
    this.abort = undefined;
    if (this.stopped) return;
    const out = this.damper.step(result.status, result.output);
    try {
      this.opts.onResult?.(result, out !== undefined);
    } catch (err) {
      this.logger.error({ err }, 'check result observer threw');
    }
    if (out) {
      try {
        this.opts.report(out.status, out.output);
      } catch (err) {
        // The schedule must survive a faulty consumer.
        this.logger.error({ err }, 'check report callback threw');
      }
    } else {
      this.logger.debug({ status: result.status }, 'check result below damping threshold; not reported');
    }
    this.running = undefined;
    this.schedule(this.opts.intervalMs);
  }
}

/**
 * The per-run timeout: the spec's Timeout, or 10 s when it has none (Consul's default for
 * HTTP, TCP and gRPC; script specs from the parser carry Consul's 30 s default).
 */
export function effectiveTimeoutMs(spec: IntervalCheckSpec): number {
  return spec.timeoutMs > 0 ? spec.timeoutMs : DEFAULT_TIMEOUT_MS;
}
