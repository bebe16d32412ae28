import type { Entry, Snapshot } from '../types.js';

/**
 * Wire message kinds. Strings (not numbers) so traces and msgpack dumps read well.
 * - MsgPreVote/MsgVote carry the candidate's last log position in `index`/`logTerm`.
 * - MsgApp carries `index`/`logTerm` of the entry preceding `entries`, and the leader's `commit`.
 * - MsgAppResp: `index` is the last index the follower now matches (or, on reject, the
 *   rejected `index`, with `rejectHint` = the follower's guess of the last possibly matching index).
 * - MsgHeartbeat carries `commit` (bounded by the follower's match) and an optional ReadIndex `context`.
 * - MsgProp: a follower forwards proposals (term 0 entries) to the leader.
 * - MsgReadIndex/MsgReadIndexResp: a follower's linearizable read forwarded to the leader.
 * - MsgTimeoutNow: leadership transfer; the target campaigns at once, skipping pre-vote.
 */
export type MessageType =
  | 'MsgApp'
  | 'MsgAppResp'
  | 'MsgPreVote'
  | 'MsgPreVoteResp'
  | 'MsgVote'
  | 'MsgVoteResp'
  | 'MsgHeartbeat'
  | 'MsgHeartbeatResp'
  | 'MsgSnap'
  | 'MsgProp'
  | 'MsgReadIndex'
  | 'MsgReadIndexResp'
  | 'MsgTimeoutNow';

/** A Raft message between two servers. Plain data: survives a msgpack round trip. */
export interface Message {
  type: MessageType;
  from: string;
  to: string;
  term: number;
  logTerm: number;
  index: number;
  commit: number;
  entries?: Entry[];
  reject?: boolean;
  rejectHint?: number;
  snapshot?: Snapshot;
  /** ReadIndex request id, or 'transfer' on votes forced by a leadership transfer. */
  context?: string;
}

export const CAMPAIGN_TRANSFER = 'transfer';

/** Messages that only a leader of `term` sends. */
export function isLeaderMessage(t: MessageType): boolean {
  return t === 'MsgApp' || t === 'MsgHeartbeat' || t === 'MsgSnap' || t === 'MsgTimeoutNow';
}

export function voteResponseType(t: MessageType): MessageType {
  return t === 'MsgPreVote' ? 'MsgPreVoteResp' : 'MsgVoteResp';
}
