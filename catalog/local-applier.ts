/**
 * The single-node, no-Raft write path: applies each command straight to a {@link StateStore}
 * at the next index. Used by tests and by a lone dev-mode server until the integrator puts
 * Raft (propose, commit, apply, then resolve) behind `CatalogEndpoint`'s `propose`.
 *
 * Commands go through `encodeCommand`/`applyEntry`, exactly the bytes a Raft log entry would
 * carry, so anything that works here survives the msgpack round trip of the real path.
 */
import { encodeCommand, type ApplyResult, type Command, type StateStore } from './state/index.js';

export class LocalApplier {
  constructor(private readonly store: StateStore) {}

  /** Applies `cmd` at `store.lastIndex + 1`; resolves with the state machine's result. */
  propose = async (cmd: Command): Promise<ApplyResult> => this.store.applyEntry(this.store.lastIndex + 1, encodeCommand(cmd));
}
