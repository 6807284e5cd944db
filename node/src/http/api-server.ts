/**
 * HttpApiServer: the node's JSON-over-HTTPS API (routes.ts) on its own TLS port, with the
 * gRPC server's security: the same certificate, key and client CA, reloaded through the
 * gRPC server's {@link ReloadingCertificateProvider} (its listeners feed
 * `server.setSecureContext`; open connections keep their session, new handshakes get the
 * new files), client certificates requested and verified against the same CA, subject =
 * CN, the same {@link Authorizer} and actions. Never plaintext.
 *
 * As for gRPC, the handshake *requests* a client certificate without requiring one, so a
 * client without a valid certificate gets a 401 JSON answer instead of a failed handshake.
 *
 * Lifecycle: {@link HttpApiServer.listen} → {@link HttpApiServer.close} (stop accepting,
 * tails end with a "shutting-down" line, requests in progress get `shutdownGraceMs`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { experimental } from '@grpc/grpc-js';
import { allowAll, type Authorizer } from '../acl/authorizer.js';
import { silentLogger, type Logger, type LogLevel } from '../observability/logger.js';
import type { NodeMetrics } from '../observability/metrics.js';
import type { LogBackend } from '../server/backend.js';
import { InvalidRequestError, ShuttingDownError } from '../server/errors.js';
import type { ReloadingCertificateProvider } from '../tls/credentials.js';
import { BodyAbortedError, type BodyStats } from './body.js';
import { resolveHttpApiConfig, type HttpApiConfig } from './config.js';
import { authorize, route, sendError, subjectOfRequest, type RouteDeps } from './routes.js';
import { httpError } from './status.js';
import type { TailStats } from './tail.js';

/** Options of {@link HttpApiServer.listen}. */
export interface HttpApiServerOptions {
  readonly backend: LogBackend;
  /** The gRPC server's certificate provider (`CommitLogServer.certificateProvider`). */
  readonly certificates: ReloadingCertificateProvider;
  /** True when the provider has a client CA: client certificates are verified (mutual TLS). */
  readonly mutual: boolean;
  /** ACL; default allows everything. A getter is read on every request. */
  readonly authorizer?: Authorizer | (() => Authorizer);
  readonly logger?: Logger;
  readonly metrics?: NodeMetrics;
  readonly config?: Partial<HttpApiConfig>;
}

interface Material {
  cert?: Buffer;
  key?: Buffer;
  ca?: Buffer | null;
}

/** Stats of the API (tests assert bounds on them). */
export interface HttpApiStats {
  readonly body: Readonly<BodyStats>;
  readonly tail: Readonly<TailStats>;
  /** Secure contexts installed after the first (certificate reloads seen). */
  readonly tlsReloads: number;
}

/** The running JSON API. */
export class HttpApiServer {
  private readonly live = new Set<AbortController>();
  private readonly bodyStats: BodyStats = { maxBufferedBytes: 0, discardedBytes: 0, refused: 0 };
  private readonly tailStats: TailStats = {
    recordsRead: 0,
    recordsWritten: 0,
    maxBufferedBytes: 0,
    pauses: 0,
    waitingForDrain: 0,
    stalled: 0,
  };
  private reloads = 0;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly server: Server,
    private readonly stopCertificates: () => void,
    private readonly config: HttpApiConfig,
    private readonly logger: Logger,
  ) {}

  /** Starts the API on `host:port` (0 = any free port); resolves once listening. */
  static async listen(opts: HttpApiServerOptions, host: string, port: number): Promise<HttpApiServer> {
    const config = resolveHttpApiConfig(opts.config);
    const logger = (opts.logger ?? silentLogger()).child({ component: 'json-api' });
    const material: Material = {};
    const created: { api?: HttpApiServer } = {}; // set once the server exists; certificate updates before that only fill `material`
    let ready: () => void = () => {};
    const first = new Promise<void>((resolve) => (ready = resolve));
    let scheduled = false;
    const update = (): void => {
      if (material.cert === undefined || material.key === undefined || material.ca === undefined) return;
      const api = created.api;
      if (api === undefined) ready();
      else if (!scheduled) {
        // The provider announces CA and identity one after the other in one tick: install both at once.
        scheduled = true;
        process.nextTick(() => {
          scheduled = false;
          api.server.setSecureContext(secureContext(material));
          api.reloads++;
        });
      }
    };
    const onCa = (u: experimental.CaCertificateUpdate | null): void => {
      material.ca = u?.caCertificate ?? null;
      update();
    };
    const onIdentity = (u: experimental.IdentityCertificateUpdate | null): void => {
      if (u === null) return;
      material.cert = u.certificate;
      material.key = u.privateKey;
      update();
    };
    opts.certificates.addCaCertificateListener(onCa);
    opts.certificates.addIdentityCertificateListener(onIdentity);
    const stop = (): void => {
      opts.certificates.removeCaCertificateListener(onCa);
      opts.certificates.removeIdentityCertificateListener(onIdentity);
    };
    await first; // the provider delivers on the next tick
    const server = createServer({
      ...secureContext(material),
      requestCert: opts.mutual,
      rejectUnauthorized: false, // 401 per request instead of a failed handshake (see the file comment)
      ALPNProtocols: ['http/1.1'],
      minVersion: 'TLSv1.2',
      handshakeTimeout: config.handshakeTimeoutMs,
      headersTimeout: config.headersTimeoutMs,
      requestTimeout: config.requestTimeoutMs,
      keepAliveTimeout: config.keepAliveTimeoutMs,
      connectionsCheckingInterval: config.timeoutCheckIntervalMs,
    });
    server.maxConnections = config.maxConnections;
    const api = new HttpApiServer(server, stop, config, logger);
    created.api = api;
    const authz = opts.authorizer ?? allowAll;
    const deps: RouteDeps = {
      backend: opts.backend,
      config,
      mutual: opts.mutual,
      authorizer: typeof authz === 'function' ? authz : () => authz,
      bodyStats: api.bodyStats,
      tailStats: api.tailStats,
    };
    const self = api;
    const handler = (req: IncomingMessage, res: ServerResponse): void => void self.handle(req, res, deps, opts.metrics);
    server.on('request', handler);
    // Decide before the body is sent: readBody writes 100 Continue only for an accepted request.
    server.on('checkContinue', handler);
    server.on('tlsClientError', (err) => logger.debug({ err: err.message }, 'TLS handshake failed'));
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      stop();
      throw err;
    }
    logger.info({ host, port: api.port, mutualTls: opts.mutual }, 'JSON API listening (HTTPS)');
    return api;
  }

  /** The bound port. */
  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Requests being served now (tails included). */
  get openRequests(): number {
    return this.live.size;
  }

  /** Buffering counters and reloads. */
  get stats(): HttpApiStats {
    return { body: this.bodyStats, tail: this.tailStats, tlsReloads: this.reloads };
  }

  private async handle(
    req: IncomingMessage,
    res: ServerResponse,
    d: RouteDeps,
    metrics: NodeMetrics | undefined,
  ): Promise<void> {
    const started = performance.now();
    const ac = new AbortController();
    this.live.add(ac);
    let name = 'unknown';
    let subject = '';
    let code = 'ok';
    res.once('close', () => {
      ac.abort();
      this.live.delete(ac);
      const ms = performance.now() - started;
      const status = res.headersSent ? res.statusCode : 0;
      metrics?.observeCall(`HTTP ${name}`, String(status), ms / 1000);
      this.logRequest({ method: name, subject, status, code, ms: Math.round(ms * 1000) / 1000 });
      // Closing: a connection whose last answer just finished (a tail ended) is idle now.
      if (this.closing !== undefined) setImmediate(() => this.server.closeIdleConnections());
    });
    try {
      if (this.closing !== undefined) throw new ShuttingDownError();
      subject = subjectOfRequest(req, d.mutual);
      const url = URL.parse(req.url ?? '/', 'https://localhost');
      if (url === null) throw new InvalidRequestError(`cannot parse the request target ${JSON.stringify(req.url)}`);
      const r = route(req.method ?? 'GET', url.pathname);
      if (!('handler' in r)) {
        code = r.body.error.code;
        sendError(res, r);
        return;
      }
      name = r.name;
      authorize(d, subject, r);
      await r.handler({ req, res, url, signal: ac.signal }, d);
    } catch (err) {
      if (err instanceof BodyAbortedError || res.destroyed) return;
      const e = httpError(err);
      code = e.body.error.code;
      if (e.status === 500) this.logger.error({ err, method: name }, 'JSON API request failed unexpectedly');
      if (this.closing !== undefined) res.shouldKeepAlive = false;
      sendError(res, e);
    }
  }

  private logRequest(line: Record<string, unknown>): void {
    const level = this.config.requestLogLevel;
    if (level === 'silent' || !this.logger.isLevelEnabled(level)) return;
    this.logger[level as Exclude<LogLevel, 'silent'>](line, 'request');
  }

  /**
   * Stops: no new connections, new requests 503, tails end with a "shutting-down" line;
   * requests in progress may finish for `shutdownGraceMs`, then every connection is closed.
   * Idempotent.
   */
  close(): Promise<void> {
    return (this.closing ??= this.doClose());
  }

  private async doClose(): Promise<void> {
    this.stopCertificates();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const ac of this.live) ac.abort(new ShuttingDownError());
    this.server.closeIdleConnections();
    const grace = setTimeout(() => this.server.closeAllConnections(), this.config.shutdownGraceMs);
    grace.unref();
    await closed;
    clearTimeout(grace);
    this.logger.info('JSON API stopped');
  }
}

function secureContext(m: Material): { cert: Buffer; key: Buffer; ca?: Buffer } {
  return { cert: m.cert as Buffer, key: m.key as Buffer, ...(m.ca ? { ca: m.ca } : {}) };
}
