/**
 * The operator's HTTP endpoint: `/metrics` (Prometheus), `/healthz` (the process loop is
 * alive) and `/readyz` (caches synced; a standby that is not leader is still ready).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/** Health probes. */
export interface HealthChecks {
  readonly live: () => boolean;
  readonly ready: () => boolean;
}

/** A started HTTP server; `port` is the bound port. */
export interface HealthServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Starts the HTTP server on `host:port` (port 0 = any). */
export async function startHealthServer(
  registry: Registry,
  checks: HealthChecks,
  port: number,
  host = '0.0.0.0',
): Promise<HealthServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const reply = (code: number, body: string, type = 'text/plain'): void => {
      res.writeHead(code, { 'content-type': type });
      res.end(body);
    };
    if (path === '/healthz') reply(checks.live() ? 200 : 503, checks.live() ? 'ok\n' : 'unhealthy\n');
    else if (path === '/readyz') reply(checks.ready() ? 200 : 503, checks.ready() ? 'ok\n' : 'not ready\n');
    else if (path === '/metrics') {
      registry.metrics().then(
        (m) => reply(200, m, registry.contentType),
        (e: unknown) => reply(500, String(e)),
      );
    } else reply(404, 'not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
