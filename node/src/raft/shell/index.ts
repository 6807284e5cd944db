/**
 * Public API of the Raft shell: the RaftNode runner, its storage on the segmented log, the
 * stable store, the transports and their errors.
 */
export { RaftNode, type RaftNodeOptions, type ShellLogger } from './raft-node.js';
export { ProposalTracker, refusalError, type ProposeOutcome } from './proposal-tracker.js';
export type { LeaderChange, RaftNodeStatus, MemberStatus, NodeStats } from './node-status.js';
export {
  LogStorage,
  type LogStorageOptions,
  type LostTail,
  encodeSnapshotPayload,
  decodeSnapshotPayload,
  SNAPSHOT_PAYLOAD_BYTES,
} from './log-storage.js';
export { StableStore, STABLE_FILE, type StableState, type SnapshotRecord, type ConfPoint } from './stable-store.js';
export { defaultShellConfig, shellConfig, shellConfigPresets, ShellConfigError, type ShellConfig } from './config.js';
export type { RaftTransport, MessageHandler, TransportStats } from './transport.js';
export { MemoryNetwork, MemoryTransport, type DropFilter } from './transport-memory.js';
export {
  TcpTransport,
  RAFT_MUX_BYTE,
  serverCertificatesOnly,
  type TcpTransportOptions,
  type TransportTls,
} from './transport-tcp.js';
export { type StorageHearing } from './transport-tcp-inbound.js';
export {
  encodeMessage,
  encodeHello,
  decodeFrame,
  FrameSplitter,
  WIRE_VERSION,
  WIRE_V1,
  helloVersionFor,
  type Frame,
  type Hello,
} from './codec.js';
export * from './errors.js';
export { MAX_PRODUCER_ID_BYTES, type ProducerSeq, userView } from './pdata.js';
export { DEFAULT_PRODUCER_LIMITS, type ProducerLimits } from './producer-table.js';
