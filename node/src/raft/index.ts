/**
 * Public API of the Raft package: the pure core (RawNode, types, config, storage) and the
 * in-memory storage. The loop contract is in ./README.md.
 */
export * from './core/types.js';
export { RawNode, type RawNodeOptions, type RaftStatus, type FollowerStatus } from './core/raw-node.js';
export {
  raftConfig,
  validateRaftConfig,
  defaultRaftConfig,
  raftConfigPresets,
  type RaftConfig,
  type RaftConfigPreset,
} from './core/config.js';
export { RaftError, RaftConfigError, RaftInvariantError, RaftUsageError, StorageRangeError } from './core/errors.js';
export { entrySize, limitSize, type Storage, type InitialState } from './core/storage.js';
export { MemoryStorage } from './core/memory-storage.js';
export { seededRng, silentLogger, type Rng, type RaftLogger, type LogFields } from './core/env.js';
export { encodeConfEntry, decodeConfEntry, type ConfEntry } from './core/conf-codec.js';
export { applyConfChange, checkConfChange } from './core/tracker.js';
export type { ProgressState } from './core/progress.js';
export type { RaftCounters } from './core/state.js';
export * from './shell/index.js';
