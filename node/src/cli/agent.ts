/**
 * `commitlog agent` on one node: opens the log, serves gRPC (TLS, ACL) on the RPC port and
 * metrics/health on the HTTP port, and stops cleanly on SIGINT/SIGTERM. The cluster agent
 * (node/src/agent/) replaces the local backend with Raft behind the same server.
 */
import { mkdirSync } from 'node:fs';
import { CasbinAuthorizer, type Authorizer } from '../acl/authorizer.js';
import { createLogger, type Logger } from '../observability/logger.js';
import { NodeMetrics } from '../observability/metrics.js';
import { startHttpServer, type HttpEndpoint } from '../observability/http-server.js';
import { ServingStatus } from '../server/health-service.js';
import { CommitLogServer } from '../server/server.js';
import { LocalLogBackend } from '../server/local-backend.js';
import type { AgentConfig } from './agent-config.js';

/** A running single-node agent. */
export interface RunningAgent {
  readonly rpcPort: number;
  readonly httpPort: number | undefined;
  readonly logger: Logger;
  /** Stops serving, syncs and closes the log. Idempotent. */
  stop(): Promise<void>;
}

/** Starts the agent; rejects (after cleaning up) if any part fails to start. */
export async function startAgent(config: AgentConfig, logger: Logger = createLogger({ level: config.logLevel, node: config.nodeName })): Promise<RunningAgent> {
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
      config: { requestLogLevel: config.requestLogLevel },
    });
    const rpcPort = await server.listen(config.bindHost, config.rpcPort);
    const srv = server;
    http = await startHttpServer({
      host: config.bindHost,
      port: config.httpPort,
      registry: metrics.registry,
      readiness: () => {
        const reason = backend.notReadyReason() ?? (srv.health.get('') === ServingStatus.SERVING ? undefined : 'gRPC server not serving');
        return reason ? { ready: false, reason } : { ready: true };
      },
    });
    logger.info({ rpcPort, httpPort: http?.port, dataDir: config.dataDir, acl: Boolean(config.acl), mutualTls: srv.mutualTls }, 'agent started (single node)');
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
