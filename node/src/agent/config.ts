/**
 * Configuration of the cluster agent: everything `commitlog agent` already takes
 * (node/src/agent/base-config.ts, reused as is) plus the cluster options — cluster id,
 * bootstrap flag, gossip seeds, gossip key, presets and read consistency.
 *
 * The extra options follow the same precedence (flag, `COMMITLOG_<KEY>` env, YAML config
 * file, default) and the same "every problem, one per line" validation.
 *
 * In Kubernetes one config file is shared by every pod of the StatefulSet (the operator
 * renders it: operator/src/model/config-map.ts), so what differs per pod comes from the
 * environment (node name, advertise addresses, own certificate files), the bootstrap
 * permission names its one node (`bootstrap-node`), secrets are files (`gossip-key-file`
 * from a mounted Secret) and the external address is looked up by node name in a mapping
 * file the operator fills in once the external Service has an address.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { parseHostPort } from '../net/address.js';
import {
  AgentConfigError,
  agentOptions,
  envName,
  readConfigFile,
  resolveAgentConfig,
  type AgentConfig,
} from './base-config.js';

/** Options the cluster agent adds to {@link agentOptions}. */
export const clusterOptions = [
  {
    key: 'cluster-id',
    kind: 'string',
    description: 'cluster id; nodes refuse gossip and Raft traffic of another cluster',
    default: 'commitlog',
  },
  {
    key: 'bootstrap',
    kind: 'bool',
    description: 'start a new cluster with this node as its only voter (ignored when the data dir holds state)',
    default: false,
  },
  {
    key: 'bootstrap-node',
    kind: 'string',
    description: 'with --bootstrap: only the node of this name may bootstrap (a config file shared by several nodes)',
  },
  {
    key: 'start-join-addrs',
    kind: 'string',
    description: 'gossip seeds host:port, comma-separated (joining nodes)',
    default: '',
  },
  {
    key: 'gossip-advertise-addr',
    kind: 'string',
    description:
      'host:port peers use for gossip (default: --bind-addr, or the --advertise-addr host with the gossip port when binding all interfaces; in Kubernetes the pod IP)',
  },
  {
    key: 'external-addr',
    kind: 'string',
    description: 'host:port clients outside the cluster dial for this node (gossiped, reported by GetServers)',
  },
  {
    key: 'role',
    kind: 'string',
    description: 'desired Raft suffrage: voter (promoted once caught up) or learner (never promoted)',
    default: 'voter',
  },
  {
    key: 'gossip-key',
    kind: 'string',
    description: 'AES-256 gossip key(s), base64, comma-separated; the first encrypts',
  },
  {
    key: 'gossip-key-file',
    kind: 'file',
    description:
      'file holding the gossip key(s) as --gossip-key does (comma or newline separated), e.g. a mounted Secret',
  },
  {
    key: 'external-addr-file',
    kind: 'file',
    description:
      "YAML mapping of node name → external host:port; this node's entry (if any) is its --external-addr, read at start",
  },
  {
    key: 'segment-bytes',
    kind: 'int',
    description: 'roll to a new log segment at this size (bytes)',
    default: 64 * 1024 * 1024,
  },
  {
    key: 'retention-bytes',
    kind: 'int',
    description: 'remove the oldest segments while the log exceeds this size (bytes; 0 = no limit)',
    default: 0,
  },
  {
    key: 'retention-hours',
    kind: 'int',
    description: 'remove segments whose last write is older than this (hours; 0 = no limit)',
    default: 0,
  },
  { key: 'gossip-preset', kind: 'string', description: 'gossip timing preset: lan or local', default: 'lan' },
  { key: 'raft-preset', kind: 'string', description: 'Raft timing preset: lan or test', default: 'lan' },
  {
    key: 'json-port',
    kind: 'int',
    description:
      'port of the JSON-over-HTTPS API: the server TLS files, client certificates and ACL of gRPC (0 = any free port, off = disabled)',
    default: 8403,
  },
  {
    key: 'linearizable-reads',
    kind: 'bool',
    description: 'serve Consume after a ReadIndex barrier (linearizable, one leader round trip)',
    default: false,
  },
  {
    key: 'console',
    kind: 'bool',
    description:
      'serve the live cluster console at /console on the HTTP port (unauthenticated, read-only: only where that port is not exposed)',
    default: false,
  },
] as const;

/** Every option of the cluster agent, in help order. */
export const allAgentOptions = [...agentOptions, ...clusterOptions] as const;

/** Desired suffrage of a node. */
export const DesiredRole = { voter: 'voter', learner: 'learner' } as const;
/** One of {@link DesiredRole}. */
export type DesiredRole = (typeof DesiredRole)[keyof typeof DesiredRole];

/** The cluster agent's configuration: a superset of the CLI's {@link AgentConfig}. */
export interface ClusterAgentConfig extends AgentConfig {
  readonly clusterId: string;
  /** Bootstrap a new cluster with this node as the only voter — only if the data dir is empty. */
  readonly bootstrap: boolean;
  /** Gossip seeds (host:port). */
  readonly joinAddrs: readonly string[];
  readonly externalAddr: string | undefined;
  /** File whose entry for this node is its external address, followed while running (undefined when --external-addr is given). */
  readonly externalAddrFile: string | undefined;
  /** Gossip address peers use (undefined = derived, see the option's description). */
  readonly gossipAdvertiseAddr: string | undefined;
  readonly role: DesiredRole;
  readonly gossipKeys: readonly string[];
  readonly gossipPreset: 'lan' | 'local';
  readonly raftPreset: 'lan' | 'test';
  readonly linearizableReads: boolean;
  /** Port of the JSON API (node/src/http; 0 = any free port), undefined when disabled (`--json-port off`). */
  readonly jsonPort: number | undefined;
  /** Serve the live console on the HTTP port (observability/console.ts). */
  readonly console: boolean;
  /** Segment size and retention of the log (applied by Raft's compaction timer). */
  readonly log: { readonly segmentBytes: number; readonly retentionBytes: number; readonly retentionMs: number };
  /** Time bound of the leadership transfer on SIGTERM (ms). */
  readonly shutdownTransferMs: number;
  /** Period of the membership reconciler's resync (ms); it also runs on every gossip event. */
  readonly membershipResyncMs: number;
}

/** Reads the YAML config file accepting the cluster agent's keys. */
export function readClusterConfigFile(path: string): Record<string, unknown> {
  return readConfigFile(
    path,
    allAgentOptions.map((o) => o.key),
  );
}

const splitList = (v: string): string[] =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/**
 * Resolves the cluster agent's configuration from flags (keys as in {@link allAgentOptions}),
 * the environment and the config file.
 * @throws AgentConfigError listing every problem (base and cluster options together).
 */
export function resolveClusterAgentConfig(
  flags: Readonly<Record<string, unknown>>,
  env: NodeJS.ProcessEnv,
  file: Readonly<Record<string, unknown>>,
): ClusterAgentConfig {
  const problems: string[] = [];
  const baseKeys = new Set<string>(agentOptions.map((o) => o.key));
  const pick = (src: Readonly<Record<string, unknown>>): Record<string, unknown> =>
    Object.fromEntries(Object.entries(src).filter(([k]) => baseKeys.has(k)));
  let base: AgentConfig | undefined;
  try {
    base = resolveAgentConfig(pick(flags), env, pick(file));
  } catch (err) {
    if (!(err instanceof AgentConfigError)) throw err;
    problems.push(...err.problems);
  }
  const raw = (key: string): { value: unknown; where: string } | undefined => {
    if (flags[key] !== undefined) return { value: flags[key], where: `--${key}` };
    const e = env[envName(key)];
    if (e !== undefined && e !== '') return { value: e, where: envName(key) };
    if (file[key] !== undefined && file[key] !== null) return { value: file[key], where: `${key} (config file)` };
    const spec = clusterOptions.find((o) => o.key === key);
    return spec && 'default' in spec ? { value: spec.default, where: `--${key}` } : undefined;
  };
  const str = (key: string): string | undefined => {
    const r = raw(key);
    if (r === undefined) return undefined;
    if (Array.isArray(r.value)) return r.value.map(String).join(',');
    return String(r.value as string);
  };
  const bool = (key: string): boolean => {
    const r = raw(key);
    if (r === undefined || typeof r.value === 'boolean') return r?.value === true;
    if (r.value === 'true' || r.value === '1') return true;
    if (r.value === 'false' || r.value === '0') return false;
    problems.push(`${r.where}: expected true or false, got ${JSON.stringify(r.value)}`);
    return false;
  };
  const oneOf = <T extends string>(key: string, allowed: readonly T[]): T => {
    const v = str(key) ?? '';
    if ((allowed as readonly string[]).includes(v)) return v as T;
    problems.push(`--${key}: expected one of ${allowed.join('|')}, got ${JSON.stringify(v)}`);
    return allowed[0] as T;
  };
  const int = (key: string, min: number, max: number): number => {
    const r = raw(key);
    const n = typeof r?.value === 'number' ? r.value : Number(r?.value);
    if (r === undefined || !Number.isSafeInteger(n) || n < min || n > max) {
      problems.push(
        `${r?.where ?? `--${key}`}: expected an integer in [${min}, ${max}], got ${JSON.stringify(r?.value)}`,
      );
      return min;
    }
    return n;
  };
  const existing = (key: string): string | undefined => {
    const p = str(key);
    if (p !== undefined && !existsSync(p)) problems.push(`${raw(key)?.where ?? `--${key}`}: file ${p} does not exist`);
    return p !== undefined && existsSync(p) ? p : undefined;
  };
  const clusterId = str('cluster-id') ?? '';
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(clusterId))
    problems.push(`--cluster-id: expected 1–64 of [A-Za-z0-9._-], got ${JSON.stringify(clusterId)}`);
  const joinAddrs = splitList(str('start-join-addrs') ?? '');
  const checkAddr = (option: string, a: string): void => {
    const r = parseHostPort(a);
    if (!r.ok) problems.push(`--${option}: expected host:port, got ${JSON.stringify(a)}: ${r.reason}`);
  };
  for (const a of joinAddrs) checkAddr('start-join-addrs', a);
  const externalAddrFile = existing('external-addr-file');
  const externalAddr =
    str('external-addr') ??
    (externalAddrFile !== undefined ? externalAddrOf(externalAddrFile, base?.nodeName, problems) : undefined);
  if (externalAddr !== undefined) checkAddr('external-addr', externalAddr);
  const gossipAdvertiseAddr = str('gossip-advertise-addr');
  if (gossipAdvertiseAddr !== undefined) checkAddr('gossip-advertise-addr', gossipAdvertiseAddr);
  const role = oneOf('role', ['voter', 'learner'] as const);
  const gossipKeyFile = existing('gossip-key-file');
  if (str('gossip-key') !== undefined && str('gossip-key-file') !== undefined)
    problems.push('--gossip-key and --gossip-key-file: give one or neither');
  const gossipKeys = splitList(
    gossipKeyFile !== undefined ? readFileSync(gossipKeyFile, 'utf8').replace(/\s+/g, ',') : (str('gossip-key') ?? ''),
  );
  for (const k of gossipKeys)
    if (Buffer.from(k, 'base64').length !== 32)
      problems.push(
        `${gossipKeyFile !== undefined ? `--gossip-key-file ${gossipKeyFile}` : '--gossip-key'}: each key must be 32 bytes, base64`,
      );
  const gossipPreset = oneOf('gossip-preset', ['lan', 'local'] as const);
  const raftPreset = oneOf('raft-preset', ['lan', 'test'] as const);
  const bootstrapNode = str('bootstrap-node');
  // A shared config file allows bootstrap for exactly one named node (the StatefulSet's ordinal 0).
  const bootstrap =
    bool('bootstrap') && (bootstrapNode === undefined || bootstrapNode === '' || bootstrapNode === base?.nodeName);
  const segmentBytes = int('segment-bytes', 4096, 0xffff_ffff - 1);
  const retentionBytes = int('retention-bytes', 0, Number.MAX_SAFE_INTEGER);
  const retentionHours = int('retention-hours', 0, 24 * 365 * 100);
  const linearizableReads = bool('linearizable-reads');
  const jsonPortRaw = raw('json-port');
  const jsonPort =
    jsonPortRaw?.value === 'off' || jsonPortRaw?.value === false ? undefined : int('json-port', 0, 65535);
  const liveConsole = bool('console');
  if (base !== undefined) {
    if (base.serverTls === undefined || base.serverTls.caFile === undefined)
      problems.push(
        'a cluster needs mutual TLS between nodes: give --server-tls-cert-file, --server-tls-key-file and --server-tls-ca-file (or the --peer-tls-* files)',
      );
    if (!/^[A-Za-z0-9._-]{1,128}$/.test(base.nodeName))
      problems.push(
        `--node-name: expected 1–128 of [A-Za-z0-9._-] (it is the Raft and gossip id), got ${JSON.stringify(base.nodeName)}`,
      );
  }
  if (problems.length > 0 || base === undefined) throw new AgentConfigError(problems);
  return {
    ...base,
    clusterId,
    bootstrap,
    joinAddrs,
    externalAddr,
    externalAddrFile: str('external-addr') === undefined ? externalAddrFile : undefined,
    gossipAdvertiseAddr,
    role,
    gossipKeys,
    gossipPreset,
    raftPreset,
    linearizableReads,
    jsonPort,
    console: liveConsole,
    log: { segmentBytes, retentionBytes, retentionMs: retentionHours * 3_600_000 },
    shutdownTransferMs: 3000,
    membershipResyncMs: 1000,
  };
}

/**
 * This node's entry of an external-address file (YAML mapping node name → host:port, as the
 * operator writes it; a node without an entry has no external address yet).
 */
export function externalAddrOf(path: string, nodeName: string | undefined, problems: string[]): string | undefined {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(path, 'utf8'));
  } catch (err) {
    problems.push(`--external-addr-file ${path}: ${(err as Error).message}`);
    return undefined;
  }
  if (doc === null || doc === undefined) return undefined;
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    problems.push(`--external-addr-file ${path}: must be a YAML mapping of node name: host:port`);
    return undefined;
  }
  const v = nodeName === undefined ? undefined : (doc as Record<string, unknown>)[nodeName];
  return v === undefined || v === null ? undefined : String(v as string);
}
