/**
 * The operator's configuration: its flags and the environment its Deployment sets, resolved
 * and validated in one place (flag > environment > default). Pure: `main.ts` parses argv with
 * commander, hands the raw strings here, and exits 2 with every message when any is invalid,
 * so a typo (`--concurrency abc`) stops the process at start instead of leaving an idle
 * operator.
 */

/** The raw option strings, as commander parsed them (all optional). */
export interface RawOperatorOptions {
  readonly httpPort?: string;
  readonly namespaces?: string;
  readonly leaderElect?: boolean;
  readonly leaseName?: string;
  readonly leaseNamespace?: string;
  readonly concurrency?: string;
  readonly admin?: boolean;
  readonly logLevel?: string;
}

/** The validated configuration. */
export interface OperatorConfig {
  readonly httpPort: number;
  /** Empty = every namespace. */
  readonly namespaces: readonly string[];
  readonly leaderElect: boolean;
  readonly leaseName: string;
  readonly leaseNamespace: string;
  readonly concurrency: number;
  readonly admin: boolean;
  readonly logLevel: string;
  /** This instance's name (POD_NAME, else the host name). */
  readonly identity: string;
}

/** Defaults of the options not given. */
export const OPERATOR_DEFAULTS = {
  httpPort: 8080,
  leaseName: 'commitlog-operator-leader',
  leaseNamespace: 'default',
  concurrency: 2,
  logLevel: 'info',
} as const;

/** The largest `--concurrency`: more parallel passes than this only adds API server load. */
export const MAX_CONCURRENCY = 64;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function integer(
  name: string,
  raw: string | undefined,
  fallback: number,
  min: number,
  max: number,
  errors: string[],
): number {
  if (raw === undefined) return fallback;
  const s = raw.trim();
  if (!/^\d+$/.test(s) || Number(s) < min || Number(s) > max) {
    errors.push(`${name}: "${raw}" is not an integer from ${min} to ${max}`);
    return fallback;
  }
  return Number(s);
}

/** Resolves and validates `raw` with `env`; every problem is one message naming the flag or variable. */
export function resolveOperatorConfig(
  raw: RawOperatorOptions,
  env: Readonly<Record<string, string | undefined>>,
  hostname: string,
): { ok: true; config: OperatorConfig } | { ok: false; errors: string[] } {
  const errors: string[] = [];
  const httpPort = integer('--http-port', raw.httpPort, OPERATOR_DEFAULTS.httpPort, 0, 65535, errors);
  const concurrency = integer(
    '--concurrency',
    raw.concurrency,
    OPERATOR_DEFAULTS.concurrency,
    1,
    MAX_CONCURRENCY,
    errors,
  );
  const nsSource = raw.namespaces !== undefined ? '--namespaces' : 'WATCH_NAMESPACES';
  const namespaces = (raw.namespaces ?? env.WATCH_NAMESPACES ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const n of namespaces)
    if (!DNS_LABEL.test(n)) errors.push(`${nsSource}: "${n}" is not a namespace name (a DNS-1123 label)`);
  const leaseName = raw.leaseName ?? OPERATOR_DEFAULTS.leaseName;
  if (!DNS_SUBDOMAIN.test(leaseName)) errors.push(`--lease-name: "${leaseName}" is not a DNS-1123 subdomain`);
  const leaseNsSource = raw.leaseNamespace !== undefined ? '--lease-namespace' : 'POD_NAMESPACE';
  const leaseNamespace = raw.leaseNamespace ?? env.POD_NAMESPACE ?? OPERATOR_DEFAULTS.leaseNamespace;
  if (!DNS_LABEL.test(leaseNamespace))
    errors.push(`${leaseNsSource}: "${leaseNamespace}" is not a namespace name (a DNS-1123 label)`);
  const logLevel = raw.logLevel ?? OPERATOR_DEFAULTS.logLevel;
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel))
    errors.push(`--log-level: "${logLevel}" is not one of ${LOG_LEVELS.join(', ')}`);
  const identity = env.POD_NAME ?? hostname;
  if (identity.trim() === '') errors.push('POD_NAME: must not be empty');
  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    config: {
      httpPort,
      namespaces,
      leaderElect: raw.leaderElect ?? false,
      leaseName,
      leaseNamespace,
      concurrency,
      admin: raw.admin ?? true,
      logLevel,
      identity,
    },
  };
}
