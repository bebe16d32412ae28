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
