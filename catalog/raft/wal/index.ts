/** Durable Raft storage: segmented WAL + snapshot store. See docs/raft-storage.md. */
export { FileStorage, DEFAULT_SEGMENT_SIZE, type FileStorageOptions, type RecoveryReport, type StorageStats } from './storage.js';
export { WalError, WalCorruptError, SnapshotCorruptError, NodeIdMismatchError } from './errors.js';
export { crc32c } from './crc32c.js';
