import type { Entry, Snapshot } from '../types.js';
import { RaftError } from './errors.js';

/**
 * The core's in-memory Raft log: entries after a compaction point (`offset`), the part of
 * them already persisted (`stable`), and an optional snapshot not yet persisted.
 *
 * Invariants: `ents[i].index === offset + 1 + i`; terms never decrease along the log;
 * `committed >= applied`; `committed <= lastIndex()`; committed entries are never
 * truncated (a conflict at or below `committed` throws, it is a safety violation).
 */
export class RaftLog {
  /** Index of the entry just before `ents[0]` (the compaction point). */
  private offset = 0;
  private offsetTerm = 0;
  private ents: Entry[] = [];
  /** Highest index known to be on stable storage. */
  stable = 0;
  committed = 0;
  /** Highest index handed to the state machine and acknowledged by `advance()`. */
  applied = 0;
  /** A snapshot received from the leader that storage has not persisted yet. */
  pendingSnapshot: Snapshot | undefined;
  /** The latest snapshot known (received, loaded or taken locally); sent to lagging followers. */
  latestSnapshot: Snapshot | undefined;

  /** Loads persisted state; everything loaded counts as stable. */
  init(snapshot: Snapshot | undefined, entries: Entry[], commit: number): void {
    if (snapshot) {
      this.offset = snapshot.meta.index;
      this.offsetTerm = snapshot.meta.term;
      this.latestSnapshot = snapshot;
      this.applied = snapshot.meta.index;
    }
    this.ents = entries.filter((e) => e.index > this.offset);
    for (let i = 0; i < this.ents.length; i++) {
      if ((this.ents[i] as Entry).index !== this.offset + 1 + i) throw new RaftError('log: loaded entries are not contiguous');
    }
    this.stable = this.lastIndex();
    this.committed = Math.max(this.applied, Math.min(commit, this.lastIndex()));
  }

  firstIndex(): number {
    return this.offset + 1;
  }

  lastIndex(): number {
    return this.offset + this.ents.length;
  }

  lastTerm(): number {
    return this.term(this.lastIndex()) as number;
  }

  /** Term of entry `i`, or undefined if compacted away or beyond the end. */
  term(i: number): number | undefined {
    if (i === this.offset) return this.offsetTerm;
    if (i < this.offset || i > this.lastIndex()) return undefined;
    return (this.ents[i - this.offset - 1] as Entry).term;
  }

  matchTerm(i: number, term: number): boolean {
    return this.term(i) === term;
  }

  /** Entries [lo, hi) ; throws if any part is compacted or missing. */
  slice(lo: number, hi: number): Entry[] {
    if (lo <= this.offset) throw new RaftError(`log: slice [${lo},${hi}) compacted (offset ${this.offset})`);
    if (hi > this.lastIndex() + 1) throw new RaftError(`log: slice [${lo},${hi}) beyond last index ${this.lastIndex()}`);
    return this.ents.slice(lo - this.offset - 1, hi - this.offset - 1);
  }

  /**
   * Entries from `lo` on, bounded by `maxEntries` and (after the first entry) `maxBytes`
   * of data. Undefined when `lo` is compacted.
   */
  entriesFrom(lo: number, maxEntries: number, maxBytes: number): Entry[] | undefined {
    if (lo <= this.offset) return undefined;
    const out: Entry[] = [];
    let bytes = 0;
    for (let i = lo; i <= this.lastIndex() && out.length < maxEntries; i++) {
      const e = this.ents[i - this.offset - 1] as Entry;
      bytes += e.data.length;
      if (out.length > 0 && bytes > maxBytes) break;
      out.push(e);
    }
    return out;
  }

  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    return lastTerm > this.lastTerm() || (lastTerm === this.lastTerm() && lastIndex >= this.lastIndex());
  }

  /** Appends entries, truncating any conflicting suffix. Returns the new last index. */
  append(entries: Entry[]): number {
    if (entries.length === 0) return this.lastIndex();
    const first = (entries[0] as Entry).index;
    if (first - 1 < this.committed) {
      throw new RaftError(`log: append at ${first} would truncate committed index ${this.committed}`);
    }
    if (first <= this.offset) throw new RaftError(`log: append at ${first} below compaction point ${this.offset}`);
    if (first > this.lastIndex() + 1) throw new RaftError(`log: append at ${first} leaves a gap after ${this.lastIndex()}`);
    this.ents.length = first - this.offset - 1;
    for (const e of entries) this.ents.push(e);
    this.stable = Math.min(this.stable, first - 1);
    return this.lastIndex();
  }

  /**
   * Follower side of AppendEntries: if the entry at `index` has term `logTerm`, appends
   * `entries` (dropping ones already present, truncating on the first conflict) and
   * advances commit to min(`commit`, last new index). Returns the last new index, or
   * undefined when the log does not match at `index`.
   */
  maybeAppend(index: number, logTerm: number, commit: number, entries: Entry[]): number | undefined {
    if (!this.matchTerm(index, logTerm)) return undefined;
    const lastNew = index + entries.length;
    let conflict = 0;
    for (const e of entries) {
      if (e.index <= this.offset) continue;
      if (!this.matchTerm(e.index, e.term)) {
        conflict = e.index;
        break;
      }
    }
    if (conflict !== 0) {
      if (conflict <= this.committed) throw new RaftError(`log: conflict at ${conflict} at or below commit ${this.committed}`);
      this.append(entries.slice(conflict - index - 1));
    }
    this.commitTo(Math.min(commit, lastNew));
    return lastNew;
  }

  /**
   * For a rejected AppendEntries at (`index`, `term`): the largest index <= `index` whose
   * term is <= `term` (so the leader can skip a whole conflicting term at once).
   */
  findConflictByTerm(index: number, term: number): number {
    let i = Math.min(index, this.lastIndex());
    for (; i > this.offset; i--) {
      const t = this.term(i);
      if (t === undefined || t <= term) break;
    }
    return i;
  }

  commitTo(i: number): void {
    if (i > this.committed) {
      if (i > this.lastIndex()) throw new RaftError(`log: commit ${i} beyond last index ${this.lastIndex()}`);
      this.committed = i;
    }
  }

  /** Replaces the whole log by a snapshot received from the leader. */
  restore(s: Snapshot): void {
    this.offset = s.meta.index;
    this.offsetTerm = s.meta.term;
    this.ents = [];
    this.committed = s.meta.index;
    this.stable = s.meta.index;
    this.pendingSnapshot = s;
    this.latestSnapshot = s;
  }

  /** Drops entries at or below `upTo`; requires `upTo <= applied` and `upTo <= stable`. */
  compact(upTo: number): void {
    if (upTo <= this.offset) return;
    if (upTo > this.applied || upTo > this.stable) throw new RaftError(`log: compact ${upTo} beyond applied/stable`);
    this.offsetTerm = this.term(upTo) as number;
    this.ents = this.ents.slice(upTo - this.offset);
    this.offset = upTo;
  }

  /** Entries not yet on stable storage. */
  unstableEntries(): Entry[] {
    return this.stable >= this.lastIndex() ? [] : this.slice(this.stable + 1, this.lastIndex() + 1);
  }

  /** Committed entries not yet applied, at most `max` of them. */
  nextCommitted(max: number): Entry[] {
    const from = Math.max(this.applied, this.pendingSnapshot?.meta.index ?? 0, this.offset) + 1;
    const to = Math.min(this.committed, from + max - 1);
    return to >= from ? this.slice(from, to + 1) : [];
  }

  /** Marks entries up to `index` as persisted, if the entry there still has `term`. */
  stableTo(index: number, term: number): void {
    if (this.matchTerm(index, term) && index > this.stable) this.stable = index;
  }
}
