/**
 * `commitlog-operator`: the operator process. Configuration from flags and the environment
 * the Deployment sets (WATCH_NAMESPACES, POD_NAME, POD_NAMESPACE); credentials from the
 * in-cluster service account or KUBECONFIG. SIGTERM/SIGINT shut down gracefully; losing the
 * leader Lease exits non-zero so Kubernetes restarts the pod as a standby. An invalid flag
 * or variable (config.ts) exits 2 with one line per problem, before anything is started.
 */
import { hostname } from 'node:os';
import { KubeConfig } from '@kubernetes/client-node';
import { Command, CommanderError } from 'commander';
import pino from 'pino';
import { HttpKubeClient } from './kube/client.js';
import { startHealthServer } from './kube/health.js';
import { KubeConfigTransport } from './kube/http.js';
import type { Logger } from './kube/logger.js';
import { createMetrics } from './kube/metrics.js';
import { resolveOperatorConfig, type RawOperatorOptions } from './config.js';
import { Operator } from './operator.js';
import { grpcNodeAdmin } from './reconcile/admin-grpc.js';

const program = new Command('commitlog-operator')
  .description('Reconciles CommitLogCluster resources')
  .exitOverride()
  .option('--http-port <port>', 'port of /metrics, /healthz and /readyz (default 8080)')
  .option('--namespaces <list>', 'comma-separated namespaces to watch (default: WATCH_NAMESPACES, else all)')
  .option('--leader-elect', 'elect a leader through a Lease (run several replicas)', false)
  .option('--lease-name <name>', 'name of the leader Lease', 'commitlog-operator-leader')
  .option('--lease-namespace <ns>', 'namespace of the Lease (default: POD_NAMESPACE)')
  .option('--concurrency <n>', 'clusters reconciled in parallel, 1 to 64 (default 2)')
  .option('--no-admin', "do not call the nodes' Admin service (status from pods only)")
  .option('--log-level <level>', 'pino log level (default info)');

/** Usage error: the message on stderr, exit code 2 (as for every invalid flag or variable). */
function usageError(lines: readonly string[]): never {
  process.stderr.write(`commitlog-operator: invalid configuration:\n${lines.map((l) => `  ${l}\n`).join('')}`);
  process.exit(2);
}

async function main(): Promise<void> {
  try {
    program.parse();
  } catch (e) {
    // --help and --version end here with code 0; an unknown option or a missing value with 2.
    if (e instanceof CommanderError) process.exit(e.exitCode === 0 ? 0 : 2);
    throw e;
  }
  const resolved = resolveOperatorConfig(program.opts<RawOperatorOptions>(), process.env, hostname());
  if (!resolved.ok) usageError(resolved.errors);
  const opts = resolved.config;
  const log = pino({ level: opts.logLevel, base: { component: 'commitlog-operator' } }) as unknown as Logger;
  const { namespaces, identity, leaseNamespace } = opts;
  const kc = new KubeConfig();
  kc.loadFromDefault();
  const client = new HttpKubeClient(new KubeConfigTransport(kc));
  const metrics = createMetrics(true);
  let exitCode = 0;
  const operator = new Operator({
    client,
    log,
    metrics,
    namespaces,
    identity,
    ...(opts.leaderElect ? { leaderElection: { namespace: leaseNamespace, name: opts.leaseName } } : {}),
    ...(opts.admin ? { admin: grpcNodeAdmin } : {}),
    concurrency: opts.concurrency,
    onLostLeadership: () => {
      exitCode = 1;
      void shutdown('lost leadership');
    },
  });
  const http = await startHealthServer(
    metrics.registry,
    { live: () => true, ready: () => operator.synced },
    opts.httpPort,
  );
  let stopping = false;
  async function shutdown(why: string): Promise<void> {
    if (stopping) return;
    stopping = true;
    log.info({ why }, 'shutting down');
    await operator.stop();
    await http.close();
    process.exit(exitCode);
  }
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  log.info(
    {
      namespaces: namespaces.length ? namespaces : 'all',
      identity,
      leaderElection: opts.leaderElect,
      httpPort: http.port,
    },
    'starting',
  );
  operator.start();
}

main().catch((e: unknown) => {
  process.stderr.write(`commitlog-operator: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
