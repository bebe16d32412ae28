/**
 * Typed Raft errors. Every message carries the `raft: ` prefix so callers (RPC, HTTP) can
 * map them without string guessing; use `instanceof` or `name`.
 */
export class RaftError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(`raft: ${message}`, options);
    this.name = 'RaftError';
  }
}

/** This node is not the leader; `leader` is the current leader's id, or '' when unknown. */
export class NotLeaderError extends RaftError {
  constructor(readonly leader: string) {
    super('not leader');
    this.name = 'NotLeaderError';
  }
}

/** No leader is known, so a proposal or read cannot be forwarded. */
export class NoLeaderError extends RaftError {
  constructor() {
    super('no leader');
    this.name = 'NoLeaderError';
  }
}

/** A proposal was dropped (leadership lost, transfer in progress, entry overwritten). */
export class ProposalDroppedError extends RaftError {
  constructor(reason: string) {
    super(`proposal dropped: ${reason}`);
    this.name = 'ProposalDroppedError';
  }
}

/** A configuration change was refused (another one pending, invalid target, ...). */
export class ConfChangeError extends RaftError {
  constructor(reason: string) {
    super(`conf change refused: ${reason}`);
    this.name = 'ConfChangeError';
  }
}
