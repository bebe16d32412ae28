/**
 * Runs every check in {@link LocalState} that has a runner (HTTP, TCP, gRPC, script, alias).
 *
 * Contract:
 * - From start() to stop() there is exactly one runner per such check: a registration (`put`
 *   event) builds a fresh runner from the stored definition and replaces the old one (which
 *   is fully stopped first, see {@link CheckRunnerSet}); a removal stops it. `update` events
 *   (status/output written by the runners themselves, a service rename) change nothing.
 * - TTL checks (agent/checks/ttl.ts) and maintenance checks have no runner.
 * - Results go to `LocalState.updateCheck`; anti-entropy carries them to the catalog.
 * - A definition the runners cannot run (a script check on an agent that does not allow
 *   it, a definition that no longer parses) is logged and its check set critical with the
 *   reason as output; it never throws out of the change listener.
 */
import type { Logger } from '../runtime/logger.js';
import type { Clock } from '../runtime/clock.js';
import type { Rng } from '../runtime/rng.js';
import type { LocalState, LocalChange } from '../local/state.js';
import type { LocalCheck } from '../local/types.js';
import type { CatalogClient } from '../http/catalog-client.js';
import { parseCheckDefinition } from './definition.js';
import { createCheckRunner } from './factory.js';
import { CheckRunnerSet } from './runner-set.js';
import { catalogAliasFetch, localAliasFetch } from './alias-sources.js';
import type { AliasFetch } from './alias.js';
import type { ProbeResult, RunnerSpec } from './types.js';

export interface CheckManagerOptions {
  local: LocalState;
  clock: Clock;
  /** Forked once per runner for its initial stagger. */
  rng: Rng;
  logger: Logger;
  /** This agent's node name (alias checks without AliasNode mirror it). */
  nodeName: string;
  /** Blocking catalog reads for alias checks that name a node; without it those checks fail. */
  catalog?: CatalogClient;
  /**
   * Whether check `c` may run a script: the agent answers `enable_script_checks` for checks
   * registered over HTTP and `enable_script_checks || enable_local_script_checks` for checks
   * from config files.
   */
  allowScripts: (c: LocalCheck) => boolean;
  /** The agent's `check_output_max_size`. */
  checkOutputMaxSize?: number;
  /** Sees every raw probe result of interval checks, e.g. for metrics. */
  onResult?: (kind: RunnerSpec['kind'], result: ProbeResult, reported: boolean) => void;
  /** Alias fetch override (tests); default: local state or the catalog. */
  aliasFetch?: AliasFetch;
}

/** Check types that never get a runner. */
const NO_RUNNER = new Set(['ttl', 'maintenance']);

export class CheckManager {
  private readonly set = new CheckRunnerSet();
  private readonly log: Logger;
  private unsubscribe: (() => void) | undefined;
  private localAlias: { forCheck(checkId: string): AliasFetch; close(): void } | undefined;

  constructor(private readonly o: CheckManagerOptions) {
    this.log = o.logger.child({ component: 'checks' });
  }

  /** Starts runners for the checks already registered and follows later changes. */
  start(): void {
    if (this.unsubscribe) return;
    this.localAlias = localAliasFetch(this.o.local, this.o.nodeName, this.o.clock);
    this.unsubscribe = this.o.local.subscribe((c) => this.onChange(c));
    for (const c of this.o.local.checks()) this.reconcile(c.CheckID);
  }

  /** Stops every runner; resolves when no probe is running any more. */
  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.localAlias?.close();
    await this.set.stopAll();
  }

  /** IDs of the checks that have a runner. */
  running(): string[] {
    return this.set.ids();
  }

  private onChange(c: LocalChange): void {
    if (c.kind !== 'check' || c.op === 'update') return;
    this.reconcile(c.id);
  }

  private reconcile(id: string): void {
    const c = this.o.local.check(id);
    if (c === undefined || NO_RUNNER.has(c.Type)) {
      this.drop(id);
      return;
    }
    const parsed = parseCheckDefinition({ ...c.Definition, CheckID: c.CheckID, Name: c.Name, ServiceID: c.ServiceID }, {
      ...(this.o.checkOutputMaxSize !== undefined ? { checkOutputMaxSize: this.o.checkOutputMaxSize } : {}),
    });
    if (!parsed.ok) return this.refuse(c, `invalid check definition: ${parsed.error}`);
    const spec = parsed.check.spec;
    if (spec.kind === 'ttl') return this.drop(id);
    const allowScripts = this.o.allowScripts(c);
    if (spec.kind === 'script' && !allowScripts) {
      return this.refuse(c, "Scripts are disabled on this agent; to enable, configure 'enable_script_checks' or 'enable_local_script_checks' to true");
    }
    const kind = spec.kind;
    const onResult = this.o.onResult;
    try {
      const runner = createCheckRunner(spec, {
        clock: this.o.clock,
        rng: this.o.rng.fork(),
        report: (status, output) => {
          this.o.local.updateCheck(id, status, output);
        },
        ...(onResult ? { onResult: (r: ProbeResult, reported: boolean) => onResult(kind, r, reported) } : {}),
        allowScripts,
        aliasFetch: this.aliasFetchFor(spec),
        localNode: this.o.nodeName,
        logger: this.log,
      });
      this.set.set(runner).catch((e: Error) => this.log.warn({ checkId: id, err: e.message }, 'could not start check runner'));
      this.log.debug({ checkId: id, kind }, `check "${id}" runner started`);
    } catch (e) {
      this.refuse(c, (e as Error).message);
    }
  }

  private aliasFetchFor(spec: RunnerSpec): AliasFetch {
    if (this.o.aliasFetch) return this.o.aliasFetch;
    if (spec.kind === 'alias' && spec.aliasNode !== undefined) {
      const catalog = this.o.catalog;
      if (catalog) return catalogAliasFetch(catalog, this.o.nodeName, spec.checkId);
      return () => Promise.reject(new Error('no catalog available on this agent'));
    }
    return this.localAlias!.forCheck(spec.checkId);
  }

  private drop(id: string): void {
    if (this.set.has(id)) void this.set.remove(id);
  }

  private refuse(c: LocalCheck, reason: string): void {
    this.drop(c.CheckID);
    this.log.warn({ checkId: c.CheckID }, `check "${c.CheckID}" cannot run: ${reason}`);
    this.o.local.updateCheck(c.CheckID, 'critical', reason);
  }
}
