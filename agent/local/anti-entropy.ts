/**
 * Anti-entropy: makes the catalog's view of this node match the agent's local state, which
 * is authoritative for its host (Consul's agent/ae + local state sync).
 *
 * Contract:
 * - Every local change is pushed at once (`CatalogClient.write`): a present service is
 *   registered with the node and all its checks, a removed one deregistered (its catalog
 *   checks go with it); a node check likewise with `Check`.
 * - A full sync runs at start and then every `interval + random(0, interval × scale)` where
 *   scale = {@link scaleFactor}(cluster size), like Consul: it reads `nodeServices` and
 *   `nodeChecks` for this node, marks every difference (missing, changed, or unknown to the
 *   agent) and fixes it the same way. Catalog entries of this node that the agent does not
 *   have are deregistered — except the `serfHealth` check and a server's `consul` service,
 *   which belong to the leader's member reconciliation.
 * - A check whose only change is its Output (a TTL heartbeat with a new note) is pushed at
 *   most once per `checkUpdateIntervalMs` (Consul's check_update_interval, 5 min); status
 *   and definition changes go at once. A full sync pushes any output difference it finds.
 * - A service with EnableTagOverride takes the catalog's tags when they differ (someone else
 *   owns its tags); the other fields stay authoritative here.
 * - A failed push or read keeps what was dirty and retries after `retry + random(0, retry ×
 *   scale)`. Only one sync runs at a time; changes arriving during one are pushed right after.
 * - Time comes from the injected Clock, jitter from the injected Rng.
 */
import type { CatalogClient } from '../http/catalog-client.js';
import type { Clock, TimerHandle } from '../runtime/clock.js';
import type { Logger } from '../runtime/logger.js';
import type { Rng } from '../runtime/rng.js';
import { CommandType, type CheckDefinition, type Command, type HealthCheckView, type NodeServiceView, type ServiceDefinition, type StringMap } from '../../catalog/state/index.js';
import type { LocalState } from './state.js';
import type { LocalCheck, LocalService } from './types.js';

/** Check owned by the servers (gossip health); anti-entropy never touches it. */
export const SERF_HEALTH_CHECK = 'serfHealth';
/** Registered by the leader for every server; never removed by an agent's anti-entropy. */
export const CONSUL_SERVICE_ID = 'consul';
/** Consul's anti-entropy defaults. */
export const DEFAULT_SYNC_INTERVAL_MS = 60_000;
export const DEFAULT_RETRY_INTERVAL_MS = 15_000;
export const DEFAULT_CHECK_UPDATE_INTERVAL_MS = 5 * 60_000;
/** Cluster size up to which the sync interval is not scaled. */
export const SCALE_THRESHOLD = 128;

/**
 * Consul's anti-entropy scale factor: 1 up to {@link SCALE_THRESHOLD} nodes, then
 * ⌈log2(n) − log2(128)⌉ + 1 (2 at 256 nodes, 4 at 1024, 8 at 16384).
 */
export function scaleFactor(nodes: number): number {
  if (nodes <= SCALE_THRESHOLD) return 1;
  return Math.ceil(Math.log2(nodes) - Math.log2(SCALE_THRESHOLD)) + 1;
}

/** How this node is registered in the catalog. */
export interface NodeIdentity {
  name: string;
  /** Node UUID. */
  id: string;
  address: string;
  datacenter: string;
  taggedAddresses: StringMap;
  meta: StringMap;
}

export interface AntiEntropyOptions {
  local: LocalState;
  catalog: Pick<CatalogClient, 'read' | 'write'>;
  node: NodeIdentity;
  clock: Clock;
  rng: Rng;
  logger: Logger;
  intervalMs?: number;
  retryMs?: number;
  /** Longest delay of an output-only check update; 0 pushes every update at once. */
  checkUpdateIntervalMs?: number;
  /** Number of members in the cluster (scales the interval); default 1. */
  clusterSize?: () => number;
}

export class AntiEntropy {
  private readonly o: Required<Omit<AntiEntropyOptions, 'logger'>>;
  private readonly log: Logger;
  private readonly dirtyServices = new Set<string>();
  private readonly dirtyChecks = new Set<string>();
  private dirtyNode = false;
  private fullPending = false;
  private running: Promise<void> | undefined;
  private fullTimer: TimerHandle | undefined;
  private retryTimer: TimerHandle | undefined;
  private unsubscribe: (() => void) | undefined;
  private stopped = true;
  /** Per check: what the catalog holds apart from Output, as last pushed or seen. */
  private readonly synced = new Map<string, string>();
  /** Output-only updates waiting for their deferred push. */
  private readonly deferred = new Map<string, TimerHandle>();
  /** Completed full syncs (for stats and tests). */
  fullSyncs = 0;

  constructor(opts: AntiEntropyOptions) {
    this.o = {
      intervalMs: DEFAULT_SYNC_INTERVAL_MS,
      retryMs: DEFAULT_RETRY_INTERVAL_MS,
      checkUpdateIntervalMs: DEFAULT_CHECK_UPDATE_INTERVAL_MS,
      clusterSize: () => 1,
      ...opts,
    };
    this.log = opts.logger.child({ component: 'anti-entropy' });
  }

  /** Follows local changes and starts the full-sync cycle with a full sync right away. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.unsubscribe = this.o.local.subscribe((c) => {
      if (c.kind === 'service') this.dirtyServices.add(c.id);
      else if (this.outputOnly(c.id)) {
        this.defer(c.id);
        return;
      } else this.dirtyChecks.add(c.id);
      this.kick();
    });
    this.triggerFull();
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.o.clock.clearTimeout(this.fullTimer);
    this.o.clock.clearTimeout(this.retryTimer);
    this.fullTimer = this.retryTimer = undefined;
    for (const h of this.deferred.values()) this.o.clock.clearTimeout(h);
    this.deferred.clear();
  }

  /** Whether local check `id` differs from what the catalog was last known to hold only in Output. */
  private outputOnly(id: string): boolean {
    if (this.o.checkUpdateIntervalMs <= 0) return false;
    const c = this.o.local.check(id);
    const known = this.synced.get(id);
    return c !== undefined && known !== undefined && known === checkKey(c);
  }

  private defer(id: string): void {
    if (this.deferred.has(id) || this.stopped) return;
    this.deferred.set(
      id,
      this.o.clock.setTimeout(() => {
        this.deferred.delete(id);
        this.dirtyChecks.add(id);
        this.kick();
      }, this.o.checkUpdateIntervalMs),
    );
  }

  /** Records that the catalog now holds check `c`; a deferred output push for it is no longer needed. */
  private markSynced(c: LocalCheck): void {
    this.synced.set(c.CheckID, checkKey(c));
    const h = this.deferred.get(c.CheckID);
    if (h !== undefined) {
      this.o.clock.clearTimeout(h);
      this.deferred.delete(c.CheckID);
    }
  }

  /** Asks for a full sync now (also what the periodic timer does). */
  triggerFull(): void {
    this.fullPending = true;
    this.kick();
    this.scheduleFull();
  }

  /** Resolves once no sync is running (tests and shutdown). */
  async idle(): Promise<void> {
    for (let i = 0; i < 1000 && this.running; i++) await this.running;
  }

  private stagger(ms: number): number {
    return this.o.rng.next() * ms * scaleFactor(this.o.clusterSize());
  }

  private scheduleFull(): void {
    if (this.stopped) return;
    this.o.clock.clearTimeout(this.fullTimer);
    this.fullTimer = this.o.clock.setTimeout(() => this.triggerFull(), this.o.intervalMs + this.stagger(this.o.intervalMs));
  }

  private scheduleRetry(): void {
    if (this.stopped || this.retryTimer) return;
    this.retryTimer = this.o.clock.setTimeout(() => {
      this.retryTimer = undefined;
      this.fullPending = true;
      this.kick();
    }, this.o.retryMs + this.stagger(this.o.retryMs));
  }

  private kick(): void {
    if (this.stopped || this.running) return;
    this.running = this.loop().finally(() => {
      this.running = undefined;
      if (!this.stopped && (this.fullPending || this.dirtyServices.size > 0 || this.dirtyChecks.size > 0 || this.dirtyNode) && !this.retryTimer) this.kick();
    });
  }

  private async loop(): Promise<void> {
    try {
      for (let round = 0; round < 100 && !this.stopped; round++) {
        if (this.fullPending) {
          this.fullPending = false;
          await this.diff();
          this.fullSyncs++;
        }
        if (!this.dirtyNode && this.dirtyServices.size === 0 && this.dirtyChecks.size === 0) return;
        await this.push();
        if (!this.fullPending && !this.dirtyNode && this.dirtyServices.size === 0 && this.dirtyChecks.size === 0) return;
      }
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, `anti-entropy sync failed, retrying: ${(err as Error).message}`);
      this.scheduleRetry();
    }
  }

  /** Compares the catalog's view of this node with local state and marks every difference. */
  private async diff(): Promise<void> {
    const { local, catalog, node } = this.o;
    const base = { minIndex: 0, waitMs: 0, consistency: 'default' as const };
    const ns = (await catalog.read({ ...base, query: { op: 'nodeServices', node: node.name } })).value;
    const checks = (await catalog.read({ ...base, query: { op: 'nodeChecks', node: node.name } })).value;
    if (ns === null) {
      this.dirtyNode = true;
      for (const s of local.services()) this.dirtyServices.add(s.ID);
      for (const c of local.checks()) this.dirtyChecks.add(c.CheckID);
      return;
    }
    const n = ns.Node;
    if (n.Address !== node.address || n.ID !== node.id || !sameJson(n.Meta, node.meta) || !sameJson(n.TaggedAddresses, node.taggedAddresses)) {
      this.dirtyNode = true;
    }
    // The `consul` service of a server node is the leader's (member reconciliation), like serfHealth.
    const remoteServices = new Map(ns.Services.filter((s) => s.ID !== CONSUL_SERVICE_ID).map((s) => [s.ID, s]));
    for (const id of remoteServices.keys()) if (local.service(id) === undefined) this.dirtyServices.add(id);
    for (const l of local.services()) {
      const r = remoteServices.get(l.ID);
      if (r !== undefined && l.EnableTagOverride && !sameJson(l.Tags, r.Tags)) local.addService({ ...l, Tags: [...r.Tags] });
    }
    for (const s of local.services()) {
      const r = remoteServices.get(s.ID);
      if (r === undefined || !sameService(s, r)) this.dirtyServices.add(s.ID);
    }
    const remoteChecks = new Map(checks.filter((c) => c.CheckID !== SERF_HEALTH_CHECK).map((c) => [c.CheckID, c]));
    for (const id of remoteChecks.keys()) if (local.check(id) === undefined) this.dirtyChecks.add(id);
    this.synced.clear();
    for (const c of local.checks()) {
      const r = remoteChecks.get(c.CheckID);
      if (r !== undefined) this.synced.set(c.CheckID, checkKey({ ...c, Name: r.Name, Status: r.Status as LocalCheck['Status'], Notes: r.Notes, ServiceID: r.ServiceID, Type: r.Type as LocalCheck['Type'], Definition: r.Definition ?? {} }));
      if (r === undefined || !sameCheck(c, r)) this.dirtyChecks.add(c.CheckID);
    }
  }

  /** Pushes every dirty entry; an entry whose write fails stays dirty and the error propagates. */
  private async push(): Promise<void> {
    const { local } = this.o;
    if (this.dirtyNode) {
      this.dirtyNode = false;
      await this.commit({ type: CommandType.Register, req: this.nodeReq() }, () => (this.dirtyNode = true));
    }
    for (const id of [...this.dirtyServices]) {
      this.dirtyServices.delete(id);
      const s = local.service(id);
      if (s === undefined) {
        await this.commit({ type: CommandType.Deregister, req: { Node: this.o.node.name, ServiceID: id } }, () => this.dirtyServices.add(id));
        this.log.info({ serviceId: id }, `deregistered service "${id}"`);
        continue;
      }
      const checks = local.checksOf(id);
      for (const c of checks) this.dirtyChecks.delete(c.CheckID);
      await this.commit(
        { type: CommandType.Register, req: { ...this.nodeReq(), Service: serviceDef(s), Checks: checks.map(checkDef) } },
        () => {
          this.dirtyServices.add(id);
          for (const c of checks) this.dirtyChecks.add(c.CheckID);
        },
      );
      for (const c of checks) this.markSynced(c);
      this.log.debug({ serviceId: id }, `synced service "${id}"`);
    }
    for (const id of [...this.dirtyChecks]) {
      this.dirtyChecks.delete(id);
      if (id === SERF_HEALTH_CHECK) continue;
      const c = local.check(id);
      if (c === undefined) {
        await this.commit({ type: CommandType.Deregister, req: { Node: this.o.node.name, CheckID: id } }, () => this.dirtyChecks.add(id));
        this.synced.delete(id);
        this.log.info({ checkId: id }, `deregistered check "${id}"`);
        continue;
      }
      const svc = c.ServiceID === '' ? undefined : local.service(c.ServiceID);
      const req =
        svc === undefined
          ? { ...this.nodeReq(), Check: checkDef(c) }
          : { ...this.nodeReq(), Service: serviceDef(svc), Checks: local.checksOf(svc.ID).map(checkDef) };
      const pushed = svc === undefined ? [c] : local.checksOf(svc.ID);
      await this.commit({ type: CommandType.Register, req }, () => this.dirtyChecks.add(id));
      for (const x of pushed) this.markSynced(x);
      this.log.debug({ checkId: id }, `synced check "${id}"`);
    }
  }

  private async commit(cmd: Command, undo: () => void): Promise<void> {
    let r;
    try {
      r = await this.o.catalog.write(cmd);
    } catch (e) {
      undo();
      throw e;
    }
    if (!r.ok) {
      undo();
      throw new Error(`anti-entropy: catalog refused the write: ${r.error}`);
    }
  }

  private nodeReq(): { Node: string; ID: string; Address: string; Datacenter: string; TaggedAddresses: StringMap; NodeMeta: StringMap } {
    const n = this.o.node;
    return { Node: n.name, ID: n.id, Address: n.address, Datacenter: n.datacenter, TaggedAddresses: n.taggedAddresses, NodeMeta: n.meta };
  }
}

function serviceDef(s: LocalService): ServiceDefinition {
  return {
    ID: s.ID,
    Service: s.Service,
    Tags: s.Tags,
    Address: s.Address,
    TaggedAddresses: s.TaggedAddresses,
    Meta: s.Meta,
    Port: s.Port,
    Weights: s.Weights,
    EnableTagOverride: s.EnableTagOverride,
    Kind: s.Kind,
  };
}

function checkDef(c: LocalCheck): CheckDefinition {
  return {
    CheckID: c.CheckID,
    Name: c.Name,
    Status: c.Status,
    Notes: c.Notes,
    Output: c.Output,
    ServiceID: c.ServiceID,
    Type: c.Type,
    Definition: c.Definition,
  };
}

function sameService(l: LocalService, r: NodeServiceView): boolean {
  return (
    l.Service === r.Service &&
    l.Address === r.Address &&
    l.Port === r.Port &&
    l.EnableTagOverride === r.EnableTagOverride &&
    l.Kind === (r.Kind ?? '') &&
    sameJson(l.Tags, r.Tags) &&
    sameJson(l.Meta, r.Meta) &&
    sameJson(l.TaggedAddresses, r.TaggedAddresses) &&
    sameJson(l.Weights, r.Weights)
  );
}

function sameCheck(l: LocalCheck, r: HealthCheckView): boolean {
  return (
    l.Name === r.Name &&
    l.Status === r.Status &&
    l.Notes === r.Notes &&
    l.Output === r.Output &&
    l.ServiceID === r.ServiceID &&
    l.Type === r.Type &&
    sameJson(l.Definition, r.Definition ?? {})
  );
}

/** Everything about a check the catalog holds, except its Output. */
function checkKey(c: LocalCheck): string {
  return canon({ Name: c.Name, Status: c.Status, Notes: c.Notes, ServiceID: c.ServiceID, Type: c.Type, Definition: c.Definition });
}

/** Structural equality of JSON data, ignoring object key order. */
function sameJson(a: unknown, b: unknown): boolean {
  return canon(a) === canon(b);
}

function canon(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canon).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${canon(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}
