/**
 * The agent's options: ONE typed table from which everything else is derived — the
 * commander flags and `--help` ({@link addAgentOptions}), the environment and YAML readers
 * (option-reader.ts), the resolvers (base-config.ts, config.ts) and the docs table
 * ({@link optionsMarkdown}, checked into docs/agent-options.md).
 *
 * Every option has one kebab-case key, used three ways, in this precedence:
 *   1. the flag `--<key>`,
 *   2. the environment variable `COMMITLOG_<KEY_IN_UPPER_SNAKE>` (e.g. COMMITLOG_DATA_DIR),
 *   3. the key in the YAML file given by `--config-file` (or COMMITLOG_CONFIG_FILE),
 *   4. the default.
 *
 * `scope: 'node'` options are those of every node, the development `--standalone` one
 * included; `scope: 'cluster'` options need Raft and gossip and are refused with
 * `--standalone`. Per-kind validation (integer ranges, choices, files that must exist) is
 * data here; rules between options live in the resolvers.
 */
import type { Command } from 'commander';
import { LogLevels } from '../observability/logger.js';
import { DEFAULT_MAX_RECORD_BYTES } from '../server/limits.js';

/** Kinds of option values. */
export type OptionKind = 'string' | 'int' | 'bool' | 'file' | 'choice' | 'list';

/** One option of the agent. */
export interface OptionSpec {
  /** Kebab-case key: the flag `--<key>`, the env `COMMITLOG_<KEY>` and the config file key. */
  readonly key: string;
  readonly kind: OptionKind;
  readonly scope: 'node' | 'cluster';
  readonly description: string;
  readonly default?: string | number | boolean;
  /** Inclusive range of an `int`. */
  readonly min?: number;
  readonly max?: number;
  /** Allowed values of a `choice`. */
  readonly choices?: readonly string[];
}

const PORT = { kind: 'int', min: 0, max: 65535 } as const;

/** Every option of the agent, in help order. */
export const AGENT_OPTIONS = [
  {
    key: 'data-dir',
    kind: 'string',
    scope: 'node',
    description: 'directory for the log segments',
    default: '/var/run/commitlog',
  },
  { key: 'node-name', kind: 'string', scope: 'node', description: 'unique node name (default: the host name)' },
  {
    key: 'bind-addr',
    kind: 'string',
    scope: 'node',
    description: 'host:port for gossip; its host is also the RPC bind host',
    default: '127.0.0.1:8401',
  },
  {
    key: 'rpc-port',
    ...PORT,
    scope: 'node',
    description: 'port for gRPC (and, in a cluster, Raft) connections (0 = any free port)',
    default: 8400,
  },
  {
    key: 'advertise-addr',
    kind: 'string',
    scope: 'node',
    description: 'host:port clients should dial for this node (default: bind host and rpc port)',
  },
  {
    key: 'http-port',
    ...PORT,
    scope: 'node',
    description: 'port for /metrics, /healthz and /readyz (0 = any free port)',
    default: 8402,
  },
  {
    key: 'acl-model-file',
    kind: 'file',
    scope: 'node',
    description: 'Casbin model file (with --acl-policy-file: enforce the ACL)',
  },
  { key: 'acl-policy-file', kind: 'file', scope: 'node', description: 'Casbin policy file' },
  { key: 'server-tls-cert-file', kind: 'file', scope: 'node', description: 'server certificate (PEM)' },
  { key: 'server-tls-key-file', kind: 'file', scope: 'node', description: 'server private key (PEM)' },
  {
    key: 'server-tls-ca-file',
    kind: 'file',
    scope: 'node',
    description: 'CA that client certificates must chain to (enables mutual TLS)',
  },
  {
    key: 'peer-tls-cert-file',
    kind: 'file',
    scope: 'node',
    description: 'certificate this node presents to peers (PEM)',
  },
  {
    key: 'peer-tls-key-file',
    kind: 'file',
    scope: 'node',
    description: 'private key for the peer certificate (PEM)',
  },
  {
    key: 'peer-tls-ca-file',
    kind: 'file',
    scope: 'node',
    description: 'CA that peer server certificates must chain to',
  },
  {
    key: 'insecure',
    kind: 'bool',
    scope: 'node',
    description: 'serve plaintext gRPC without TLS (with --standalone only: a cluster needs mutual TLS)',
    default: false,
  },
  {
    key: 'max-record-bytes',
    kind: 'int',
    min: 1,
    max: 64 * 1024 * 1024,
    scope: 'node',
    description:
      "largest record accepted (bytes); the default leaves room for framing under gRPC's default 4 MiB message limit, so every client can read every record back",
    default: DEFAULT_MAX_RECORD_BYTES,
  },
  {
    key: 'disable-reflection',
    kind: 'bool',
    scope: 'node',
    description:
      'do not serve gRPC server reflection (on by default, behind the same TLS and ACL action "consume" as the API)',
    default: false,
  },
  {
    key: 'log-level',
    kind: 'choice',
    choices: LogLevels,
    scope: 'node',
    description: `log level: ${LogLevels.join('|')}`,
    default: 'info',
  },
  {
    key: 'request-log-level',
    kind: 'choice',
    choices: LogLevels,
    scope: 'node',
    description: 'level of the one-line-per-request log (silent = off; default debug: not written at --log-level=info)',
    default: 'debug',
  },
  {
    key: 'cluster-id',
    kind: 'string',
    scope: 'cluster',
    description: 'cluster id; nodes refuse gossip and Raft traffic of another cluster',
    default: 'commitlog',
  },
  {
    key: 'bootstrap',
    kind: 'bool',
    scope: 'cluster',
    description: 'start a new cluster with this node as its only voter (ignored when the data dir holds state)',
    default: false,
  },
  {
    key: 'bootstrap-node',
    kind: 'string',
    scope: 'cluster',
    description: 'with --bootstrap: only the node of this name may bootstrap (a config file shared by several nodes)',
  },
  {
    key: 'start-join-addrs',
    kind: 'list',
    scope: 'cluster',
    description: 'gossip seeds host:port, comma-separated (joining nodes)',
    default: '',
  },
  {
    key: 'gossip-advertise-addr',
    kind: 'string',
    scope: 'cluster',
    description:
      'host:port peers use for gossip (default: --bind-addr, or the --advertise-addr host with the gossip port when binding all interfaces; in Kubernetes the pod IP)',
  },
  {
    key: 'external-addr',
    kind: 'string',
    scope: 'cluster',
    description: 'host:port clients outside the cluster dial for this node (gossiped, reported by GetServers)',
  },
  {
    key: 'role',
    kind: 'choice',
    choices: ['voter', 'learner'],
    scope: 'cluster',
    description: 'desired Raft suffrage: voter (promoted once caught up) or learner (never promoted)',
    default: 'voter',
  },
  {
    key: 'gossip-key',
    kind: 'list',
    scope: 'cluster',
    description: 'AES-256 gossip key(s), base64, comma-separated; the first encrypts',
  },
  {
    key: 'gossip-key-file',
    kind: 'file',
    scope: 'cluster',
    description:
      'file holding the gossip key(s) as --gossip-key does (comma or newline separated), e.g. a mounted Secret',
  },
  {
    key: 'external-addr-file',
    kind: 'file',
    scope: 'cluster',
    description:
      "YAML mapping of node name → external host:port; this node's entry (if any) is its --external-addr, read at start",
  },
  {
    key: 'segment-bytes',
    kind: 'int',
    min: 4096,
    max: 0xffff_ffff - 1,
    scope: 'cluster',
    description: 'roll to a new log segment at this size (bytes)',
    default: 64 * 1024 * 1024,
  },
  {
    key: 'retention-bytes',
    kind: 'int',
    min: 0,
    max: Number.MAX_SAFE_INTEGER,
    scope: 'cluster',
    description: 'remove the oldest segments while the log exceeds this size (bytes; 0 = no limit)',
    default: 0,
  },
  {
    key: 'retention-hours',
    kind: 'int',
    min: 0,
    max: 24 * 365 * 100,
    scope: 'cluster',
    description: 'remove segments whose last write is older than this (hours; 0 = no limit)',
    default: 0,
  },
  {
    key: 'gossip-preset',
    kind: 'choice',
    choices: ['lan', 'local', 'quiet'],
    scope: 'cluster',
    description:
      'gossip timing preset: lan (memberlist LAN), local (fast, for tests) or quiet (lan probing, fewer wakeups: npm start)',
    default: 'lan',
  },
  {
    key: 'raft-preset',
    kind: 'choice',
    choices: ['lan', 'test'],
    scope: 'cluster',
    description: 'Raft timing preset: lan or test',
    default: 'lan',
  },
  {
    key: 'json-port',
    ...PORT,
    scope: 'cluster',
    description:
      'port of the JSON-over-HTTPS API: the server TLS files, client certificates and ACL of gRPC (0 = any free port, off = disabled)',
    default: 8403,
  },
  {
    key: 'linearizable-reads',
    kind: 'bool',
    scope: 'cluster',
    description: 'serve Consume after a ReadIndex barrier (linearizable, one leader round trip)',
    default: false,
  },
  {
    key: 'console',
    kind: 'bool',
    scope: 'cluster',
    description:
      'serve the live cluster console at /console on the HTTP port (unauthenticated, read-only: only where that port is not exposed)',
    default: false,
  },
  {
    key: 'shutdown-transfer-ms',
    kind: 'int',
    min: 0,
    max: 600_000,
    scope: 'cluster',
    description: 'on SIGTERM, how long a leader tries to hand leadership over before it stops anyway (ms)',
    default: 3000,
  },
  {
    key: 'membership-resync-ms',
    kind: 'int',
    min: 10,
    max: 3_600_000,
    scope: 'cluster',
    description: 'period of the membership reconciler, which also runs on every gossip event (ms)',
    default: 1000,
  },
] as const satisfies readonly OptionSpec[];

/** A key of {@link AGENT_OPTIONS}. */
export type OptionKey = (typeof AGENT_OPTIONS)[number]['key'];

/** The options of every node (`--standalone` takes only these). */
export const nodeOptions: readonly OptionSpec[] = AGENT_OPTIONS.filter((o) => o.scope === 'node');
/** The options that need Raft and gossip (refused with `--standalone`). */
export const clusterOptions: readonly OptionSpec[] = AGENT_OPTIONS.filter((o) => o.scope === 'cluster');

/** The option of a key. */
export function optionSpec(key: string): OptionSpec | undefined {
  return (AGENT_OPTIONS as readonly OptionSpec[]).find((o) => o.key === key);
}

/** Environment variable name of an option key. */
export function envName(key: string): string {
  return `COMMITLOG_${key.toUpperCase().replaceAll('-', '_')}`;
}

const camel = (key: string): string => key.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());

/** What `--help` and the docs say about an option's value, e.g. `integer 0..65535` or `voter|learner`. */
function valueHelp(o: OptionSpec): string {
  switch (o.kind) {
    case 'int':
      return o.max === Number.MAX_SAFE_INTEGER ? `integer ≥ ${o.min ?? 0}` : `integer ${o.min ?? 0}..${o.max ?? ''}`;
    case 'choice':
      return (o.choices ?? []).join('|');
    case 'list':
      return 'comma-separated list';
    case 'file':
      return 'path of an existing file';
    case 'bool':
      return 'true|false';
    case 'string':
      return 'string';
  }
}

/** Adds `--config-file` and every option of {@link AGENT_OPTIONS} to `cmd`. */
export function addAgentOptions(cmd: Command): Command {
  cmd.option('--config-file <file>', `YAML file of option: value (env ${envName('config-file')})`);
  for (const o of AGENT_OPTIONS as readonly OptionSpec[]) {
    const value = o.kind === 'int' || o.kind === 'choice' ? valueHelp(o) : undefined;
    const def = o.default !== undefined ? `default ${JSON.stringify(o.default)}` : undefined;
    const extra = [value, def].filter((x) => x !== undefined).join(', ');
    const desc = `${o.description}${extra === '' ? '' : ` (${extra})`}; env ${envName(o.key)}`;
    if (o.kind === 'bool') cmd.option(`--${o.key}`, desc);
    else cmd.option(`--${o.key} <${o.kind === 'int' ? 'n' : 'value'}>`, desc);
  }
  return cmd;
}

/** Turns parsed commander options into the flags map the resolvers take (only flags given). */
export function flagsOf(opts: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const flags: Record<string, unknown> = {};
  for (const o of AGENT_OPTIONS) if (opts[camel(o.key)] !== undefined) flags[o.key] = opts[camel(o.key)];
  return flags;
}

/** The docs table of every option (docs/agent-options.md is this, checked by a test). */
export function optionsMarkdown(): string {
  const cell = (s: string): string => s.replaceAll('|', '\\|');
  const rows = (AGENT_OPTIONS as readonly OptionSpec[]).map(
    (o) =>
      `| \`--${o.key}\` | \`${envName(o.key)}\` | \`${o.key}\` | ${cell(valueHelp(o))} | ${
        o.default === undefined || o.default === '' ? '' : `\`${String(o.default)}\``
      } | ${o.scope} | ${cell(o.description)} |`,
  );
  return [
    '# Agent options',
    '',
    '<!-- Generated from node/src/agent/options.ts by `npx tsx node/src/agent/options-doc.ts`; do not edit. -->',
    '',
    'Precedence: flag, then environment variable, then the key of the YAML `--config-file`',
    `(or \`${envName('config-file')}\`), then the default. Options of scope \`cluster\` are refused with \`--standalone\`.`,
    '',
    '| flag | env | file key | value | default | scope | meaning |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}
