/**
 * Configuration of the cluster agent: the node options (base-config.ts) plus the cluster
 * options of the one table (options.ts, scope `cluster`) — cluster id, bootstrap flag,
 * gossip seeds, gossip key, presets, read consistency, shutdown and resync timing — read
 * through the same {@link OptionReader} (one precedence, every problem one per line).
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
import { readConfigFile, resolveNodeOptions, type AgentConfig } from './base-config.js';
import { OptionReader } from './option-reader.js';
import { AGENT_OPTIONS } from './options.js';

export { clusterOptions } from './options.js';

/** Every option of the cluster agent, in help order (the table of options.ts). */
export const allAgentOptions = AGENT_OPTIONS;

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
  readonly gossipPreset: 'lan' | 'local' | 'quiet';
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
  const r = new OptionReader({ flags, env, file });
  const problems = r.problems;
  const base = resolveNodeOptions(r);
  const existing = (p: string | undefined): string | undefined => (p !== undefined && existsSync(p) ? p : undefined);
  const clusterId = r.str('cluster-id') ?? '';
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(clusterId))
    problems.push(`--cluster-id: expected 1–64 of [A-Za-z0-9._-], got ${JSON.stringify(clusterId)}`);
  const joinAddrs = r.list('start-join-addrs');
  const checkAddr = (option: string, a: string): void => {
    const parsed = parseHostPort(a);
    if (!parsed.ok) problems.push(`--${option}: expected host:port, got ${JSON.stringify(a)}: ${parsed.reason}`);
  };
  for (const a of joinAddrs) checkAddr('start-join-addrs', a);
  const externalAddrFile = existing(r.file('external-addr-file'));
  const externalAddr =
    r.str('external-addr') ??
    (externalAddrFile !== undefined ? externalAddrOf(externalAddrFile, base.nodeName, problems) : undefined);
  if (externalAddr !== undefined) checkAddr('external-addr', externalAddr);
  const gossipAdvertiseAddr = r.str('gossip-advertise-addr');
  if (gossipAdvertiseAddr !== undefined) checkAddr('gossip-advertise-addr', gossipAdvertiseAddr);
  const role = r.choice<DesiredRole>('role');
  const gossipKeyFile = existing(r.file('gossip-key-file'));
  if (r.str('gossip-key') !== undefined && r.str('gossip-key-file') !== undefined)
    problems.push('--gossip-key and --gossip-key-file: give one or neither');
  const gossipKeys =
    gossipKeyFile !== undefined
      ? splitList(readFileSync(gossipKeyFile, 'utf8').replace(/\s+/g, ','))
      : r.list('gossip-key');
  for (const k of gossipKeys)
    if (Buffer.from(k, 'base64').length !== 32)
      problems.push(
        `${gossipKeyFile !== undefined ? `--gossip-key-file ${gossipKeyFile}` : '--gossip-key'}: each key must be 32 bytes, base64`,
      );
  const gossipPreset = r.choice<'lan' | 'local' | 'quiet'>('gossip-preset');
  const raftPreset = r.choice<'lan' | 'test'>('raft-preset');
  const bootstrapNode = r.str('bootstrap-node');
  // A shared config file allows bootstrap for exactly one named node (the StatefulSet's ordinal 0).
  const bootstrap =
    r.bool('bootstrap') && (bootstrapNode === undefined || bootstrapNode === '' || bootstrapNode === base.nodeName);
  const segmentBytes = r.int('segment-bytes');
  const retentionBytes = r.int('retention-bytes');
  const retentionHours = r.int('retention-hours');
  const linearizableReads = r.bool('linearizable-reads');
  const jsonPortRaw = r.raw('json-port');
  const jsonPort = jsonPortRaw?.value === 'off' || jsonPortRaw?.value === false ? undefined : r.int('json-port');
  const liveConsole = r.bool('console');
  const shutdownTransferMs = r.int('shutdown-transfer-ms');
  const membershipResyncMs = r.int('membership-resync-ms');
  if (base.serverTls === undefined || base.serverTls.caFile === undefined)
    problems.push(
      'a cluster needs mutual TLS between nodes: give --server-tls-cert-file, --server-tls-key-file and --server-tls-ca-file (or the --peer-tls-* files)',
    );
  if (!/^[A-Za-z0-9._-]{1,128}$/.test(base.nodeName))
    problems.push(
      `--node-name: expected 1–128 of [A-Za-z0-9._-] (it is the Raft and gossip id), got ${JSON.stringify(base.nodeName)}`,
    );
  r.check();
  return {
    ...base,
    clusterId,
    bootstrap,
    joinAddrs,
    externalAddr,
    externalAddrFile: r.str('external-addr') === undefined ? externalAddrFile : undefined,
    gossipAdvertiseAddr,
    role,
    gossipKeys,
    gossipPreset,
    raftPreset,
    linearizableReads,
    jsonPort,
    console: liveConsole,
    log: { segmentBytes, retentionBytes, retentionMs: retentionHours * 3_600_000 },
    shutdownTransferMs,
    membershipResyncMs,
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
