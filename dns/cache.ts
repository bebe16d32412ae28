/**
 * Cache of encoded answers, keyed by question, invalidated by catalog change.
 *
 * Approach: an entry is a {@link PreparedResponse} — every record of the resolution encoded
 * once, grouped per instance — built from the deterministic (unshuffled, unlimited) resolution.
 * Each query then shuffles group indexes and copies byte ranges into one response buffer
 * (wire.ts `assemble`), so shuffling, `a_record_limit`, `udp_answer_limit` and the client's
 * buffer size cost no re-encode; entries need no transport or size class in their key.
 * Cost per hit: one map lookup, a partial shuffle of n indexes, one buffer of response size.
 *
 * Invalidation: when an entry is built, a one-shot catalog watch on the keys the resolution
 * read (`Resolution.deps`) is registered; the first change under them deletes the entry, so a
 * hit is always as fresh as a resolve would be. Entries without deps (addr names, SOA,
 * names outside our zones) never go stale. Evicting or replacing an entry cancels its watch,
 * so pending watches never exceed `max`. The read and the watch registration happen in the
 * same synchronous turn, so no change can slip between them (a reader over RPC will need the
 * read's index instead).
 */
import { LRUCache } from 'lru-cache';
import { resolve, type ResolverOptions } from './resolver.js';
import type { DnsCatalogReader } from './reader.js';
import { prepare, queryName, qtypeName, questionHash, type PreparedResponse, type Query } from './wire.js';

export interface AnswerCacheOptions {
  reader: DnsCatalogReader;
  resolver: ResolverOptions;
  /** Most entries kept. Default 10000. */
  max?: number;
}

interface Entry {
  prepared: PreparedResponse;
  cancel: (() => void) | null;
  /** Hits served from the front map since the LRU's recency was last refreshed. */
  hits: number;
  qtype: number;
  nameKey: string;
  key: string;
  /** The case-folded name in wire form (ASCII names only, else null): checked by {@link AnswerCache.peekWire}. */
  wire: Buffer | null;
  /** {@link questionHash} of `wire` and `qtype` (its slot in the by-hash index). */
  hash: number;
}

/** Every this many front-map hits, an entry's LRU recency is refreshed. */
const TOUCH_EVERY = 64;

export interface AnswerCacheStats {
  hits: number;
  misses: number;
  invalidations: number;
  size: number;
}

export class AnswerCache {
  private readonly lru: LRUCache<string, Entry>;
  /**
   * The same entries as the LRU, in a plain Map for the hot path (an LRU get costs more than
   * the rest of answering). Removal from the LRU (eviction, invalidation, clear) removes the
   * entry here too, so this map is never larger or staler than the LRU.
   */
  private readonly front = new Map<number, Map<string, Entry>>();
  /**
   * The same entries (ASCII names) by question hash, for {@link peekWire}: one slot per hash, the
   * latest entry wins a collision (the other stays reachable through `front`). Removal from the
   * LRU clears the slot if it still holds that entry.
   */
  private readonly byHash = new Map<number, Entry>();
  private readonly reader: DnsCatalogReader;
  private readonly resolver: ResolverOptions;
  private hits = 0;
  private misses = 0;
  private invalidations = 0;

  constructor(opts: AnswerCacheOptions) {
    this.reader = opts.reader;
    this.resolver = opts.resolver;
    this.lru = new LRUCache<string, Entry>({
      max: opts.max ?? 10_000,
      dispose: (e) => {
        e.cancel?.();
        const m = this.front.get(e.qtype);
        if (m !== undefined && m.get(e.nameKey) === e) m.delete(e.nameKey);
        if (this.byHash.get(e.hash) === e) this.byHash.delete(e.hash);
      },
    });
  }

  /**
   * The cached answer to the question whose name is `buf[12, nameEnd)` (wire form, any case,
   * already checked by `parseFast`) with `qtype`, or undefined when it is not cached; `hash` is
   * parseFast's hash. Compares bytes (case-folded), allocates nothing. A hit counts like one
   * of {@link get}.
   */
  peekWire(buf: Buffer, nameEnd: number, qtype: number, hash: number): PreparedResponse | undefined {
    const e = this.byHash.get(hash);
    if (e === undefined || e.qtype !== qtype) return undefined;
    const w = e.wire as Buffer;
    const n = nameEnd - 12;
    if (w.length !== n) return undefined;
    for (let i = 0; i < n; i++) {
      let c = buf[12 + i]!;
      if (c >= 0x41 && c <= 0x5a) c += 0x20;
      if (c !== w[i]) return undefined;
    }
    this.hits++;
    if (++e.hits >= TOUCH_EVERY) {
      e.hits = 0;
      this.lru.get(e.key);
    }
    return e.prepared;
  }

  /**
   * The prepared answer to a parsed query's question (case-folded name, wire qtype). The name's
   * text is decoded only on a miss.
   */
  get(q: Pick<Query, 'nameKey' | 'qtype' | 'question'>): PreparedResponse {
    const { nameKey, qtype } = q;
    let m = this.front.get(qtype);
    const hit = m?.get(nameKey);
    if (hit !== undefined) {
      this.hits++;
      if (++hit.hits >= TOUCH_EVERY) {
        hit.hits = 0;
        this.lru.get(hit.key);
      }
      return hit.prepared;
    }
    this.misses++;
    const key = `${qtype}/${nameKey}`;
    const res = resolve({ name: queryName(q), type: qtypeName(qtype) }, this.reader, this.resolver);
    const wire = nameKey.charCodeAt(0) === 0x100 ? null : Buffer.from(nameKey, 'latin1');
    const hash = wire === null ? -1 : questionHash(wire, qtype);
    const entry: Entry = { prepared: prepare(res), cancel: null, hits: 0, qtype, nameKey, key, wire, hash };
    this.lru.set(key, entry);
    if (m === undefined) this.front.set(qtype, (m = new Map()));
    m.set(nameKey, entry);
    if (wire !== null) this.byHash.set(hash, entry);
    if (res.deps.length > 0) {
      entry.cancel = this.reader.watch(res.deps, () => {
        entry.cancel = null;
        if (this.lru.peek(key) === entry) {
          this.invalidations++;
          this.lru.delete(key);
        }
      });
    }
    return entry.prepared;
  }

  /** Drops every entry (and its watch). */
  clear(): void {
    this.lru.clear();
  }

  stats(): AnswerCacheStats {
    return { hits: this.hits, misses: this.misses, invalidations: this.invalidations, size: this.lru.size };
  }
}
