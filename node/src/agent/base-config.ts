/**
 * The options of every node (scope `node` in options.ts; the development `--standalone`
 * node takes only these): their resolved type {@link AgentConfig} and the rules between
 * them (TLS pairs, ACL needs client identities, addresses). Values come from the one
 * {@link OptionReader}; the cluster resolver (config.ts) builds on {@link resolveNodeOptions}.
 */
import { hostname } from 'node:os';
import { formatHostPort, parseHostPort } from '../net/address.js';
import type { LogLevel } from '../observability/logger.js';
import { OptionReader, readConfigFile as readFile } from './option-reader.js';
import { nodeOptions } from './options.js';

export { AgentConfigError } from './option-reader.js';
export { envName } from './options.js';

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

/**
 * Reads and checks a YAML config file of node options (the cluster agent passes its longer
 * key list); see option-reader.ts.
 */
export function readConfigFile(
  path: string,
  knownKeys: readonly string[] = nodeOptions.map((o) => o.key),
): Record<string, unknown> {
  return readFile(path, knownKeys);
}

/** Resolves the node options through `r`, adding every problem to `r.problems` (the caller checks). */
export function resolveNodeOptions(r: OptionReader): AgentConfig {
  const dataDir = r.str('data-dir') ?? '';
  if (!dataDir) r.problems.push('--data-dir: required');
  const nodeName = r.str('node-name') ?? hostname();
  const bindAddr = r.str('bind-addr') ?? '';
  const parsedBind = parseHostPort(bindAddr, { allowPortZero: true });
  if (!parsedBind.ok)
    r.problems.push(`--bind-addr: expected host:port, got ${JSON.stringify(bindAddr)}: ${parsedBind.reason}`);
  const bind = parsedBind.ok ? parsedBind.value : undefined;
  const rpcPort = r.int('rpc-port');
  const httpPort = r.int('http-port');
  // Port 0 stays allowed: the default follows --rpc-port, and the agent fills in the bound port.
  const advertiseAddr = r.str('advertise-addr') ?? formatHostPort(bind?.host ?? '127.0.0.1', rpcPort);
  const parsedAdvertise = parseHostPort(advertiseAddr, { allowPortZero: true });
  if (!parsedAdvertise.ok)
    r.problems.push(
      `--advertise-addr: expected host:port, got ${JSON.stringify(advertiseAddr)}: ${parsedAdvertise.reason}`,
    );

  const pair = (prefix: string) => {
    const certFile = r.file(`${prefix}-cert-file`);
    const keyFile = r.file(`${prefix}-key-file`);
    const caFile = r.file(`${prefix}-ca-file`);
    if ((certFile === undefined) !== (keyFile === undefined))
      r.problems.push(`--${prefix}-cert-file and --${prefix}-key-file: give both or neither`);
    if (caFile !== undefined && certFile === undefined && prefix === 'server-tls')
      r.problems.push(`--${prefix}-ca-file needs --${prefix}-cert-file and --${prefix}-key-file`);
    return certFile !== undefined && keyFile !== undefined ? { certFile, keyFile, caFile } : undefined;
  };
  const serverTls = pair('server-tls');
  const peerTls = pair('peer-tls');
  const insecure = r.bool('insecure');
  if (!serverTls && !insecure)
    r.problems.push(
      'TLS is required: give --server-tls-cert-file and --server-tls-key-file (and --server-tls-ca-file for mutual TLS), or --insecure for plaintext',
    );
  if (serverTls && insecure) r.problems.push('--insecure conflicts with --server-tls-cert-file: choose one');

  const modelFile = r.file('acl-model-file');
  const policyFile = r.file('acl-policy-file');
  if ((modelFile === undefined) !== (policyFile === undefined))
    r.problems.push('--acl-model-file and --acl-policy-file: give both or neither');
  if (modelFile && serverTls && !serverTls.caFile)
    r.problems.push(
      'the ACL needs client identities: give --server-tls-ca-file (mutual TLS), or the policy can only name "anonymous"',
    );

  const maxRecordBytes = r.int('max-record-bytes');
  const logLevel = r.choice<LogLevel>('log-level');
  const requestLogLevel = r.choice<LogLevel>('request-log-level');
  const reflection = !r.bool('disable-reflection');

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

/**
 * Resolves the node options from flags (only those given on the command line), the
 * environment and the config file; throws {@link AgentConfigError} listing every problem.
 */
export function resolveAgentConfig(
  flags: Readonly<Record<string, unknown>>,
  env: NodeJS.ProcessEnv,
  file: Readonly<Record<string, unknown>>,
): AgentConfig {
  const r = new OptionReader({ flags, env, file });
  const config = resolveNodeOptions(r);
  r.check();
  return config;
}
