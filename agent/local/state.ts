/**
 * The agent's local state: services and checks registered on this host. It is authoritative
 * for the host — anti-entropy makes the catalog match it, never the other way round.
 *
 * Contract:
 * - Entries are validated before they get here; a call that breaks a rule (check of an
 *   unknown service) throws {@link LocalStateError} and changes nothing.
 * - With a data dir every change is persisted (one file per entry, atomic and fsynced)
 *   before the call returns, and `open` loads what was persisted; without one (dev mode)
 *   state lives in memory only.
 * - Listeners hear about every change synchronously, after it is visible through the
 *   getters: one {@link LocalChange} per service or check that was added, replaced, updated
 *   or removed (a service's checks get their own events).
 */
import type { Logger } from '../runtime/logger.js';
import { FileStore } from './persist.js';
import { CHECK_KINDS, LOCAL_CHECK_STATUSES, type LocalCheck, type LocalCheckStatus, type LocalService } from './types.js';

/**
 * A change to one entry. `op`: `put` — added or registered again (a new definition);
 * `update` — same definition, new status/output or refreshed service name/tags; `remove`.
 */
export type LocalChange = { kind: 'service' | 'check'; id: string; op: 'put' | 'update' | 'remove' };

export class LocalStateError extends Error {
  override name = 'LocalStateError';
}

export interface LocalStateOptions {
  /** Where to persist; undefined keeps everything in memory (dev mode). */
  dataDir?: string;
  logger: Logger;
}

export class LocalState {
  private readonly svcs = new Map<string, LocalService>();
  private readonly chks = new Map<string, LocalCheck>();
  private readonly listeners = new Set<(c: LocalChange) => void>();
  private readonly files: FileStore | undefined;
  private readonly log: Logger;

  private constructor(opts: LocalStateOptions) {
    this.log = opts.logger.child({ component: 'local' });
    this.files = opts.dataDir === undefined ? undefined : new FileStore(opts.dataDir);
  }

  /** Opens the local state, loading what a previous run persisted in `dataDir`. */
  static open(opts: LocalStateOptions): LocalState {
    const s = new LocalState(opts);
    s.load();
    return s;
  }

  private load(): void {
    if (this.files === undefined) return;
    const bad = (file: string, err: Error): void => this.log.warn({ file, err: err.message }, `skipping unreadable ${file}`);
    for (const raw of this.files.readAll('services', bad)) {
      const svc = (raw as { Service?: LocalService }).Service;
      if (!isService(svc)) {
        this.log.warn({ raw }, 'skipping a persisted service of the wrong shape');
        continue;
      }
      this.svcs.set(svc.ID, svc);
    }
    for (const raw of this.files.readAll('checks', bad)) {
      const chk = (raw as { Check?: LocalCheck }).Check;
      if (!isCheck(chk) || (chk.ServiceID !== '' && !this.svcs.has(chk.ServiceID))) {
        this.log.warn({ raw }, 'skipping a persisted check of the wrong shape or of a missing service');
        continue;
      }
      this.chks.set(chk.CheckID, chk);
    }
    this.log.debug({ services: this.svcs.size, checks: this.chks.size }, 'loaded local state');
  }

  /** Calls `fn` on every change; returns an unsubscribe function. */
  subscribe(fn: (c: LocalChange) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  services(): LocalService[] {
    return [...this.svcs.values()].sort((a, b) => cmp(a.ID, b.ID));
  }

  service(id: string): LocalService | undefined {
    return this.svcs.get(id);
  }

  checks(): LocalCheck[] {
    return [...this.chks.values()].sort((a, b) => cmp(a.CheckID, b.CheckID));
  }

  check(id: string): LocalCheck | undefined {
    return this.chks.get(id);
  }

  /** Checks of service `id` ('' for node-level checks). */
  checksOf(serviceId: string): LocalCheck[] {
    return this.checks().filter((c) => c.ServiceID === serviceId);
  }

  /**
   * Adds or replaces service `svc.ID` together with `checks` (which must belong to it).
   * Existing checks of the service stay unless `replaceExistingChecks`, which removes those
   * not in `checks`. Remaining checks get the service's current name and tags.
   */
  addService(svc: LocalService, checks: LocalCheck[] = [], opts: { replaceExistingChecks?: boolean } = {}): void {
    for (const c of checks) {
      if (c.ServiceID !== svc.ID) throw new LocalStateError(`local: check "${c.CheckID}" belongs to service "${c.ServiceID}", not "${svc.ID}"`);
      const other = this.chks.get(c.CheckID);
      if (other !== undefined && other.ServiceID !== svc.ID) {
        throw new LocalStateError(`local: check ID "${c.CheckID}" is already used by ${other.ServiceID ? `service "${other.ServiceID}"` : 'a node check'}`);
      }
    }
    const keep = new Set(checks.map((c) => c.CheckID));
    const drop = opts.replaceExistingChecks ? this.checksOf(svc.ID).filter((c) => !keep.has(c.CheckID)) : [];
    const refreshed = this.checksOf(svc.ID)
      .filter((c) => !keep.has(c.CheckID) && !drop.includes(c))
      .map((c) => ({ ...c, ServiceName: svc.Service, ServiceTags: [...svc.Tags] }));
    this.putService(svc);
    for (const c of drop) this.deleteCheck(c.CheckID);
    for (const c of [...refreshed, ...checks.map((c) => ({ ...c, ServiceName: svc.Service, ServiceTags: [...svc.Tags] }))]) this.putCheck(c);
    this.emit({ kind: 'service', id: svc.ID, op: 'put' });
    for (const c of drop) this.emit({ kind: 'check', id: c.CheckID, op: 'remove' });
    for (const c of refreshed) this.emit({ kind: 'check', id: c.CheckID, op: 'update' });
    for (const c of checks) this.emit({ kind: 'check', id: c.CheckID, op: 'put' });
  }

  /** Removes service `id` and its checks; false when there was no such service. */
  removeService(id: string): boolean {
    if (!this.svcs.has(id)) return false;
    const checks = this.checksOf(id);
    for (const c of checks) this.deleteCheck(c.CheckID);
    this.svcs.delete(id);
    this.files?.remove('services', id);
    for (const c of checks) this.emit({ kind: 'check', id: c.CheckID, op: 'remove' });
    this.emit({ kind: 'service', id, op: 'remove' });
    return true;
  }

  /** Adds or replaces a check; a service check's service must be registered here. */
  addCheck(check: LocalCheck): void {
    let c = check;
    if (c.ServiceID !== '') {
      const svc = this.svcs.get(c.ServiceID);
      if (svc === undefined) throw new LocalStateError(`ServiceID "${c.ServiceID}" does not exist`);
      c = { ...c, ServiceName: svc.Service, ServiceTags: [...svc.Tags] };
    }
    const other = this.chks.get(c.CheckID);
    if (other !== undefined && other.ServiceID !== c.ServiceID) {
      throw new LocalStateError(`local: check ID "${c.CheckID}" is already used by ${other.ServiceID ? `service "${other.ServiceID}"` : 'a node check'}`);
    }
    this.putCheck(c);
    this.emit({ kind: 'check', id: c.CheckID, op: 'put' });
  }

  /** Removes check `id`; false when there was no such check. */
  removeCheck(id: string): boolean {
    if (!this.chks.has(id)) return false;
    this.deleteCheck(id);
    this.emit({ kind: 'check', id, op: 'remove' });
    return true;
  }

  /**
   * Sets a check's status and output. Returns false (and does nothing) for an unknown check;
   * an update that changes nothing is not persisted and emits nothing.
   */
  updateCheck(id: string, status: LocalCheckStatus, output: string): boolean {
    const c = this.chks.get(id);
    if (c === undefined) return false;
    if (c.Status === status && c.Output === output) return true;
    this.putCheck({ ...c, Status: status, Output: output });
    this.emit({ kind: 'check', id, op: 'update' });
    return true;
  }

  private putService(s: LocalService): void {
    this.files?.write('services', s.ID, { Service: s });
    this.svcs.set(s.ID, s);
  }

  private putCheck(c: LocalCheck): void {
    this.files?.write('checks', c.CheckID, { Check: c });
    this.chks.set(c.CheckID, c);
  }

  private deleteCheck(id: string): void {
    this.files?.remove('checks', id);
    this.chks.delete(id);
  }

  private emit(c: LocalChange): void {
    for (const fn of [...this.listeners]) fn(c);
  }
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function isService(v: unknown): v is LocalService {
  const s = v as LocalService | undefined;
  return (
    typeof s === 'object' && s !== null && typeof s.ID === 'string' && s.ID !== '' && typeof s.Service === 'string' &&
    Array.isArray(s.Tags) && typeof s.Port === 'number' && typeof s.Address === 'string' && typeof s.Meta === 'object' &&
    typeof s.Weights === 'object' && typeof s.TaggedAddresses === 'object' && typeof s.Kind === 'string'
  );
}

function isCheck(v: unknown): v is LocalCheck {
  const c = v as LocalCheck | undefined;
  return (
    typeof c === 'object' && c !== null && typeof c.CheckID === 'string' && c.CheckID !== '' && typeof c.Name === 'string' &&
    LOCAL_CHECK_STATUSES.includes(c.Status) && typeof c.ServiceID === 'string' && (CHECK_KINDS as readonly string[]).includes(c.Type) &&
    typeof c.Output === 'string' && typeof c.Definition === 'object'
  );
}
