export { RaftCore } from './raft.js';
export type { RaftCoreConfig, Ready, ReadState, Role, SoftState, Status, ProgressStatus } from './raft.js';
export type { Message, MessageType } from './messages.js';
export { CAMPAIGN_TRANSFER } from './messages.js';
export { RaftError, NotLeaderError, NoLeaderError, ProposalDroppedError, ConfChangeError } from './errors.js';
export { encodeConfChange, decodeConfChange, applyConfChange } from './confchange.js';
export { committedIndex, majority, voteResult } from './quorum.js';
export { RaftLog } from './log.js';
export { bootstrapSnapshot, bootstrapHardState } from './bootstrap.js';
