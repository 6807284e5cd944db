/**
 * CommitLogServer: one node's gRPC server (log.v1.Log, log.v1.Admin, grpc.health.v1) over a
 * {@link LogBackend}, with TLS/mutual TLS reloaded from files, the Casbin ACL, request
 * logs and metrics. It can bind its own port and also accept connections handed over by
 * a port multiplexer ({@link CommitLogServer.handleConnection}, grpc-js's
 * `createConnectionInjector`).
 *
 * Lifecycle: construct → `listen()` and/or `handleConnection()` → `shutdown()`.
 */
import { Server, type ServerCredentials, type ConnectionInjector } from '@grpc/grpc-js';
import type { Duplex } from 'node:stream';
import { allowAll, type Authorizer } from '../acl/authorizer.js';
import { formatHostPort } from '../net/address.js';
import { HealthService } from '../gen/grpc/health/v1/health.js';
import { AdminService } from '../gen/v1/admin.js';
import { logServiceDefinition } from './requests.js';
import { silentLogger, type Logger } from '../observability/logger.js';
import type { NodeMetrics } from '../observability/metrics.js';
import { serverTls, type ReloadingCertificateProvider, type ServerTls, type TlsFiles } from '../tls/credentials.js';
import { StandaloneAdmin, type ClusterAdmin } from './admin.js';
import { adminService } from './admin-service.js';
import type { LogBackend } from './backend.js';
import { resolveServerConfig, type ServerConfig } from './config.js';
import { HealthState, ServingStatus } from './health-service.js';
import { createInterceptor } from './interceptor.js';
import { DEFAULT_MAX_RECORD_BYTES, readableByDefaultClients, serverMessageLimits } from './limits.js';
import { logService } from './log-service.js';
import { addReflection } from './reflection.js';
import { StreamRegistry, type StreamStats } from './streams.js';
import { VERSION } from '../version.js';

/** Version reported by Admin.GetStatus. */
export const SERVER_VERSION = VERSION;

/** The services' full names, as health checks name them. */
export const ServiceNames = { log: 'log.v1.Log', admin: 'log.v1.Admin' } as const;

/** Options of {@link CommitLogServer}. */
export interface CommitLogServerOptions {
  readonly backend: LogBackend;
  /** This node's id (GetServers/Status) and advertised RPC address. */
  readonly nodeId: string;
  readonly rpcAddr?: string;
  /** Server TLS files; mutual TLS when `caFile` is set. Undefined = plaintext (tests and explicit --insecure only). */
  readonly tls?: TlsFiles;
  /** ACL; default allows everything. A getter is read on every call, so it may be swapped. */
  readonly authorizer?: Authorizer | (() => Authorizer);
  /** Membership and status; default {@link StandaloneAdmin}. */
  readonly admin?: ClusterAdmin;
  readonly logger?: Logger;
  readonly metrics?: NodeMetrics;
  readonly config?: Partial<ServerConfig>;
}

/** One node's gRPC server. */
export class CommitLogServer {
  /** The grpc-js server (for adding services or advanced wiring). */
  readonly grpc: Server;
  readonly health: HealthState;
  readonly config: ServerConfig;
  private readonly tls: ServerTls;
  private readonly streams = new StreamRegistry();
  private readonly logger: Logger;
  private readonly injector: ConnectionInjector;
  /** Sockets handed over before the injector's TLS context was loaded (first tick only). */
  private early: Duplex[] | undefined = [];
  private closing = false;
  private bound = false;

  constructor(private readonly opts: CommitLogServerOptions) {
    this.config = resolveServerConfig(opts.config);
    this.logger = (opts.logger ?? silentLogger()).child({ component: 'server' });
    this.tls = serverTls(opts.tls, (err) => {
      opts.metrics?.reloads.inc({ what: 'tls', result: err ? 'error' : 'ok' });
      if (err) this.logger.warn({ err }, 'TLS files changed but are not usable yet; keeping the previous certificate');
      else this.logger.info({ certFile: opts.tls?.certFile }, 'TLS certificate reloaded; new connections use it');
    });
    const authz = opts.authorizer ?? allowAll;
    const authorizer = typeof authz === 'function' ? authz : () => authz;
    const limits = serverMessageLimits(opts.backend.maxRecordBytes, this.config.receiveHeadroomBytes);
    if (!readableByDefaultClients(opts.backend.maxRecordBytes)) {
      this.logger.warn(
        { maxRecordBytes: opts.backend.maxRecordBytes, readableByDefaultClients: DEFAULT_MAX_RECORD_BYTES },
        "records this large cannot be read back by clients at gRPC's default 4 MiB receive limit: they must raise grpc.max_receive_message_length",
      );
    }
    this.grpc = new Server({
      'grpc.max_receive_message_length': limits.receive,
      'grpc.max_send_message_length': limits.send,
      interceptors: [
        createInterceptor({
          mutual: this.tls.mutual,
          authorizer,
          closing: () => this.closing,
          logger: this.logger,
          requestLogLevel: this.config.requestLogLevel,
          metrics: opts.metrics,
        }),
      ],
    });
    this.health = new HealthState([ServiceNames.log, ServiceNames.admin]);
    const admin = opts.admin ?? new StandaloneAdmin(opts.backend, opts.nodeId, opts.rpcAddr ?? '');
    this.grpc.addService(logServiceDefinition, logService(opts.backend, this.config, this.streams));
    this.grpc.addService(AdminService, adminService(admin, SERVER_VERSION));
    this.grpc.addService(HealthService, this.health.service());
    if (this.config.reflection) addReflection(this.grpc);
    if (opts.metrics) opts.metrics.setLogSource({ stats: () => opts.backend.stats() });
    // The injector's http2 server gets its TLS context from the certificate provider on
    // the next tick and drops connections until then; park early sockets until it has.
    this.injector = this.grpc.createConnectionInjector(this.tls.credentials);
    process.nextTick(() => {
      const early = this.early ?? [];
      this.early = undefined;
      for (const socket of early) this.injector.injectConnection(socket);
    });
  }

  /** The credentials the server's ports use (for a multiplexer that builds its own injector). */
  get credentials(): ServerCredentials {
    return this.tls.credentials;
  }

  /** True when client certificates are verified. */
  get mutualTls(): boolean {
    return this.tls.mutual;
  }

  /** Buffering and pipelining counters of the streams (tests assert bounds on them). */
  get streamStats(): Readonly<StreamStats> {
    return this.streams.stats;
  }

  /** Successful reloads of the TLS files since start. */
  get tlsReloads(): number {
    return this.tls.provider?.reloads ?? 0;
  }

  /**
   * The provider of the server's TLS files (undefined without TLS): other TLS endpoints of
   * the node (the JSON API) listen to it, so one watcher reloads every endpoint.
   */
  get certificateProvider(): ReloadingCertificateProvider | undefined {
    return this.tls.provider;
  }

  /** Open streaming calls. */
  get openStreams(): number {
    return this.streams.size;
  }

  /** Binds `host:port` (port 0 = any free port) and marks the services SERVING; resolves with the port. */
  async listen(host: string, port: number): Promise<number> {
    const target = formatHostPort(host, port);
    const bound = await new Promise<number>((resolve, reject) => {
      this.grpc.bindAsync(target, this.tls.credentials, (err, p) => (err ? reject(err) : resolve(p)));
    });
    this.bound = true;
    this.markServing();
    this.logger.info(
      { addr: target, port: bound, tls: Boolean(this.opts.tls), mutualTls: this.tls.mutual },
      'gRPC server listening',
    );
    return bound;
  }

  /**
   * Serves a connection accepted elsewhere (the port multiplexer hands over every
   * connection whose first byte is not the Raft marker). The bytes already read must have
   * been unshifted back onto `socket`.
   */
  handleConnection(socket: Duplex): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    this.markServing();
    if (this.early) this.early.push(socket);
    else this.injector.injectConnection(socket);
  }

  private markServing(): void {
    if (!this.closing) this.health.setAll(ServingStatus.SERVING);
  }

  /**
   * Stops: health NOT_SERVING, new calls UNAVAILABLE, streams ended with UNAVAILABLE, then
   * a graceful shutdown that cancels what is still running after `shutdownGraceMs`.
   */
  async shutdown(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.health.setAll(ServingStatus.NOT_SERVING);
    this.health.endWatches();
    this.streams.close();
    this.tls.close();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.grpc.forceShutdown();
        resolve();
      }, this.config.shutdownGraceMs);
      timer.unref();
      this.grpc.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    this.injector.destroy();
    if (this.bound) this.logger.info('gRPC server stopped');
  }
}
