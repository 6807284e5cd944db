/**
 * `commitlog agent --standalone`: ONE node without Raft or gossip, for development only —
 * it opens the log directly (LocalLogBackend), serves gRPC on the RPC port (TLS, mutual
 * TLS and the ACL when configured, or plaintext with `--insecure`) and metrics/health on
 * the HTTP port, and stops cleanly on SIGINT/SIGTERM.
 *
 * Why it exists: the cluster agent (node/src/agent/, plain `commitlog agent`) needs mutual
 * TLS between nodes, so it cannot serve plaintext; this is the plaintext dev node (and the
 * node the operator's `tls: disabled` clusters would need). Its data directory holds a
 * plain log, not a Raft log: it cannot be turned into a cluster member later.
 */
import { mkdirSync } from 'node:fs';
import { CasbinAuthorizer, type Authorizer } from '../acl/authorizer.js';
import { createLogger, type Logger } from '../observability/logger.js';
import { NodeMetrics } from '../observability/metrics.js';
import { startHttpServer, type HttpEndpoint } from '../observability/http-server.js';
import { ServingStatus } from '../server/health-service.js';
import { CommitLogServer } from '../server/server.js';
import { LocalLogBackend } from '../server/local-backend.js';
import type { AgentConfig } from './base-config.js';

/** A running standalone node. */
export interface RunningStandaloneAgent {
  readonly rpcPort: number;
  readonly httpPort: number | undefined;
  readonly logger: Logger;
  /** Stops serving, syncs and closes the log. Idempotent. */
  stop(): Promise<void>;
}

/** Starts the standalone node; rejects (after cleaning up) if any part fails to start. */
export async function startStandaloneAgent(
  config: AgentConfig,
  logger: Logger = createLogger({ level: config.logLevel, node: config.nodeName }),
): Promise<RunningStandaloneAgent> {
  const metrics = new NodeMetrics();
  mkdirSync(config.dataDir, { recursive: true });
  const backend = await LocalLogBackend.open(config.dataDir, {
    logConfig: { maxRecordBytes: config.maxRecordBytes },
    logger: logger.child({ component: 'log' }),
    self: { id: config.nodeName, rpcAddr: config.advertiseAddr },
  });
  backend.onSync((e) => metrics.fsyncSeconds.observe(e.durationMs / 1000));
  let authorizer: Authorizer | undefined;
  let casbin: CasbinAuthorizer | undefined;
  let server: CommitLogServer | undefined;
  let http: HttpEndpoint | undefined;
  try {
    if (config.acl) {
      casbin = await CasbinAuthorizer.open(config.acl, {
        onReload: (err) => {
          metrics.reloads.inc({ what: 'acl', result: err ? 'error' : 'ok' });
          if (err) logger.warn({ err }, 'ACL files changed but do not load; keeping the previous policy');
          else logger.info(config.acl, 'ACL policy reloaded');
        },
      });
      authorizer = casbin;
    }
    const authz = authorizer;
    server = new CommitLogServer({
      backend,
      nodeId: config.nodeName,
      rpcAddr: config.advertiseAddr,
      tls: config.serverTls,
      ...(authz ? { authorizer: () => authz } : {}),
      logger,
      metrics,
      config: { requestLogLevel: config.requestLogLevel, reflection: config.reflection },
    });
    const rpcPort = await server.listen(config.bindHost, config.rpcPort);
    const srv = server;
    http = await startHttpServer({
      host: config.bindHost,
      port: config.httpPort,
      registry: metrics.registry,
      readiness: () => {
        const reason =
          backend.notReadyReason() ??
          (srv.health.get('') === ServingStatus.SERVING ? undefined : 'gRPC server not serving');
        return reason ? { ready: false, reason } : { ready: true };
      },
    });
    logger.info(
      { rpcPort, httpPort: http?.port, dataDir: config.dataDir, acl: Boolean(config.acl), mutualTls: srv.mutualTls },
      'agent started (standalone: no Raft, no gossip)',
    );
    let stopping: Promise<void> | undefined;
    const h = http;
    return {
      rpcPort,
      httpPort: h?.port,
      logger,
      stop: () =>
        (stopping ??= (async () => {
          logger.info('agent stopping');
          await srv.shutdown();
          await h?.close();
          casbin?.close();
          await backend.close();
          logger.info('agent stopped');
        })()),
    };
  } catch (err) {
    await server?.shutdown();
    await http?.close();
    casbin?.close();
    await backend.close();
    throw err;
  }
}
