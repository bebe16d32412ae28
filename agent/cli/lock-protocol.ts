/**
 * Client side of Consul's lock and semaphore protocols over the HTTP API, as `herald lock`
 * (and `consul lock`) use them.
 *
 * Lock (limit 1): the key `<prefix>/.lock` is acquired with `?acquire=<session>`. A waiter
 * blocks on the key until no session holds it, then tries; a refused try while the key is
 * free means a lock-delay is running, so it waits {@link RETRY_MS} and tries again. The lock
 * is lost when the key's Session is no longer ours.
 *
 * Semaphore (limit N > 1): each contender acquires its own key `<prefix>/<session>` with its
 * session, then tries to add itself to the Holders of `<prefix>/.lock`
 * (`{"Limit": N, "Holders": {"<session>": true}}`) with a check-and-set. Holders whose
 * contender key is no longer held by their session are pruned on the way. The slot is lost
 * when our session is no longer among the Holders.
 *
 * Keys carry Consul's magic flags (api.LockFlagValue on a lock key, api.SemaphoreFlagValue on
 * a semaphore's keys), so `herald lock` and `consul lock` (or any Consul API client) on the
 * same prefix exclude each other, and a lock used as a semaphore, or a key that is no lock at
 * all, is refused as a conflict.
 */
import type { AgentClient } from './http-client.js';
import { CliError } from './io.js';
import { parseJsonExactFlags } from '../runtime/json64.js';
import type { KVFlags } from '../../catalog/state/flags.js';

export const LOCK_KEY = '.lock';
/** Consul's api.LockFlagValue: marks a key used as a lock. */
export const LOCK_FLAGS = 0x2ddccbc058a50c18n;
/** Consul's api.SemaphoreFlagValue: marks the keys of a semaphore. */
export const SEMAPHORE_FLAGS = 0xe0f69a2baa414de0n;
/** Pause after a refused acquisition of a free key (lock-delay), like Consul's DefaultLockRetryTime (5 s), shorter. */
export const RETRY_MS = 1000;
/** Longest a blocking query waits before re-asking. */
export const BLOCK_WAIT = '15s';
const REQUEST_TIMEOUT_MS = 30_000;

interface Entry {
  Key: string;
  Flags: KVFlags;
  Value: string | null;
  Session?: string;
  ModifyIndex: number;
}

interface SemaphoreValue {
  Limit: number;
  Holders: Record<string, boolean>;
}

const kvPath = (key: string): string => `/v1/kv/${key.split('/').map(encodeURIComponent).join('/')}`;
const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done);
  });

/** One lock or semaphore slot held through a session. */
export class Contender {
  private readonly lockKey: string;
  private readonly contenderKey: string;

  constructor(
    private readonly c: AgentClient,
    prefix: string,
    private readonly limit: number,
    readonly session: string,
  ) {
    const p = prefix.replace(/\/+$/, '');
    this.lockKey = `${p}/${LOCK_KEY}`;
    this.contenderKey = `${p}/${session}`;
  }

  private get prefix(): string {
    return this.lockKey.slice(0, -LOCK_KEY.length);
  }

  private async get<T>(path: string, index: number, signal?: AbortSignal): Promise<{ value: T | null; index: number }> {
    const sep = path.includes('?') ? '&' : '?';
    const q = index > 0 ? `${sep}index=${index}&wait=${BLOCK_WAIT}` : '';
    const r = await this.c.request('GET', `${path}${q}`, undefined, { signal, timeoutMs: REQUEST_TIMEOUT_MS });
    const idx = Number(r.headers['x-consul-index'] ?? 0);
    if (r.status === 404) return { value: null, index: idx };
    if (r.status !== 200) throw new CliError(`lock: unexpected response ${r.status} (${r.text.trim()})`);
    return { value: parseJsonExactFlags(r.text) as T, index: idx };
  }

  private async put(path: string, body?: string, signal?: AbortSignal): Promise<boolean> {
    const r = await this.c.request('PUT', path, body ?? '', { signal, timeoutMs: REQUEST_TIMEOUT_MS });
    if (r.status !== 200) throw new CliError(`lock: unexpected response ${r.status} (${r.text.trim()})`);
    return r.text.trim() === 'true';
  }

  /** Waits until held; false when `deadline` (ms since epoch, 0 = none) passes or `signal` aborts first. */
  async acquire(deadline: number, signal?: AbortSignal): Promise<boolean> {
    const signals = [signal, deadline > 0 ? AbortSignal.timeout(Math.max(0, deadline - Date.now())) : undefined].filter((s): s is AbortSignal => s !== undefined);
    const sig = signals.length > 0 ? AbortSignal.any(signals) : undefined;
    try {
      return await (this.limit <= 1 ? this.acquireLock(deadline, sig) : this.acquireSemaphore(deadline, sig));
    } catch (e) {
      if (sig?.aborted) return false;
      throw e;
    }
  }

  private expired(deadline: number, signal?: AbortSignal): boolean {
    return signal?.aborted === true || (deadline > 0 && Date.now() >= deadline);
  }

  private async acquireLock(deadline: number, signal?: AbortSignal): Promise<boolean> {
    let index = 0;
    while (!this.expired(deadline, signal)) {
      const { value, index: idx } = await this.get<Entry[]>(kvPath(this.lockKey), index, signal);
      const e = value?.[0];
      if (e !== undefined && e.Flags !== LOCK_FLAGS) throw new CliError(`lock: ${this.lockKey}: Existing key does not match lock use`);
      if (e?.Session && e.Session !== this.session) {
        index = idx;
        continue;
      }
      if (await this.put(`${kvPath(this.lockKey)}?acquire=${this.session}&flags=${LOCK_FLAGS}`, '', signal)) return true;
      index = 0;
      await sleep(RETRY_MS, signal);
    }
    return false;
  }

  private async acquireSemaphore(deadline: number, signal?: AbortSignal): Promise<boolean> {
    if (!(await this.put(`${kvPath(this.contenderKey)}?acquire=${this.session}&flags=${SEMAPHORE_FLAGS}`, '', signal))) {
      throw new CliError(`lock: cannot create contender entry ${this.contenderKey}`);
    }
    let index = 0;
    while (!this.expired(deadline, signal)) {
      const { value, index: idx } = await this.get<Entry[]>(`${kvPath(this.prefix)}?recurse`, index, signal);
      const entries = value ?? [];
      const lock = entries.find((e) => e.Key === this.lockKey);
      const sem = decodeSemaphore(lock, this.limit);
      const alive = new Set(entries.filter((e) => e.Key !== this.lockKey && e.Session).map((e) => e.Session!));
      for (const h of Object.keys(sem.Holders)) if (!alive.has(h)) delete sem.Holders[h];
      if (sem.Holders[this.session]) return true;
      if (Object.keys(sem.Holders).length < sem.Limit) {
        sem.Holders[this.session] = true;
        const cas = lock?.ModifyIndex ?? 0;
        if (await this.put(`${kvPath(this.lockKey)}?cas=${cas}&flags=${SEMAPHORE_FLAGS}`, JSON.stringify(sem), signal)) return true;
        index = 0;
        continue;
      }
      index = idx;
    }
    return false;
  }

  /**
   * Resolves when the lock or slot is lost (another session holds the key, our session is no
   * longer a holder), when the agent could not be asked `maxErrors` times in a row (like
   * Consul's -monitor-retry: without answers the lock must be presumed lost), or when
   * `signal` aborts.
   */
  async monitor(signal: AbortSignal, maxErrors = 3): Promise<'lost' | 'unreachable' | 'stopped'> {
    let index = 0;
    let errors = 0;
    while (!signal.aborted) {
      try {
        const { value, index: idx } = await this.get<Entry[]>(kvPath(this.lockKey), index, signal);
        errors = 0;
        if (this.limit <= 1) {
          if (value?.[0]?.Session !== this.session) return 'lost';
        } else if (!decodeSemaphore(value?.[0], this.limit).Holders[this.session]) {
          return 'lost';
        }
        index = idx;
      } catch {
        if (signal.aborted) break;
        if (++errors >= maxErrors) return 'unreachable';
        await sleep(RETRY_MS, signal);
      }
    }
    return 'stopped';
  }

  /** Gives the lock or slot up (best effort); the session's destruction releases the rest. */
  async release(): Promise<void> {
    if (this.limit <= 1) {
      await this.put(`${kvPath(this.lockKey)}?release=${this.session}&flags=${LOCK_FLAGS}`);
      return;
    }
    for (let i = 0; i < 10; i++) {
      const { value } = await this.get<Entry[]>(kvPath(this.lockKey), 0);
      const lock = value?.[0];
      if (!lock) break;
      const sem = decodeSemaphore(lock, this.limit);
      if (!sem.Holders[this.session]) break;
      delete sem.Holders[this.session];
      if (await this.put(`${kvPath(this.lockKey)}?cas=${lock.ModifyIndex}&flags=${SEMAPHORE_FLAGS}`, JSON.stringify(sem))) break;
    }
    await this.c.request('DELETE', kvPath(this.contenderKey));
  }
}

function decodeSemaphore(e: Entry | undefined, limit: number): SemaphoreValue {
  if (e && e.Flags !== SEMAPHORE_FLAGS) throw new CliError(`lock: ${e.Key}: Existing key does not match semaphore use`);
  if (!e || e.Value === null) return { Limit: limit, Holders: {} };
  let v: SemaphoreValue;
  try {
    v = JSON.parse(Buffer.from(e.Value, 'base64').toString('utf8')) as SemaphoreValue;
  } catch {
    throw new CliError(`lock: ${e.Key} is not a semaphore lock entry`);
  }
  if (v.Limit !== limit) throw new CliError(`lock: semaphore limit conflict (lock: ${v.Limit}, local: ${limit})`);
  return { Limit: v.Limit, Holders: { ...(v.Holders ?? {}) } };
}
