/**
 * Alias checks: mirror the health of another node or service instance, like Consul's.
 *
 * The runner reads the aliased checks through an injected {@link AliasFetch}, which the agent
 * implements as a blocking query (`/v1/health/node/:node` semantics: every check of the node,
 * node-level and service-level) or, for the agent's own node, as a read of local state.
 *
 * Status rule ({@link aliasResult}, Consul's): consider the node-level checks of the node plus,
 * when a service is aliased, that service instance's checks; the result is the worst of them
 * (critical > warning > passing), passing when there are none.
 * Outputs:
 * - no checks at all:                "No checks found."
 * - all passing:                     "All checks passing."
 * - a check warning or critical:     `Aliased check "<Name>" failing: <Output>` (the first
 *                                    critical one, else the last warning one)
 * - aliased service not registered:  critical "Service <id> could not be found on node <node>"
 * - the checks cannot be read twice in a row: critical "Failure checking aliased node or
 *   service: <error>" (the first failure is only retried).
 *
 * Retries (Consul's): the first three consecutive failures are retried at once, after that
 * with a wait of 2^(n-3) × retryMs, at most 60 × retryMs.
 */
import { StoppableLoop } from '../runtime/loop.js';
import type { Logger } from 'pino';
import type { Clock } from '../runtime/clock.js';
import { silentLogger } from '../runtime/logger.js';
import type { CheckRunner } from './runner.js';
import type { AliasCheckSpec, CheckReport, ProbeResult } from './types.js';

/** The fields of a catalog HealthCheck an alias needs (a subset of Consul's HealthCheck JSON). */
export interface AliasedCheck {
  Node: string;
  Name: string;
  Status: string;
  Output: string;
  /** '' for a node-level check. */
  ServiceID: string;
}

export interface AliasQuery {
  /** The aliased node (the agent's own node when the definition has no AliasNode). */
  node: string;
  /** True when the definition has no AliasNode: read this agent's local state. */
  local: boolean;
  /** The aliased service instance ID, if any. */
  serviceId?: string;
}

export interface AliasSnapshot {
  /** Blocking-query index of this answer (X-Consul-Index); 0 if the source has none. */
  index: number;
  /** All checks of the aliased node (node-level and service-level). */
  checks: AliasedCheck[];
  /** Whether the aliased service instance is registered; undefined = unknown (not checked). */
  serviceExists?: boolean;
}

/**
 * Reads the aliased checks. With `minIndex` > 0 it should wait (a blocking query) until the
 * data's index exceeds `minIndex` or its own wait time passes; it must settle promptly once
 * `signal` aborts. It may reject; the runner retries.
 */
export type AliasFetch = (query: AliasQuery, minIndex: number, signal: AbortSignal) => Promise<AliasSnapshot>;

/**
 * Adapts a plain reader (no blocking queries) to {@link AliasFetch}: answers carry index 0, so
 * the runner re-reads every `retryMs` and reports only changes.
 */
export function pollingAliasFetch(
  read: (query: AliasQuery) => Promise<AliasedCheck[]>,
  serviceExists?: (query: AliasQuery) => Promise<boolean>,
): AliasFetch {
  return async (query) => {
    const checks = await read(query);
    const exists = query.serviceId && serviceExists ? await serviceExists(query) : undefined;
    return { index: 0, checks, ...(exists !== undefined ? { serviceExists: exists } : {}) };
  };
}

/** Wait before the next fetch after `failures` consecutive failed ones. Pure. */
export function aliasBackoffMs(failures: number, unitMs: number): number {
  if (failures <= 3) return 0;
  return Math.min(2 ** Math.min(failures - 3, 31), 60) * unitMs;
}

/** Consul's alias status rule. Pure. */
export function aliasResult(query: AliasQuery, snapshot: Pick<AliasSnapshot, 'checks' | 'serviceExists'>, filterNode: boolean): ProbeResult {
  let status: ProbeResult['status'] = 'passing';
  let output = 'No checks found.';
  let serviceFound = false;
  for (const c of snapshot.checks) {
    if (filterNode && c.Node !== query.node) continue;
    const serviceMatch = c.ServiceID === (query.serviceId ?? '');
    if (c.ServiceID !== '' && !serviceMatch) continue;
    if (serviceMatch) serviceFound = true;
    if (c.Status === 'critical' || c.Status === 'warning') {
      status = c.Status;
      output = `Aliased check "${c.Name}" failing: ${c.Output}`;
      if (c.Status === 'critical') break;
    } else if (status === 'passing') {
      output = 'All checks passing.';
    }
  }
  if (query.serviceId && !serviceFound && snapshot.serviceExists === false) {
    return { status: 'critical', output: `Service ${query.serviceId} could not be found on node ${query.node}` };
  }
  return { status, output };
}

export interface AliasRunnerOptions {
  spec: AliasCheckSpec;
  /** This agent's node name (the alias target when the spec has no aliasNode). */
  localNode: string;
  fetch: AliasFetch;
  report: CheckReport;
  clock: Clock;
  /**
   * Unit of the retry back-off, and the wait between fetches of a source that does not block
   * (index 0 or unchanged). Default 1 s.
   */
  retryMs?: number;
  logger?: Logger;
}

/**
 * Runs an alias check: a loop of (blocking) fetches; reports whenever the mirrored status or
 * output changes (the first answer is always reported). No flap damping, like Consul.
 */
export class AliasRunner extends StoppableLoop implements CheckRunner {
  readonly checkId: string;
  private readonly query: AliasQuery;
  private readonly retryMs: number;
  private readonly logger: Logger;
  private last: ProbeResult | undefined;
  private fetches = 0;

  constructor(private readonly opts: AliasRunnerOptions) {
    super(opts.clock);
    const { spec } = opts;
    this.checkId = spec.checkId;
    const node = spec.aliasNode ?? opts.localNode;
    // Like Consul: only an alias without AliasNode reads local state; naming a node (even this
    // one) queries the catalog.
    this.query = { node, local: spec.aliasNode === undefined, ...(spec.aliasService ? { serviceId: spec.aliasService } : {}) };
    this.retryMs = opts.retryMs ?? 1000;
    this.logger = (opts.logger ?? silentLogger()).child({ component: 'checks', check: spec.checkId });
  }

  /** Fetches started so far. */
  get fetchCount(): number {
    return this.fetches;
  }

  protected async run(): Promise<void> {
    let index = 0;
    let failures = 0;
    while (!this.stopped) {
      const ac = new AbortController();
      this.abort = ac;
      let snap: AliasSnapshot;
      this.fetches++;
      try {
        snap = await this.opts.fetch(this.query, index, ac.signal);
      } catch (err) {
        if (this.stopped) break;
        failures++;
        this.logger.warn({ err, attempt: failures }, 'alias check: reading aliased checks failed; will retry');
        if (failures > 1) this.emit({ status: 'critical', output: `Failure checking aliased node or service: ${(err as Error).message}` });
        const wait = aliasBackoffMs(failures, this.retryMs);
        if (wait > 0) await this.sleep(wait);
        continue;
      }
      if (this.stopped) break;
      failures = 0;
      const moved = snap.index === 0 || snap.index !== index;
      this.emit(aliasResult(this.query, snap, this.opts.spec.aliasNode !== undefined));
      // An index that went backwards (a restored snapshot) restarts from 0, like blocking queries do.
      index = snap.index < index ? 0 : snap.index;
      if (!moved || snap.index === 0) await this.sleep(this.retryMs);
    }
  }

  private emit(r: ProbeResult): void {
    if (this.stopped) return;
    if (this.last && this.last.status === r.status && this.last.output === r.output) return;
    this.last = r;
    this.opts.report(r.status, r.output);
  }
}
