/**
 * Typed errors of the WAL and snapshot store. Every message starts with `raft: wal:` or
 * `raft: snapshot:` and names the file (and byte offset where one applies), so an operator
 * can find the damage. None of these is ever caught and ignored by the storage itself.
 */

/** Base class: any durable-storage failure (I/O error, misuse, bad data dir). */
export class WalError extends Error {
  override name = 'WalError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * A record, segment header or the segment sequence is damaged somewhere other than the
 * torn tail of the last segment. Start-up refuses to continue: skipping the record could
 * silently lose acknowledged entries.
 */
export class WalCorruptError extends WalError {
  override name = 'WalCorruptError';
  constructor(
    readonly file: string,
    readonly offset: number,
    readonly reason: string,
  ) {
    super(`raft: wal: corrupt record in ${file} at offset ${offset}: ${reason}`);
  }
}

/** A snapshot file fails its checksum or header checks. */
export class SnapshotCorruptError extends WalError {
  override name = 'SnapshotCorruptError';
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`raft: snapshot: corrupt snapshot file ${file}: ${reason}`);
  }
}

/** The data dir was created by (and belongs to) another Raft node. */
export class NodeIdMismatchError extends WalError {
  override name = 'NodeIdMismatchError';
  constructor(
    readonly dir: string,
    readonly storedNodeId: string,
    readonly nodeId: string,
  ) {
    super(`raft: wal: data dir ${dir} belongs to node "${storedNodeId}", refusing to open it as node "${nodeId}"`);
  }
}
