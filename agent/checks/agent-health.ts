/**
 * The agent's health-check wiring in one place, so the composition root only constructs,
 * starts and stops it: the check runners ({@link CheckManager}), the
 * DeregisterCriticalServiceAfter reaper, maintenance mode, and the services and checks
 * declared in config files (registered at start, re-applied on reload).
 *
 * Config-file entries are tracked by ID: a reload adds the new ones, replaces the changed
 * ones (their checks restart), removes those gone from the files, and leaves alone what is
 * unchanged and everything registered over HTTP. With `sourcesFile` the same holds across a
 * restart (an unchanged config check keeps its persisted status).
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Clock } from '../runtime/clock.js';
import type { Rng } from '../runtime/rng.js';
import type { Logger } from '../runtime/logger.js';
import type { RuntimeConfig } from '../config/config.js';
import type { LocalState } from '../local/state.js';
import type { LocalCheck } from '../local/types.js';
import type { CatalogClient } from '../http/catalog-client.js';
import { parseCheckDefinition as parseLocalCheck, parseServiceDefinition, type ServiceRegistration } from '../http/definitions.js';
import { Maintenance } from '../local/maintenance.js';
import { CheckManager } from './manager.js';
import { CriticalServiceReaper } from './reaper.js';
import type { ProbeResult, RunnerSpec } from './types.js';

export interface AgentHealthOptions {
  local: LocalState;
  config: RuntimeConfig;
  clock: Clock;
  rng: Rng;
  logger: Logger;
  catalog?: CatalogClient;
  /**
   * Where to remember which services and checks came from config files (and their
   * definitions), so a restart removes entries dropped from the files meanwhile and keeps
   * the state of unchanged ones. Undefined (dev mode): nothing is remembered.
   */
  sourcesFile?: string;
  onResult?: (kind: RunnerSpec['kind'], result: ProbeResult, reported: boolean) => void;
}

/** Services and checks declared in a config, decoded and validated. */
export interface ConfigDefinitions {
  services: ServiceRegistration[];
  checks: LocalCheck[];
}

/**
 * Decodes `config.services` / `config.checks` (Consul JSON, any key case). Throws an Error
 * naming the entry and the problem.
 */
export function configDefinitions(config: RuntimeConfig): ConfigDefinitions {
  const services = config.services.map((raw, i) => {
    try {
      return parseServiceDefinition(raw);
    } catch (e) {
      throw new Error(`config: services[${i}]: ${(e as Error).message}`, { cause: e });
    }
  });
  const checks = config.checks.map((raw, i) => {
    try {
      return parseLocalCheck(raw);
    } catch (e) {
      throw new Error(`config: checks[${i}]: ${(e as Error).message}`, { cause: e });
    }
  });
  return { services, checks };
}

export class AgentHealth {
  readonly maintenance: Maintenance;
  readonly manager: CheckManager;
  readonly reaper: CriticalServiceReaper;
  private readonly log: Logger;
  /** Config-file entries applied last, by ID, with the JSON they were applied from. */
  private fileServices = new Map<string, string>();
  private fileChecks = new Map<string, string>();
  private config: RuntimeConfig;

  constructor(private readonly o: AgentHealthOptions) {
    this.log = o.logger.child({ component: 'checks' });
    this.config = o.config;
    this.loadSources();
    this.maintenance = new Maintenance(o.local);
    this.manager = new CheckManager({
      local: o.local,
      clock: o.clock,
      rng: o.rng,
      logger: o.logger,
      nodeName: o.config.nodeName,
      ...(o.catalog ? { catalog: o.catalog } : {}),
      allowScripts: (c) => this.config.enableScriptChecks || (this.config.enableLocalScriptChecks && this.fileChecks.has(c.CheckID)),
      ...(o.onResult ? { onResult: o.onResult } : {}),
    });
    this.reaper = new CriticalServiceReaper(o.local, o.clock, o.logger);
  }

  /** Registers the config-file services and checks, then starts the runners and the reaper. */
  start(): void {
    this.applyDefinitions(configDefinitions(this.config));
    this.manager.start();
    this.reaper.start();
  }

  async stop(): Promise<void> {
    this.reaper.stop();
    await this.manager.stop();
  }

  /**
   * Applies a reloaded config: validates all of its definitions first (a bad one rejects the
   * whole reload and changes nothing), then adds, replaces and removes config-file entries.
   */
  reload(config: RuntimeConfig): void {
    const defs = configDefinitions(config);
    this.config = config;
    this.applyDefinitions(defs);
  }

  private applyDefinitions(defs: ConfigDefinitions): void {
    const local = this.o.local;
    const nextServices = new Map<string, string>();
    const nextChecks = new Map<string, string>();
    for (const s of defs.services) {
      for (const c of s.checks) nextChecks.set(c.CheckID, JSON.stringify(c));
      nextServices.set(s.service.ID, JSON.stringify(s));
    }
    for (const c of defs.checks) nextChecks.set(c.CheckID, JSON.stringify(c));
    // The allowScripts decision reads fileChecks, so it must hold the new set before any put.
    const prevServices = this.fileServices;
    const prevChecks = this.fileChecks;
    this.fileServices = nextServices;
    this.fileChecks = nextChecks;

    for (const id of prevChecks.keys()) {
      if (!nextChecks.has(id)) local.removeCheck(id);
    }
    for (const id of prevServices.keys()) {
      if (!nextServices.has(id)) local.removeService(id);
    }
    for (const s of defs.services) {
      const json = nextServices.get(s.service.ID)!;
      if (prevServices.get(s.service.ID) === json && local.service(s.service.ID)) continue;
      local.addService(s.service, s.checks, { replaceExistingChecks: false });
    }
    for (const c of defs.checks) {
      if (prevChecks.get(c.CheckID) === nextChecks.get(c.CheckID) && local.check(c.CheckID)) continue;
      try {
        local.addCheck(c);
      } catch (e) {
        this.log.error({ checkId: c.CheckID }, `config check "${c.CheckID}" not registered: ${(e as Error).message}`);
      }
    }
    this.saveSources();
    this.log.debug({ services: nextServices.size, checks: nextChecks.size }, 'applied config-file services and checks');
  }

  private loadSources(): void {
    const f = this.o.sourcesFile;
    if (!f) return;
    try {
      const raw = JSON.parse(readFileSync(f, 'utf8')) as { services?: Record<string, string>; checks?: Record<string, string> };
      this.fileServices = new Map(Object.entries(raw.services ?? {}));
      this.fileChecks = new Map(Object.entries(raw.checks ?? {}));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') this.log.warn(`ignoring unreadable ${f}: ${(e as Error).message}`);
    }
  }

  private saveSources(): void {
    const f = this.o.sourcesFile;
    if (!f) return;
    try {
      mkdirSync(dirname(f), { recursive: true, mode: 0o700 });
      writeFileSync(`${f}.tmp`, JSON.stringify({ services: Object.fromEntries(this.fileServices), checks: Object.fromEntries(this.fileChecks) }), { mode: 0o600 });
      renameSync(`${f}.tmp`, f);
    } catch (e) {
      this.log.warn(`could not write ${f}: ${(e as Error).message}`);
    }
  }
}
