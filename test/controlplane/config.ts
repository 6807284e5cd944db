/**
 * Configuration of the test control plane: the pinned versions (read from versions.env,
 * the same file build.sh reads), where the binaries live, and the options of
 * {@link startControlPlane} with their defaults and validation.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Directory of this file: test/controlplane/. */
export const controlPlaneDir = dirname(fileURLToPath(import.meta.url));

/** Repository root. */
export const repoRoot = resolve(controlPlaneDir, '..', '..');

/** The versions pinned in versions.env. */
export interface PinnedVersions {
  readonly kubernetes: string;
  readonly etcd: string;
  readonly helm: string;
}

/** Reads versions.env (shell `KEY=value` lines); throws if a key is missing. */
export function pinnedVersions(): PinnedVersions {
  const text = readFileSync(join(controlPlaneDir, 'versions.env'), 'utf8');
  const env = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([A-Z0-9_]+)=(\S+)\s*$/.exec(line);
    if (m?.[1] !== undefined && m[2] !== undefined) env.set(m[1], m[2]);
  }
  const get = (k: string): string => {
    const v = env.get(k);
    if (v === undefined) throw new Error(`test/controlplane/versions.env has no ${k}`);
    return v;
  };
  return { kubernetes: get('K8S_VERSION'), etcd: get('ETCD_VERSION'), helm: get('HELM_VERSION') };
}

/**
 * The binary cache directory, computed exactly as build.sh does:
 * `$COMMITLOG_TESTBIN`, else `${XDG_CACHE_HOME:-~/.cache}/commitlog-testbin/<k8s>-<etcd>-<helm>`.
 */
export function testbinDir(env: NodeJS.ProcessEnv = process.env): string {
  const explicit = env['COMMITLOG_TESTBIN'];
  if (explicit !== undefined && explicit !== '') return explicit;
  const v = pinnedVersions();
  const cache =
    env['XDG_CACHE_HOME'] !== undefined && env['XDG_CACHE_HOME'] !== ''
      ? env['XDG_CACHE_HOME']
      : join(homedir(), '.cache');
  return join(cache, 'commitlog-testbin', `${v.kubernetes}-${v.etcd}-${v.helm}`);
}

/** The command that builds the binaries, quoted in every "missing binary" message. */
export const buildCommand = 'npm run testbin';

/** Options of {@link startControlPlane}. Every field is optional. */
export interface ControlPlaneOptions {
  /** Also run kube-scheduler (needed only when a test wants pods bound to nodes). Default false. */
  readonly scheduler?: boolean;
  /** Run kube-controller-manager (garbage collection, namespace deletion). Default true. */
  readonly controllerManager?: boolean;
  /** Directory of CRD YAML files to install and wait for; `null` installs none. Default `<repo>/crds`. */
  readonly crdDir?: string | null;
  /** Binary directory. Default {@link testbinDir}(). */
  readonly binDir?: string;
  /** Bound on the whole start-up, in ms. Default 90 000 (two shared cores, cold page cache). */
  readonly startTimeoutMs?: number;
  /** Bound on each process's graceful stop before SIGKILL, in ms. Default 5 000. */
  readonly stopTimeoutMs?: number;
  /** Keep the temporary directory (logs, certificates, etcd data) after stop. Default false, or `COMMITLOG_CP_KEEP=1`. */
  readonly keepFiles?: boolean;
  /** Service cluster IP range. Default 10.0.0.0/24. */
  readonly serviceClusterIpRange?: string;
  /** Extra kube-apiserver flags (`--name=value`), appended last so they override. */
  readonly apiServerFlags?: readonly string[];
}

/** {@link ControlPlaneOptions} with every default filled in. */
export type ResolvedControlPlaneOptions = Required<Omit<ControlPlaneOptions, 'crdDir'>> & {
  readonly crdDir: string | null;
};

/** Thrown when options are invalid. */
export class ControlPlaneConfigError extends Error {
  readonly code = 'control-plane-config' as const;
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`control plane option ${field}: ${message}`);
    this.name = 'ControlPlaneConfigError';
  }
}

/** Fills in defaults and validates; throws {@link ControlPlaneConfigError}. */
export function resolveOptions(
  opts: ControlPlaneOptions = {},
  env: NodeJS.ProcessEnv = process.env,
): ResolvedControlPlaneOptions {
  const r: ResolvedControlPlaneOptions = {
    scheduler: opts.scheduler ?? false,
    controllerManager: opts.controllerManager ?? true,
    crdDir: opts.crdDir === undefined ? join(repoRoot, 'crds') : opts.crdDir,
    binDir: opts.binDir ?? testbinDir(env),
    startTimeoutMs: opts.startTimeoutMs ?? 90_000,
    stopTimeoutMs: opts.stopTimeoutMs ?? 5_000,
    keepFiles: opts.keepFiles ?? env['COMMITLOG_CP_KEEP'] === '1',
    serviceClusterIpRange: opts.serviceClusterIpRange ?? '10.0.0.0/24',
    apiServerFlags: opts.apiServerFlags ?? [],
  };
  if (!(r.startTimeoutMs > 0))
    throw new ControlPlaneConfigError('startTimeoutMs', `must be > 0, got ${r.startTimeoutMs}`);
  if (!(r.stopTimeoutMs > 0)) throw new ControlPlaneConfigError('stopTimeoutMs', `must be > 0, got ${r.stopTimeoutMs}`);
  if (!/^\d+\.\d+\.\d+\.\d+\/\d+$/.test(r.serviceClusterIpRange)) {
    throw new ControlPlaneConfigError(
      'serviceClusterIpRange',
      `must be an IPv4 CIDR like 10.0.0.0/24, got ${r.serviceClusterIpRange}`,
    );
  }
  for (const f of r.apiServerFlags) {
    if (!f.startsWith('--'))
      throw new ControlPlaneConfigError('apiServerFlags', `each flag must start with --, got ${f}`);
  }
  if (r.scheduler && !r.controllerManager) {
    // Not an error in Kubernetes, but pods would never get service-account tokens; say so early.
    throw new ControlPlaneConfigError(
      'scheduler',
      'the scheduler needs the controller-manager (service accounts, replica sets)',
    );
  }
  return r;
}

/** First IP of a CIDR + 1: the address of the `kubernetes` Service (needed in the serving cert). */
export function firstServiceIp(cidr: string): string {
  const [ip] = cidr.split('/');
  const parts = (ip ?? '').split('.').map(Number);
  const last = (parts[3] ?? 0) + 1;
  return [parts[0], parts[1], parts[2], last].join('.');
}
