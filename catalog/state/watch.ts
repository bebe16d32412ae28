/**
 * Watches for blocking queries. A reader registers the {@link WatchKey}s that cover exactly
 * what it read (each read result lists them); the store fires a watch when an apply changed
 * anything under one of its keys.
 */
import { nameKey } from './types.js';

/**
 * What a watch waits on.
 * - `nodes` / `services` / `checks`: any row of that table.
 * - `node`: the named node row, its services and its checks.
 * - `service`: instances of the named service (case-insensitive), their checks, and the
 *   node rows and node-level checks of the nodes they run on.
 * - `kvs`: any KV entry whose key starts with `prefix` (written, deleted; case-sensitive).
 * - `sessions`: any session row.
 */
export type WatchKey =
  | { table: 'nodes' }
  | { table: 'services' }
  | { table: 'checks' }
  | { table: 'node'; name: string }
  | { table: 'service'; name: string }
  | { table: 'kvs'; prefix: string }
  | { table: 'sessions' };

const KV_PREFIX = 'kvs\u0000';

/**
 * Watch key strings a change to KV `key` fires: the key under each of its prefixes whose
 * length is in `lengths` (the prefix lengths somebody watches, see
 * {@link WatchRegistry.kvPrefixLengths}), so a long key costs nothing when nobody watches.
 */
export function kvWatchStrings(key: string, lengths: Iterable<number>): string[] {
  const out: string[] = [];
  for (const n of lengths) if (n <= key.length) out.push(`${KV_PREFIX}${key.slice(0, n)}`);
  return out;
}

/** Canonical string form of a watch key (names lower-cased). */
export function watchKeyString(k: WatchKey): string {
  switch (k.table) {
    case 'nodes':
    case 'services':
    case 'checks':
    case 'sessions':
      return k.table;
    case 'kvs':
      return `${KV_PREFIX}${k.prefix}`;
    case 'node':
    case 'service':
      return `${k.table}\u0000${nameKey(k.name)}`;
  }
}

interface Watcher {
  cb: () => void;
  keys: string[];
  done: boolean;
}

/** Registry of one-shot watchers by key string. */
export class WatchRegistry {
  private readonly byKey = new Map<string, Set<Watcher>>();
  /** Prefix length → number of registered KV watch keys of that length. */
  private readonly kvLens = new Map<number, number>();
  private active = 0;

  /** The distinct lengths of watched KV prefixes. */
  kvPrefixLengths(): IterableIterator<number> {
    return this.kvLens.keys();
  }

  private countKv(key: string, d: 1 | -1): void {
    if (!key.startsWith(KV_PREFIX)) return;
    const n = key.length - KV_PREFIX.length;
    const c = (this.kvLens.get(n) ?? 0) + d;
    if (c <= 0) this.kvLens.delete(n);
    else this.kvLens.set(n, c);
  }

  /**
   * Calls `cb` once, synchronously at the end of the first apply (or restore) that changes
   * anything under one of `keys`; the watch is then gone. The returned function cancels it
   * (idempotent, harmless after firing). `cb` must not throw.
   */
  watch(keys: readonly WatchKey[], cb: () => void): () => void {
    const w: Watcher = { cb, keys: [...new Set(keys.map(watchKeyString))], done: false };
    for (const k of w.keys) {
      let set = this.byKey.get(k);
      if (set === undefined) {
        this.byKey.set(k, (set = new Set()));
        this.countKv(k, 1);
      }
      set.add(w);
    }
    this.active++;
    return () => this.remove(w);
  }

  /** Number of watches not yet fired or cancelled. */
  get size(): number {
    return this.active;
  }

  /** Fires every watcher registered under any of `keys` (each at most once). */
  fire(keys: Iterable<string>): void {
    const hit: Watcher[] = [];
    for (const k of keys) {
      const set = this.byKey.get(k);
      if (set === undefined) continue;
      for (const w of set) if (!w.done) { w.done = true; hit.push(w); }
    }
    this.run(hit);
  }

  /** Fires every registered watcher (after a restore). */
  fireAll(): void {
    const hit: Watcher[] = [];
    for (const set of this.byKey.values()) for (const w of set) if (!w.done) { w.done = true; hit.push(w); }
    this.run(hit);
  }

  private run(hit: Watcher[]): void {
    for (const w of hit) this.remove(w);
    let first: unknown;
    for (const w of hit) {
      try {
        w.cb();
      } catch (err) {
        first ??= err;
      }
    }
    if (first !== undefined) throw first;
  }

  private remove(w: Watcher): void {
    let removed = false;
    for (const k of w.keys) {
      const set = this.byKey.get(k);
      if (set?.delete(w)) removed = true;
      if (set !== undefined && set.size === 0) {
        this.byKey.delete(k);
        this.countKv(k, -1);
      }
    }
    if (removed) this.active--;
    w.done = true;
  }
}
