/**
 * Gossip membership (SWIM + Lifeguard, the role Serf plays in the book). Public surface:
 * the {@link Gossip} member process, its configuration and presets, the event and member
 * types, and the pure core and simulator for tests and benchmarks.
 */
export { Gossip, type GossipLogger, type GossipMetrics, type GossipOptions, type JoinResult } from './shell/gossip.js';
export {
  type GossipConfig,
  type GossipConfigInput,
  type GossipTunables,
  type PresetName,
  GossipConfigError,
  coreParams,
  presets,
  resolveConfig,
} from './config.js';
export * from './core/types.js';
export { GossipCore, type CoreOptions } from './core/gossip-core.js';
export { type CoreMetrics } from './core/state.js';
export { type CoreParams, pushPullIntervalMs, retransmitLimit, suspicionMaxMs, suspicionMinMs } from './core/params.js';
export {
  type DecodeFailure,
  type DecodeResult,
  Limits,
  decodeMessage,
  decodePacket,
  encodeMessage,
  encodePacket,
} from './core/codec.js';
export { KEY_BYTES, Keyring, KeyringError, keyFromBase64 } from './wire/keyring.js';
export { type DropReason, envelopeOverhead, openFrame, openPacket, sealFrame, sealPacket } from './wire/envelope.js';
export { type TransportMetrics, formatAddress, parseAddress } from './shell/net-transport.js';
export { resolveSeeds } from './shell/resolve.js';
export { registerGossipMetrics } from './shell/prometheus.js';
export { SimCluster, type RecordedEvent, type SimOptions } from './sim/cluster.js';
export { type LinkModel } from './sim/network.js';
export { seededRng } from './sim/rng.js';
