import type { ConfState, HardState, Snapshot } from '../types.js';

/**
 * The state every server of a new cluster starts from: an empty snapshot at index 1,
 * term 1, holding the initial membership. Putting the first configuration in a snapshot
 * (not in log entries) means a server added later always learns it by InstallSnapshot.
 * A zero-length snapshot `data` means "the empty state machine".
 */
export function bootstrapSnapshot(conf: ConfState): Snapshot {
  return { meta: { index: 1, term: 1, conf: { voters: [...conf.voters].sort(), learners: [...conf.learners].sort() } }, data: new Uint8Array(0) };
}

export function bootstrapHardState(): HardState {
  return { term: 1, vote: '', commit: 1 };
}
