import {
  emptyHardState,
  type Entry,
  type HardState,
  type PersistedState,
  type RaftStorage,
  type Snapshot,
} from './types.js';
import { RaftError } from './core/errors.js';

/**
 * In-memory {@link RaftStorage} for `--dev` and simulations. "Durable" means surviving
 * a simulated crash: a crashed node is restarted from the same MemoryStorage object, so
 * what was saved survives and what was only in the core is lost.
 *
 * The synchronous `*Sync` methods exist for single-threaded simulations; the async
 * interface methods wrap them.
 *
 * Snapshot rule: if the stored entry at the snapshot's index has the snapshot's term, the
 * entries after it are kept (they extend the snapshot, by log matching); otherwise the whole
 * log is dropped, since a suffix that does not chain onto the snapshot must never come back
 * after a restart.
 */
export class MemoryStorage implements RaftStorage {
  private hard: HardState = emptyHardState();
  private snap: Snapshot | undefined;
  private ents: Entry[] = [];
  /** Number of durable batches written (save/saveSnapshot calls), for tests. */
  writes = 0;

  loadSync(): PersistedState {
    return {
      hardState: { ...this.hard },
      snapshot: this.snap,
      entries: [...this.ents],
    };
  }

  async load(): Promise<PersistedState> {
    return this.loadSync();
  }

  /** The durable hard state (a copy). */
  hardStateSync(): HardState {
    return { ...this.hard };
  }

  /** True when nothing was ever saved (no term, no snapshot, no entries). */
  isEmpty(): boolean {
    return this.hard.term === 0 && !this.snap && this.ents.length === 0;
  }

  lastIndex(): number {
    const last = this.ents[this.ents.length - 1];
    return last ? last.index : (this.snap?.meta.index ?? 0);
  }

  saveSync(hardState: HardState | undefined, entries: Entry[]): void {
    this.writes++;
    if (entries.length > 0) {
      const first = (entries[0] as Entry).index;
      const offset = this.snap?.meta.index ?? 0;
      if (first <= offset) throw new RaftError(`storage: append at ${first} at or below snapshot ${offset}`);
      if (first > this.lastIndex() + 1) throw new RaftError(`storage: append at ${first} leaves a gap after ${this.lastIndex()}`);
      this.ents = this.ents.filter((e) => e.index < first).concat(entries);
    }
    if (hardState) this.hard = { ...hardState };
  }

  async save(hardState: HardState | undefined, entries: Entry[]): Promise<void> {
    this.saveSync(hardState, entries);
  }

  saveSnapshotSync(snapshot: Snapshot): void {
    this.writes++;
    if (this.snap && this.snap.meta.index >= snapshot.meta.index) return;
    const at = this.ents.find((e) => e.index === snapshot.meta.index);
    this.ents = at && at.term === snapshot.meta.term ? this.ents.filter((e) => e.index > snapshot.meta.index) : [];
    this.snap = snapshot;
    if (this.hard.commit < snapshot.meta.index) this.hard = { ...this.hard, commit: snapshot.meta.index };
  }

  async saveSnapshot(snapshot: Snapshot): Promise<void> {
    this.saveSnapshotSync(snapshot);
  }

  compactSync(upTo: number): void {
    this.ents = this.ents.filter((e) => e.index > upTo);
  }

  async compact(upTo: number): Promise<void> {
    this.compactSync(upTo);
  }

  async close(): Promise<void> {
    // Nothing to release.
  }
}
