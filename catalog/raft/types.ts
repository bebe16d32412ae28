/**
 * Raft data types shared by the pure core (`catalog/raft/core`), storage (WAL, snapshot
 * store) and the TCP transport. Plain data only: everything here must survive a msgpack
 * round trip unchanged.
 */

/** Kind of a log entry. Numbering is append-only: never renumber. */
export const enum EntryType {
  /** Opaque client command for the state machine. */
  Normal = 0,
  /** Membership change: `data` is an encoded {@link ConfChange}. */
  ConfChange = 1,
  /** Written by a new leader at the start of its term; carries no data. */
  Noop = 2,
}

export interface Entry {
  term: number;
  index: number;
  type: EntryType;
  data: Uint8Array;
}

/** What must be on stable storage before any message of the same Ready is sent. */
export interface HardState {
  term: number;
  /** Node id voted for in `term`, or '' for none. */
  vote: string;
  commit: number;
}

/** Cluster membership: voters decide elections and commits; learners only receive the log. */
export interface ConfState {
  voters: string[];
  learners: string[];
}

export const enum ConfChangeType {
  AddLearner = 0,
  PromoteVoter = 1,
  RemoveNode = 2,
}

export interface ConfChange {
  type: ConfChangeType;
  nodeId: string;
  /** Transport address of the node (for AddLearner); informational otherwise. */
  address?: string;
}

export interface SnapshotMeta {
  index: number;
  term: number;
  conf: ConfState;
}

export interface Snapshot {
  meta: SnapshotMeta;
  /** The state machine's serialized state at `meta.index`. */
  data: Uint8Array;
}

export const emptyHardState = (): HardState => ({ term: 0, vote: '', commit: 0 });

/** Everything a server has on stable storage, as read back at start-up. */
export interface PersistedState {
  hardState: HardState;
  /** Latest snapshot, if any; `entries` then start at `snapshot.meta.index + 1`. */
  snapshot: Snapshot | undefined;
  entries: Entry[];
}

/**
 * Stable storage for one Raft server. Implementations: in-memory (dev mode, simulation)
 * and the segmented WAL with a snapshot store. Every method resolves only once its effect
 * is durable; the driver calls them one at a time (never concurrently).
 */
export interface RaftStorage {
  load(): Promise<PersistedState>;
  /**
   * Appends `entries` (if the first one's index is at or below the last stored index, the
   * stored suffix from that index on is replaced) and records `hardState` when given.
   * One call is one durable batch (group commit: one fsync).
   */
  save(hardState: HardState | undefined, entries: Entry[]): Promise<void>;
  /** Stores `snapshot` durably and drops every log entry at or below its index. */
  saveSnapshot(snapshot: Snapshot): Promise<void>;
  /** Drops log entries with index <= `upTo` (the snapshot already covers them). */
  compact(upTo: number): Promise<void>;
  close(): Promise<void>;
}

/** Message delivery between servers. Messages are plain objects with `from` and `to` ids. */
export interface RaftTransport<M extends { from: string; to: string }> {
  /** Best effort, never throws; a lost message is Raft's problem, not the caller's. */
  send(msg: M): void;
  /** Sets (or replaces) the address used to reach node `id`. */
  setPeer(id: string, address: string): void;
  removePeer(id: string): void;
  onMessage(handler: (msg: M) => void): void;
  close(): Promise<void>;
}
