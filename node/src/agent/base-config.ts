/**
 * Configuration of `commitlog agent`: the book's options (data dir, node name, bind
 * address, RPC port, ACL files, server and peer TLS files) plus HTTP port and log levels.
 *
 * Every option has one kebab-case key, used three ways, in this precedence:
 *   1. the flag `--<key>`,
 *   2. the environment variable `COMMITLOG_<KEY_IN_UPPER_SNAKE>` (e.g. COMMITLOG_DATA_DIR),
 *   3. the key in the YAML file given by `--config-file` (or COMMITLOG_CONFIG_FILE),
 *   4. the default.
 * Validation names the option and where its value came from.
 */
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { parse as parseYaml } from 'yaml';
import { formatHostPort, parseHostPort } from '../net/address.js';
import { isLogLevel, type LogLevel } from '../observability/logger.js';
import { DEFAULT_MAX_RECORD_BYTES } from '../server/limits.js';

/** Kinds of option values. */
type Kind = 'string' | 'int' | 'bool' | 'file';

/** One option of the agent. */
export interface OptionSpec {
  readonly key: string;
  readonly kind: Kind;
  readonly description: string;
  readonly default?: string | number | boolean;
}

/** The agent's options, in help order. */
export const agentOptions = [
  { key: 'data-dir', kind: 'string', description: 'directory for the log segments', default: '/var/run/commitlog' },
  { key: 'node-name', kind: 'string', description: 'unique node name (default: the host name)' },
  {
    key: 'bind-addr',
    kind: 'string',
    description: 'host:port for gossip; its host is also the RPC bind host',
    default: '127.0.0.1:8401',
  },
  {
    key: 'rpc-port',
    kind: 'int',
    description: 'port for gRPC (and, in a cluster, Raft) connections (0 = any free port)',
    default: 8400,
  },
  {
    key: 'advertise-addr',
    kind: 'string',
    description: 'host:port clients should dial for this node (default: bind host and rpc port)',
  },
  {
    key: 'http-port',
    kind: 'int',
    description: 'port for /metrics, /healthz and /readyz (0 = any free port)',
    default: 8402,
  },
  { key: 'acl-model-file', kind: 'file', description: 'Casbin model file (with --acl-policy-file: enforce the ACL)' },
  { key: 'acl-policy-file', kind: 'file', description: 'Casbin policy file' },
  { key: 'server-tls-cert-file', kind: 'file', description: 'server certificate (PEM)' },
  { key: 'server-tls-key-file', kind: 'file', description: 'server private key (PEM)' },
  {
    key: 'server-tls-ca-file',
    kind: 'file',
    description: 'CA that client certificates must chain to (enables mutual TLS)',
  },
  { key: 'peer-tls-cert-file', kind: 'file', description: 'certificate this node presents to peers (PEM)' },
  { key: 'peer-tls-key-file', kind: 'file', description: 'private key for the peer certificate (PEM)' },
  { key: 'peer-tls-ca-file', kind: 'file', description: 'CA that peer server certificates must chain to' },
  {
    key: 'insecure',
    kind: 'bool',
    description: 'serve plaintext gRPC without TLS (with --standalone only: a cluster needs mutual TLS)',
    default: false,
  },
  {
    key: 'max-record-bytes',
    kind: 'int',
    description:
      "largest record accepted (bytes); the default leaves room for framing under gRPC's default 4 MiB message limit, so every client can read every record back",
    default: DEFAULT_MAX_RECORD_BYTES,
  },
  {
    key: 'disable-reflection',
    kind: 'bool',
    description:
      'do not serve gRPC server reflection (on by default, behind the same TLS and ACL action "consume" as the API)',
    default: false,
  },
  {
    key: 'log-level',
    kind: 'string',
    description: 'log level: fatal|error|warn|info|debug|trace|silent',
    default: 'info',
  },
  {
    key: 'request-log-level',
    kind: 'string',
    description: 'level of the one-line-per-request log (silent = off)',
    default: 'info',
  },
] as const satisfies readonly OptionSpec[];

/** Resolved, validated agent configuration. */
export interface AgentConfig {
  readonly dataDir: string;
  readonly nodeName: string;
  readonly bindHost: string;
  readonly gossipPort: number;
  readonly rpcPort: number;
  readonly advertiseAddr: string;
  readonly httpPort: number;
  readonly acl: { readonly modelFile: string; readonly policyFile: string } | undefined;
  readonly serverTls:
    { readonly certFile: string; readonly keyFile: string; readonly caFile: string | undefined } | undefined;
  readonly peerTls:
    { readonly certFile: string; readonly keyFile: string; readonly caFile: string | undefined } | undefined;
  readonly maxRecordBytes: number;
  readonly logLevel: LogLevel;
  readonly requestLogLevel: LogLevel;
  /** Serve gRPC server reflection (default true; `--disable-reflection`). */
  readonly reflection: boolean;
}

/** Thrown with every problem found, one per line. */
export class AgentConfigError extends Error {
  readonly code = 'invalid-agent-config';
  constructor(readonly problems: readonly string[]) {
    super(`invalid agent configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'AgentConfigError';
  }
}

/** Environment variable name of an option key. */
export function envName(key: string): string {
  return `COMMITLOG_${key.toUpperCase().replaceAll('-', '_')}`;
}

/** Where a raw value came from, for error messages. */
type Source = 'flag' | 'env' | 'config file' | 'default';
interface Raw {
  readonly value: unknown;
  readonly source: Source;
}

/**
 * Reads and checks the YAML config file: a mapping whose keys are all in `knownKeys`
 * (default: the keys of {@link agentOptions}; the cluster agent passes its longer list).
 * @throws AgentConfigError naming the file for unreadable or non-YAML content, a document
 * that is not a mapping, and every unknown key.
 */
export function readConfigFile(
  path: string,
  knownKeys: readonly string[] = agentOptions.map((o) => o.key),
): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new AgentConfigError([`--config-file ${path}: ${(err as Error).message}`]);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new AgentConfigError([`--config-file ${path}: not valid YAML: ${(err as Error).message}`]);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc))
    throw new AgentConfigError([`--config-file ${path}: must be a YAML mapping of option: value`]);
  const known = new Set<string>(knownKeys);
  const unknown = Object.keys(doc).filter((k) => !known.has(k));
  if (unknown.length > 0)
    throw new AgentConfigError(unknown.map((k) => `--config-file ${path}: unknown option "${k}"`));
  return doc as Record<string, unknown>;
}

/**
 * Resolves the configuration from flags (only those given on the command line), the
 * environment and the config file; throws {@link AgentConfigError} listing every problem.
 */
export function resolveAgentConfig(
  flags: Readonly<Record<string, unknown>>,
  env: NodeJS.ProcessEnv,
  file: Readonly<Record<string, unknown>>,
): AgentConfig {
  const problems: string[] = [];
  const raw = (key: string): Raw | undefined => {
    if (flags[key] !== undefined) return { value: flags[key], source: 'flag' };
    const e = env[envName(key)];
    if (e !== undefined && e !== '') return { value: e, source: 'env' };
    if (file[key] !== undefined && file[key] !== null) return { value: file[key], source: 'config file' };
    const spec = agentOptions.find((o) => o.key === key);
    if (spec && 'default' in spec) return { value: spec.default, source: 'default' };
    return undefined;
  };
  const where = (key: string, r: Raw): string =>
    r.source === 'env' ? `${envName(key)}` : r.source === 'config file' ? `${key} (config file)` : `--${key}`;
  const str = (key: string): string | undefined => {
    const r = raw(key);
    if (!r) return undefined;
    if (typeof r.value !== 'string' && typeof r.value !== 'number') {
      problems.push(`${where(key, r)}: expected a string`);
      return undefined;
    }
    return String(r.value);
  };
  const int = (key: string, min: number, max: number): number => {
    const r = raw(key);
    const n = typeof r?.value === 'number' ? r.value : Number(r?.value);
    if (!r || !Number.isSafeInteger(n) || n < min || n > max) {
      problems.push(
        `${r ? where(key, r) : `--${key}`}: expected an integer in [${min}, ${max}], got ${JSON.stringify(r?.value)}`,
      );
      return min;
    }
    return n;
  };
  const bool = (key: string): boolean => {
    const r = raw(key);
    if (!r) return false;
    if (typeof r.value === 'boolean') return r.value;
    if (r.value === 'true' || r.value === '1') return true;
    if (r.value === 'false' || r.value === '0') return false;
    problems.push(`${where(key, r)}: expected true or false, got ${JSON.stringify(r.value)}`);
    return false;
  };
  const file_ = (key: string): string | undefined => {
    const p = str(key);
    if (p !== undefined && !existsSync(p)) problems.push(`${where(key, raw(key) as Raw)}: file ${p} does not exist`);
    return p;
  };
  const level = (key: string): LogLevel => {
    const v = str(key) ?? 'info';
    if (!isLogLevel(v)) {
      problems.push(`--${key}: expected one of fatal|error|warn|info|debug|trace|silent, got ${JSON.stringify(v)}`);
      return 'info';
    }
    return v;
  };

  const dataDir = str('data-dir') ?? '';
  if (!dataDir) problems.push('--data-dir: required');
  const nodeName = str('node-name') ?? hostname();
  const bindAddr = str('bind-addr') ?? '';
  const parsedBind = parseHostPort(bindAddr, { allowPortZero: true });
  if (!parsedBind.ok)
    problems.push(`--bind-addr: expected host:port, got ${JSON.stringify(bindAddr)}: ${parsedBind.reason}`);
  const bind = parsedBind.ok ? parsedBind.value : undefined;
  const rpcPort = int('rpc-port', 0, 65535);
  const httpPort = int('http-port', 0, 65535);
  // Port 0 stays allowed: the default follows --rpc-port, and the agent fills in the bound port.
  const advertiseAddr = str('advertise-addr') ?? formatHostPort(bind?.host ?? '127.0.0.1', rpcPort);
  const parsedAdvertise = parseHostPort(advertiseAddr, { allowPortZero: true });
  if (!parsedAdvertise.ok)
    problems.push(
      `--advertise-addr: expected host:port, got ${JSON.stringify(advertiseAddr)}: ${parsedAdvertise.reason}`,
    );

  const pair = (prefix: string) => {
    const certFile = file_(`${prefix}-cert-file`);
    const keyFile = file_(`${prefix}-key-file`);
    const caFile = file_(`${prefix}-ca-file`);
    if ((certFile === undefined) !== (keyFile === undefined))
      problems.push(`--${prefix}-cert-file and --${prefix}-key-file: give both or neither`);
    if (caFile !== undefined && certFile === undefined && prefix === 'server-tls')
      problems.push(`--${prefix}-ca-file needs --${prefix}-cert-file and --${prefix}-key-file`);
    return certFile !== undefined && keyFile !== undefined ? { certFile, keyFile, caFile } : undefined;
  };
  const serverTls = pair('server-tls');
  const peerTls = pair('peer-tls');
  const insecure = bool('insecure');
  if (!serverTls && !insecure)
    problems.push(
      'TLS is required: give --server-tls-cert-file and --server-tls-key-file (and --server-tls-ca-file for mutual TLS), or --insecure for plaintext',
    );
  if (serverTls && insecure) problems.push('--insecure conflicts with --server-tls-cert-file: choose one');

  const modelFile = file_('acl-model-file');
  const policyFile = file_('acl-policy-file');
  if ((modelFile === undefined) !== (policyFile === undefined))
    problems.push('--acl-model-file and --acl-policy-file: give both or neither');
  if (modelFile && serverTls && !serverTls.caFile)
    problems.push(
      'the ACL needs client identities: give --server-tls-ca-file (mutual TLS), or the policy can only name "anonymous"',
    );

  const maxRecordBytes = int('max-record-bytes', 1, 64 * 1024 * 1024);
  const logLevel = level('log-level');
  const requestLogLevel = level('request-log-level');
  const reflection = !bool('disable-reflection');

  if (problems.length > 0) throw new AgentConfigError(problems);
  return {
    dataDir,
    nodeName,
    bindHost: bind?.host ?? '127.0.0.1',
    gossipPort: bind?.port ?? 8401,
    rpcPort,
    advertiseAddr,
    httpPort,
    acl: modelFile && policyFile ? { modelFile, policyFile } : undefined,
    serverTls,
    peerTls,
    maxRecordBytes,
    logLevel,
    requestLogLevel,
    reflection,
  };
}
