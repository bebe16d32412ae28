import { ConfChangeType, type ConfChange, type ConfState } from '../types.js';
import { RaftError } from './errors.js';

/** Encoding of a {@link ConfChange} inside an entry's `data` (UTF-8 JSON; stable format). */
export function encodeConfChange(cc: ConfChange): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ type: cc.type, nodeId: cc.nodeId, address: cc.address }));
}

export function decodeConfChange(data: Uint8Array): ConfChange {
  const v = JSON.parse(new TextDecoder().decode(data)) as ConfChange;
  if (typeof v.nodeId !== 'string' || typeof v.type !== 'number') throw new RaftError('malformed conf change entry');
  return v;
}

/**
 * Applies one single-server change to a configuration (pure). A node is never both voter
 * and learner. AddLearner of an existing voter and changes that are already in effect are
 * no-ops.
 */
export function applyConfChange(conf: ConfState, cc: ConfChange): ConfState {
  const voters = conf.voters.filter((v) => v !== cc.nodeId);
  const learners = conf.learners.filter((v) => v !== cc.nodeId);
  switch (cc.type) {
    case ConfChangeType.AddLearner:
      if (conf.voters.includes(cc.nodeId)) return conf;
      learners.push(cc.nodeId);
      break;
    case ConfChangeType.PromoteVoter:
      voters.push(cc.nodeId);
      break;
    case ConfChangeType.RemoveNode:
      break;
    default:
      throw new RaftError(`unknown conf change type ${String(cc.type)}`);
  }
  return { voters: voters.sort(), learners: learners.sort() };
}
