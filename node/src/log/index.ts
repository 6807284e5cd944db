/**
 * The segmented on-disk commit log (see log.ts for the contract, frame.ts and
 * offset-index.ts for the file formats, meta.ts for the metadata file).
 */
export { Log, type RetentionResult } from './log.js';
export { type VerifyReport } from './log-scans.js';
export { type SyncEvent, type SyncStats } from './sync-rounds.js';
export { GroupCommit, type GroupCommitStats } from './group-commit.js';
export {
  RecordType,
  isDataRecordType,
  MAX_RECORD_TYPE,
  type AppendInput,
  type DataRecord,
  type LogRecord,
  type Record,
  type ReadRangeOptions,
} from './record.js';
export {
  LogError,
  LogErrorCode,
  RecordTooLargeError,
  OffsetOutOfRangeError,
  CorruptSegmentError,
  LogClosedError,
  LogBusyError,
  InvalidLogConfigError,
  InvalidArgumentError,
} from './errors.js';
export {
  defaultLogConfig,
  logConfigPresets,
  resolveLogConfig,
  type LogConfig,
  type LogConfigInput,
  type RetentionConfig,
} from './config.js';
export { silentLogger, type LogLogger } from './logger.js';
export { FRAME_HEADER_BYTES } from './frame.js';
export { INDEX_ENTRY_BYTES } from './offset-index.js';
export { fsyncDir, writeFileDurable } from './durable-file.js';
export { type FileSystem, type OpenFlags, readWholeFile, realFileSystem } from './file-system.js';
export { MemoryFileSystem, PowerCutError } from './memory-fs.js';
