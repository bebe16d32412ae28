/**
 * The one entry point the agent needs: a runner for a parsed check spec. TTL checks have no
 * runner here (their state lives in agent/local); asking for one is an error.
 */
import type { Logger } from 'pino';
import type { Clock } from '../runtime/clock.js';
import type { Rng } from '../runtime/rng.js';
import { AliasRunner, type AliasFetch } from './alias.js';
import { ChecksError } from './errors.js';
import { probeGrpc } from './grpc.js';
import { probeHttp } from './http.js';
import { IntervalRunner, type CheckRunner, type Probe } from './runner.js';
import { scriptProbe } from './script.js';
import { probeTcp } from './tcp.js';
import type { CheckReport, CheckSpec, ProbeResult } from './types.js';

export interface CheckRunnerDeps {
  clock: Clock;
  /** Source of the initial stagger; give each runner its own fork. */
  rng: Rng;
  /** Receives damped results (interval kinds) or changes (alias). */
  report: CheckReport;
  /** Interval kinds: sees every raw probe result and whether it was reported (for metrics). */
  onResult?: (result: ProbeResult, reported: boolean) => void;
  /**
   * Whether a script check may run. The agent passes `enable_script_checks` for checks
   * registered over HTTP and `enable_script_checks || enable_local_script_checks` for checks
   * from config files. Default false: script specs are refused.
   */
  allowScripts?: boolean;
  /** Required for alias checks: reads the aliased node's checks. */
  aliasFetch?: AliasFetch;
  /** This agent's node name; required for alias checks. */
  localNode?: string;
  logger?: Logger;
}

/**
 * Builds (does not start) the runner for `spec`.
 * @throws ScriptChecksDisabledError for a script spec without `allowScripts`.
 * @throws ChecksError for a TTL spec, or an alias spec without `aliasFetch`/`localNode`.
 */
export function createCheckRunner(spec: CheckSpec, deps: CheckRunnerDeps): CheckRunner {
  const { clock, rng, report, logger } = deps;
  let probe: Probe;
  switch (spec.kind) {
    case 'ttl':
      throw new ChecksError(`checks: TTL check "${spec.checkId}" has no runner; its state is kept by the agent's local state`);
    case 'alias':
      if (!deps.aliasFetch || deps.localNode === undefined) {
        throw new ChecksError(`checks: alias check "${spec.checkId}" needs aliasFetch and localNode`);
      }
      return new AliasRunner({ spec, localNode: deps.localNode, fetch: deps.aliasFetch, report, clock, ...(logger ? { logger } : {}) });
    case 'http':
      probe = (signal) => probeHttp(spec, clock, signal);
      break;
    case 'tcp':
      probe = (signal) => probeTcp(spec, clock, signal);
      break;
    case 'grpc':
      probe = (signal) => probeGrpc(spec, clock, signal);
      break;
    case 'script':
      probe = scriptProbe(spec, clock, { allowScripts: deps.allowScripts === true });
      break;
  }
  return new IntervalRunner({
    checkId: spec.checkId,
    intervalMs: spec.intervalMs,
    successBeforePassing: spec.successBeforePassing,
    failuresBeforeWarning: spec.failuresBeforeWarning,
    failuresBeforeCritical: spec.failuresBeforeCritical,
    probe,
    report,
    clock,
    rng,
    ...(deps.onResult ? { onResult: deps.onResult } : {}),
    ...(logger ? { logger } : {}),
  });
}
