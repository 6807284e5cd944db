/**
 * Gossip configuration: protocol timings (see {@link CoreParams}), addresses, tags, seeds and
 * encryption keys, with three presets and validation.
 *
 * - `lan`: memberlist `DefaultLANConfig` (probe 1 s / timeout 500 ms, k = 3, gossip 200 ms
 *   to 3 nodes, retransmit ×4, suspicion ×4 up to ×6, push/pull 30 s, TCP 10 s, UDP 1400 B)
 *   plus Serf's reaper defaults (failed and left members forgotten after 24 h).
 * - `local`: loopback and tests — about three times faster than memberlist's
 *   `DefaultLocalConfig` (probe 300 ms / timeout 150 ms, gossip 50 ms, push/pull 2 s) so
 *   real-process tests finish in seconds while tolerating a busy machine's event-loop lag.
 * - `quiet`: `npm start`'s local cluster, which mostly sits idle — `lan` probing and gossip,
 *   shorter suspicion for a handful of members (×3 up to ×3) and push/pull every 10 s (its
 *   100 ms `tickMs` dates from the periodic shell tick; the shell now sleeps until the core's
 *   next deadline whatever the preset: ~1.3 wakeups a second when idle). A killed member
 *   is marked failed in about 5 s (`npm run bench:gossip -- --preset quiet --sizes 3`: 4.8 s)
 *   instead of `local`'s ~1.5 s; gossip failures never change the Raft membership, so
 *   this only delays what the console and the logs show.
 */
import { type CoreParams } from './core/params.js';
import { type Tags } from './core/types.js';
import { PACKET_HEADER_BYTES, messageSize } from './core/codec.js';
import { incarnation, nodeName, address } from './core/types.js';
import { envelopeOverhead } from './wire/envelope.js';

/** Timing and size tunables a preset fixes (everything but identity and addresses). */
export interface GossipTunables extends Omit<CoreParams, 'packetBudget'> {
  /**
   * Poll period of `leave()` while its broadcast drains. (The shell used to tick the core this
   * often; it now sleeps until `GossipCore.nextDeadline()`, so this no longer sets wakeups.)
   */
  readonly tickMs: number;
  /** Largest UDP datagram we send (memberlist `UDPBufferSize`). */
  readonly udpBufferSize: number;
}

/** The complete, validated configuration of one member. */
export interface GossipConfig extends GossipTunables {
  /** Unique member name (the pod name). */
  readonly name: string;
  /** Interface to bind UDP and TCP on. */
  readonly bindAddr: string;
  /** Port for both UDP and TCP; 0 picks a free port (tests). */
  readonly bindPort: number;
  /** Address peers should use; defaults to bindAddr (must not be 0.0.0.0 then). */
  readonly advertiseAddr: string | undefined;
  /** Advertised port; defaults to the bound port. */
  readonly advertisePort: number | undefined;
  /** Tags gossiped with our alive message (rpcAddr, clusterId, externalAddr, role …). */
  readonly tags: Tags;
  /** Cluster id; members with another one are refused. Defaults to tags.clusterId. */
  readonly clusterId: string | undefined;
  /** Seeds `host:port`; host names are re-resolved on every join attempt. */
  readonly seeds: readonly string[];
  /** AES-256 keys, base64; the first encrypts, all decrypt. Empty = no encryption. */
  readonly encryptionKeys: readonly string[];
}

/** Named presets. */
export const presets = {
  lan: {
    probeIntervalMs: 1000,
    probeTimeoutMs: 500,
    indirectChecks: 3,
    retransmitMult: 4,
    suspicionMult: 4,
    suspicionMaxTimeoutMult: 6,
    awarenessMaxMultiplier: 8,
    gossipIntervalMs: 200,
    gossipNodes: 3,
    gossipToTheDeadMs: 30_000,
    pushPullIntervalMs: 30_000,
    reconnectIntervalMs: 30_000,
    reapFailedMs: 24 * 3600_000,
    reapLeftMs: 24 * 3600_000,
    streamTimeoutMs: 10_000,
    streamFallbackPing: true,
    tickMs: 20,
    udpBufferSize: 1400,
  },
  local: {
    probeIntervalMs: 300,
    probeTimeoutMs: 150,
    indirectChecks: 2,
    retransmitMult: 3,
    suspicionMult: 3,
    suspicionMaxTimeoutMult: 4,
    awarenessMaxMultiplier: 4,
    gossipIntervalMs: 50,
    gossipNodes: 3,
    gossipToTheDeadMs: 5_000,
    pushPullIntervalMs: 2_000,
    reconnectIntervalMs: 1_000,
    reapFailedMs: 30_000,
    reapLeftMs: 30_000,
    streamTimeoutMs: 1_000,
    streamFallbackPing: true,
    tickMs: 10,
    udpBufferSize: 1400,
  },
  quiet: {
    probeIntervalMs: 1000,
    probeTimeoutMs: 500,
    indirectChecks: 3,
    retransmitMult: 4,
    suspicionMult: 3,
    suspicionMaxTimeoutMult: 3,
    awarenessMaxMultiplier: 8,
    gossipIntervalMs: 200,
    gossipNodes: 3,
    gossipToTheDeadMs: 30_000,
    pushPullIntervalMs: 10_000,
    reconnectIntervalMs: 5_000,
    reapFailedMs: 3600_000,
    reapLeftMs: 3600_000,
    streamTimeoutMs: 10_000,
    streamFallbackPing: true,
    tickMs: 100,
    udpBufferSize: 1400,
  },
} as const satisfies Record<string, GossipTunables>;

/** Preset names. */
export type PresetName = keyof typeof presets;

/** What callers pass: identity plus any overrides of the chosen preset. */
export type GossipConfigInput = Partial<GossipConfig> & { readonly name: string; readonly preset?: PresetName };

/** Invalid configuration; `field` names the offending key. */
export class GossipConfigError extends Error {
  readonly code = 'invalid-gossip-config';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`gossip config ${field}: ${message}`);
    this.name = 'GossipConfigError';
  }
}

const positive: readonly (keyof GossipTunables)[] = [
  'probeIntervalMs',
  'probeTimeoutMs',
  'retransmitMult',
  'suspicionMult',
  'suspicionMaxTimeoutMult',
  'awarenessMaxMultiplier',
  'gossipIntervalMs',
  'gossipNodes',
  'streamTimeoutMs',
  'tickMs',
];

/** Applies the preset (default `lan`) and validates; throws {@link GossipConfigError}. */
export function resolveConfig(input: GossipConfigInput): GossipConfig {
  const { preset = 'lan', ...rest } = input;
  const base = presets[preset];
  if (base === undefined) throw new GossipConfigError('preset', `unknown preset "${String(preset)}"`);
  const c: GossipConfig = {
    ...base,
    bindAddr: '0.0.0.0',
    bindPort: 8401,
    advertiseAddr: undefined,
    advertisePort: undefined,
    tags: {},
    clusterId: undefined,
    seeds: [],
    encryptionKeys: [],
    ...rest,
  };
  if (!/^[A-Za-z0-9._-]{1,128}$/.test(c.name))
    throw new GossipConfigError('name', `"${c.name}" must be 1–128 of [A-Za-z0-9._-]`);
  for (const k of positive) {
    const v = c[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0)
      throw new GossipConfigError(k, `must be a positive number, got ${String(v)}`);
  }
  for (const k of [
    'indirectChecks',
    'gossipToTheDeadMs',
    'pushPullIntervalMs',
    'reconnectIntervalMs',
    'reapFailedMs',
    'reapLeftMs',
  ] as const) {
    if (!Number.isFinite(c[k]) || c[k] < 0) throw new GossipConfigError(k, `must be ≥ 0, got ${c[k]}`);
  }
  if (c.probeTimeoutMs >= c.probeIntervalMs)
    throw new GossipConfigError('probeTimeoutMs', 'must be below probeIntervalMs');
  if (c.udpBufferSize < 512 || c.udpBufferSize > 65507)
    throw new GossipConfigError('udpBufferSize', 'must be in [512, 65507]');
  if (!Number.isInteger(c.bindPort) || c.bindPort < 0 || c.bindPort > 65535)
    throw new GossipConfigError('bindPort', `bad port ${c.bindPort}`);
  const adv = c.advertiseAddr ?? c.bindAddr;
  if (adv === '0.0.0.0' || adv === '::')
    throw new GossipConfigError('advertiseAddr', 'required when binding to all interfaces');
  for (const s of c.seeds) {
    if (!/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/.test(s))
      throw new GossipConfigError('seeds', `"${s}" is not host:port`);
  }
  for (const k of c.encryptionKeys) {
    if (Buffer.from(k, 'base64').length !== 32)
      throw new GossipConfigError('encryptionKeys', 'each key must be 32 bytes, base64');
  }
  validateTags(c.name, c.tags, c.udpBufferSize);
  const cid = c.clusterId ?? c.tags['clusterId'];
  if (c.clusterId !== undefined && c.tags['clusterId'] !== undefined && c.tags['clusterId'] !== c.clusterId) {
    throw new GossipConfigError('clusterId', 'differs from tags.clusterId');
  }
  return cid === undefined ? c : { ...c, clusterId: cid, tags: { ...c.tags, clusterId: cid } };
}

/** The core's parameters for a config: the UDP budget net of the envelope. */
export function coreParams(c: GossipTunables, encrypted: boolean): CoreParams {
  const { tickMs: _t, udpBufferSize, ...rest } = c;
  return { ...rest, packetBudget: udpBufferSize - envelopeOverhead(encrypted) };
}

/** Room kept next to an alive broadcast in a packet (a ping and the header). */
const PACKET_ROOM = 64;

/**
 * Checks that our alive message, tags included, fits in one encrypted UDP packet with room
 * for a probe — otherwise it could only spread by push/pull. Throws {@link GossipConfigError}.
 */
export function validateTags(name: string, tags: Tags, udpBufferSize: number): void {
  let size: number;
  try {
    // Worst-case address: a bracketed IPv6 literal with port.
    const addr = address(`[${'f'.repeat(39)}]:65535`);
    size = messageSize({ type: 'alive', incarnation: incarnation(0), node: nodeName(name), addr, tags });
  } catch (e) {
    throw new GossipConfigError('tags', e instanceof Error ? e.message : String(e));
  }
  const budget = udpBufferSize - envelopeOverhead(true) - PACKET_HEADER_BYTES - PACKET_ROOM;
  if (size > budget)
    throw new GossipConfigError('tags', `encode to ${size} bytes with our name; at most ${budget} fit one packet`);
}
