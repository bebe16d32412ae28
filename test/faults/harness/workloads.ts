import type { Rng } from '../../../agent/runtime/rng.js';
import type { Cluster, Host } from './cluster.js';
import type { History, Outcome } from './history.js';

/** External catalog nodes the workloads write to (never gossip members, so never reaped). */
export const REGISTER_NODE = 'faults-reg';
export const ACKED_NODE = 'faults-acked';
const EXT_ADDR = '192.0.2.1'; // TEST-NET-1: a label in the catalog, never dialled

/**
 * One client operation against one agent. Implementations record into the history through
 * {@link History.run} and classify errors: a refused connection never reached the agent
 * (`fail`); a timeout or a server error after sending may have taken effect (`info`),
 * except for reads, which have no effect (`fail`).
 */
export interface Workload {
  readonly name: string;
  /** Keys of the register model used so far (checked for linearizability; may be empty). */
  readonly keys: readonly string[];
  /** Performs one random operation as client `process` against `host`. */
  step(process: number, host: Host, rng: Rng): Promise<Outcome>;
  /** After heal: one final read of every key through `host`, recorded in the history. */
  finalReads(process: number, host: Host): Promise<void>;
}

function classify(e: unknown, isRead: boolean): Outcome {
  const err = e as Error & { cause?: { code?: string }; status?: number };
  const msg = err.cause?.code ? `${err.message} (${err.cause.code})` : err.message;
  const refused = err.cause?.code === 'ECONNREFUSED' || err.cause?.code === 'EHOSTUNREACH';
  return { type: isRead || refused ? 'fail' : 'info', error: msg };
}

async function http(host: Host, path: string, init: RequestInit, timeoutMs: number): Promise<{ status: number; text: string }> {
  const res = await fetch(host.url + path, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  return { status: res.status, text: await res.text() };
}

/**
 * Jepsen's "independent keys": operations go to `width` keys at a time and the window moves
 * on every `perKey` operations, so each key's history stays short (with a handful of
 * unknown-outcome writes) and the linearizability search stays cheap however long the run.
 */
class KeyRotation {
  private n = 0;
  private readonly seen = new Set<string>();
  constructor(
    private readonly prefix: string,
    private readonly width: number,
    private readonly perKey = 100,
  ) {}
  pick(rng: Rng): string {
    const base = Math.floor(this.n++ / this.perKey);
    const key = `${this.prefix}${base + rng.int(this.width)}`;
    this.seen.add(key);
    return key;
  }
  used(): string[] {
    return [...this.seen];
  }
}

/** Values are unique per write, so a value names one write (what the CAS mapping relies on). */
class Values {
  private n = 0;
  next(): number {
    return ++this.n;
  }
}

/**
 * The catalog as a set of registers: key K is service K on node {@link REGISTER_NODE}, its
 * port the value. write = PUT /v1/catalog/register, read = GET /v1/catalog/service/K?consistent.
 * Plus `add`: a service with a fresh ID on {@link ACKED_NODE}; every acknowledged add must be
 * in every server's catalog after heal.
 */
export class CatalogWorkload implements Workload {
  readonly name = 'catalog';
  private readonly rot: KeyRotation;
  readonly acked = new Set<string>();
  readonly unknown = new Set<string>();
  private readonly values = new Values();
  private addSeq = 0;

  /**
   * @param readMode 'consistent' is the claim under test; 'stale' reads any server's local
   *   state and exists only as the negative control (the checker must catch it).
   */
  constructor(
    private readonly history: History,
    private readonly readMode: 'consistent' | 'stale' = 'consistent',
    nKeys = 3,
    private readonly timeoutMs = 3000,
  ) {
    this.rot = new KeyRotation('creg-', nKeys);
  }

  get keys(): string[] {
    return this.rot.used();
  }

  step(process: number, host: Host, rng: Rng): Promise<Outcome> {
    const r = rng.next();
    const key = this.rot.pick(rng);
    if (r < 0.45) return this.read(process, host, key);
    if (r < 0.85) return this.write(process, host, key, this.values.next() % 60000 + 1);
    return this.add(process, host);
  }

  private read(process: number, host: Host, key: string): Promise<Outcome> {
    return this.history.run(process, 'read', { op: 'read', key }, host.name, key, async () => {
      try {
        const r = await http(host, `/v1/catalog/service/${key}?${this.readMode}`, {}, this.timeoutMs);
        if (r.status !== 200) return { type: 'fail', error: `${r.status} ${r.text.trim()}` };
        const list = JSON.parse(r.text) as Array<{ ServicePort: number }>;
        return { type: 'ok', value: list.length === 0 ? null : String(list[0]!.ServicePort) };
      } catch (e) {
        return classify(e, true);
      }
    });
  }

  private write(process: number, host: Host, key: string, value: number): Promise<Outcome> {
    const body = JSON.stringify({ Node: REGISTER_NODE, Address: EXT_ADDR, Service: { ID: key, Service: key, Port: value } });
    return this.history.run(process, 'write', { op: 'write', key, value: String(value) }, host.name, key, async () => {
      try {
        const r = await http(host, '/v1/catalog/register', { method: 'PUT', body }, this.timeoutMs);
        if (r.status === 200) return { type: 'ok', value: 'ok' };
        return { type: r.status < 500 ? 'fail' : 'info', error: `${r.status} ${r.text.trim()}` };
      } catch (e) {
        return classify(e, false);
      }
    });
  }

  private add(process: number, host: Host): Promise<Outcome> {
    const id = `acked-${++this.addSeq}`;
    const body = JSON.stringify({ Node: ACKED_NODE, Address: EXT_ADDR, Service: { ID: id, Service: 'acked', Port: 1 } });
    return this.history.run(process, 'add', id, host.name, undefined, async () => {
      let out: Outcome;
      try {
        const r = await http(host, '/v1/catalog/register', { method: 'PUT', body }, this.timeoutMs);
        out = r.status === 200 ? { type: 'ok', value: id } : { type: r.status < 500 ? 'fail' : 'info', error: `${r.status} ${r.text.trim()}` };
      } catch (e) {
        out = classify(e, false);
      }
      if (out.type === 'ok') this.acked.add(id);
      if (out.type === 'info') this.unknown.add(id);
      return out;
    });
  }

  async finalReads(process: number, host: Host): Promise<void> {
    for (const key of this.keys) await this.read(process, host, key);
  }
}

/**
 * Consul's KV store as registers with value-CAS: read = GET /v1/kv/K?consistent, write = PUT,
 * cas = a consistent read that learns (value, ModifyIndex) followed by PUT ?cas=ModifyIndex,
 * recorded as cas(expected = that value). Because every written value is unique and keys are
 * never deleted, "ModifyIndex unchanged" is the same as "value unchanged", so index-CAS is
 * value-CAS. `?cas=0` (create only) is cas(expected = null).
 */
export class KvWorkload implements Workload {
  readonly name = 'kv';
  private readonly rot: KeyRotation;
  private readonly values = new Values();

  /** @param readMode as for {@link CatalogWorkload}. */
  constructor(
    private readonly history: History,
    private readonly readMode: 'consistent' | 'stale' = 'consistent',
    nKeys = 3,
    private readonly timeoutMs = 3000,
  ) {
    this.rot = new KeyRotation('faults/reg-', nKeys);
  }

  get keys(): string[] {
    return this.rot.used();
  }

  /** Whether the agent serves /v1/kv (KV may not have landed yet). */
  static async available(host: Host): Promise<boolean> {
    try {
      const r = await http(host, '/v1/kv/faults/probe', { method: 'PUT', body: 'x' }, 5000);
      return r.status === 200 && r.text.trim() === 'true';
    } catch {
      return false;
    }
  }

  async step(process: number, host: Host, rng: Rng): Promise<Outcome> {
    const r = rng.next();
    const key = this.rot.pick(rng);
    if (r < 0.4) return (await this.read(process, host, key)).outcome;
    if (r < 0.7) return this.write(process, host, key, `v${this.values.next()}`);
    const seen = await this.read(process, host, key);
    if (seen.outcome.type !== 'ok') return seen.outcome;
    return this.cas(process, host, key, seen.outcome.value as string | null, seen.index, `v${this.values.next()}`);
  }

  private async read(process: number, host: Host, key: string): Promise<{ outcome: Outcome; index: number }> {
    let index = 0;
    const outcome = await this.history.run(process, 'read', { op: 'read', key }, host.name, key, async () => {
      try {
        const r = await http(host, `/v1/kv/${key}?${this.readMode}`, {}, this.timeoutMs);
        if (r.status === 404) return { type: 'ok', value: null };
        if (r.status !== 200) return { type: 'fail', error: `${r.status} ${r.text.trim()}` };
        const e = (JSON.parse(r.text) as Array<{ Value: string | null; ModifyIndex: number }>)[0]!;
        index = e.ModifyIndex;
        return { type: 'ok', value: e.Value === null ? '' : Buffer.from(e.Value, 'base64').toString() };
      } catch (e) {
        return classify(e, true);
      }
    });
    return { outcome, index };
  }

  private write(process: number, host: Host, key: string, value: string): Promise<Outcome> {
    return this.history.run(process, 'write', { op: 'write', key, value }, host.name, key, async () => {
      try {
        const r = await http(host, `/v1/kv/${key}`, { method: 'PUT', body: value }, this.timeoutMs);
        if (r.status === 200 && r.text.trim() === 'true') return { type: 'ok', value: 'ok' };
        return { type: r.status < 500 && r.status !== 200 ? 'fail' : 'info', error: `${r.status} ${r.text.trim()}` };
      } catch (e) {
        return classify(e, false);
      }
    });
  }

  private cas(process: number, host: Host, key: string, expected: string | null, index: number, value: string): Promise<Outcome> {
    return this.history.run(process, 'cas', { op: 'cas', key, expected, value }, host.name, key, async () => {
      try {
        const r = await http(host, `/v1/kv/${key}?cas=${expected === null ? 0 : index}`, { method: 'PUT', body: value }, this.timeoutMs);
        if (r.status === 200) return { type: 'ok', value: r.text.trim() === 'true' };
        return { type: r.status < 500 ? 'fail' : 'info', error: `${r.status} ${r.text.trim()}` };
      } catch (e) {
        return classify(e, false);
      }
    });
  }

  async finalReads(process: number, host: Host): Promise<void> {
    for (const key of this.keys) await this.read(process, host, key);
  }
}

/**
 * Runs `workers` concurrent clients until `until()` is true: each picks a running, unpaused
 * agent at random per operation. A client whose operation ended `info` continues under a
 * fresh process id (its old operation may still be in flight), as in Jepsen. Process ids are
 * `processBase + worker × 10000 + n`: give each concurrent workload its own base.
 */
export async function runClients(cluster: Cluster, workload: Workload, rng: Rng, workers: number, stop: () => boolean, pauseMs = 25, processBase = 0): Promise<void> {
  const loop = async (w: number): Promise<void> => {
    let process = processBase + w * 10_000;
    while (!stop()) {
      const targets = cluster.hosts.filter((h) => h.running && !h.paused);
      if (targets.length === 0) {
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      const host = targets[rng.int(targets.length)] as Host;
      const out = await workload.step(process, host, rng);
      if (out.type === 'info') process++;
      await new Promise((r) => setTimeout(r, pauseMs + rng.int(pauseMs + 1)));
    }
  };
  await Promise.all(Array.from({ length: workers }, (_, w) => loop(w)));
}

/**
 * Consul locks (sessions + `?acquire` / `?release`) checked for mutual exclusion as a
 * register: the lock key's holder is the state (null when free). Each client process has its
 * own session (no TTL, no health checks, LockDelay 0s, so nothing frees a lock behind the
 * model's back) and only acquires while it believes it holds nothing, so:
 *   acquire(s) = cas(null → s)  (true iff the lock was free),
 *   release(s) = cas(s → null)  (true iff s held it).
 * Two holders at once would need an acquire to succeed on a held lock: not linearizable.
 * When an acquire or release ends unknown, the session is destroyed (which frees whatever it
 * held: cas(s → null) with an unknown result but a known time window) and the process moves on.
 */
export class LockWorkload implements Workload {
  readonly name = 'lock';
  readonly keys = ['faults/lock'];
  private readonly sessions = new Map<number, string>();
  private readonly holding = new Set<number>();

  constructor(
    private readonly history: History,
    private readonly timeoutMs = 3000,
  ) {}

  async step(process: number, host: Host, rng: Rng): Promise<Outcome> {
    const key = this.keys[0] as string;
    let s = this.sessions.get(process);
    if (!s) {
      const out = await this.history.run(process, 'session-create', null, host.name, undefined, async () => {
        try {
          const body = JSON.stringify({ Name: `faults-${process}`, LockDelay: '0s', NodeChecks: [] });
          const r = await http(host, '/v1/session/create', { method: 'PUT', body }, this.timeoutMs);
          if (r.status !== 200) return { type: r.status < 500 ? 'fail' : 'info', error: `${r.status} ${r.text.trim()}` };
          return { type: 'ok', value: (JSON.parse(r.text) as { ID: string }).ID };
        } catch (e) {
          return classify(e, false);
        }
      });
      // A session of unknown fate holds no lock; it can be forgotten.
      if (out.type !== 'ok') return out;
      s = out.value as string;
      this.sessions.set(process, s);
    }
    const holds = this.holding.has(process);
    if (holds && rng.next() < 0.3) return { type: 'ok', value: 'hold' };
    const input = holds ? { op: 'cas' as const, key, expected: s, value: null as unknown as string } : { op: 'cas' as const, key, expected: null, value: s };
    const verb = holds ? 'release' : 'acquire';
    const out = await this.history.run(process, verb, input, host.name, key, async () => {
      try {
        const r = await http(host, `/v1/kv/${key}?${verb}=${s}`, { method: 'PUT', body: String(process) }, this.timeoutMs);
        if (r.status === 200) return { type: 'ok', value: r.text.trim() === 'true' };
        return { type: r.status < 500 ? 'fail' : 'info', error: `${r.status} ${r.text.trim()}` };
      } catch (e) {
        return classify(e, false);
      }
    });
    if (out.type === 'ok') {
      if (holds) this.holding.delete(process);
      else if (out.value === true) this.holding.add(process);
    }
    if (out.type === 'info') await this.abandon(process, host, s);
    return out;
  }

  /** Destroys the session (freeing what it may hold) and forgets the process's state. */
  private async abandon(process: number, host: Host, s: string): Promise<void> {
    const key = this.keys[0] as string;
    await this.history.run(process, 'session-destroy', { op: 'cas', key, expected: s, value: null as unknown as string }, host.name, key, async () => {
      try {
        const r = await http(host, `/v1/session/destroy/${s}`, { method: 'PUT' }, this.timeoutMs);
        if (r.status === 200) return { type: 'ok', value: undefined };
        return { type: 'info', error: `${r.status} ${r.text.trim()}` };
      } catch (e) {
        return { type: 'info', error: (e as Error).message };
      }
    });
    this.sessions.delete(process);
    this.holding.delete(process);
  }

  async finalReads(): Promise<void> {
    // The lock's state is judged from acquire/release results alone.
  }
}
