/**
 * The node's HTTP endpoint (default port 8402): `/metrics` (Prometheus text format),
 * `/healthz` (the process is alive and its event loop answers) and `/readyz` (the node
 * can serve: its readiness check passes). Kubernetes probes use the last two.
 *
 * `/metrics` answers the Prometheus text format (0.0.4), or OpenMetrics 1.0 when the
 * request's Accept header lists `application/openmetrics-text` (as Prometheus does when it
 * prefers it), from the same metric objects.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry, type OpenMetricsContentType } from 'prom-client';
import { handleConsole, type ConsoleSource } from './console.js';

/** A readiness check: ok, or the reason the node is not ready. */
export type Readiness = { readonly ready: true } | { readonly ready: false; readonly reason: string };

/** Options of {@link startHttpServer}. */
export interface HttpServerOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly registry: Registry;
  readonly readiness: () => Readiness;
  /** The live console (console.ts) at /console; undefined = off (404). */
  readonly console?: ConsoleSource;
}

/** A running HTTP endpoint. */
export interface HttpEndpoint {
  readonly port: number;
  close(): Promise<void>;
}

/** Starts the HTTP endpoint; resolves once it listens. */
export async function startHttpServer(opts: HttpServerOptions): Promise<HttpEndpoint> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (opts.console && path !== undefined && handleConsole(req, res, path, opts.console)) return;
    switch (path) {
      case '/healthz':
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
        return;
      case '/readyz': {
        const r = opts.readiness();
        if (r.ready) res.writeHead(200, { 'content-type': 'text/plain' }).end('ready\n');
        else res.writeHead(503, { 'content-type': 'text/plain' }).end(`not ready: ${r.reason}\n`);
        return;
      }
      case '/metrics': {
        const registry: Registry<OpenMetricsContentType> | Registry = wantsOpenMetrics(req.headers.accept)
          ? openMetricsView(opts.registry)
          : opts.registry;
        registry.metrics().then(
          (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
          (err: unknown) =>
            res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${String(err)}\n`),
        );
        return;
      }
      default:
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
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

/** True when an Accept header asks for OpenMetrics (any q > 0), as Prometheus's scrape does. */
export function wantsOpenMetrics(accept: string | undefined): boolean {
  if (!accept) return false;
  return accept.split(',').some((part) => {
    const [type, ...params] = part.split(';').map((p) => p.trim().toLowerCase());
    const q = params.find((p) => p.startsWith('q='));
    return type === 'application/openmetrics-text' && (q === undefined || Number(q.slice(2)) > 0);
  });
}

/** A registry in OpenMetrics format over the same metric objects as `registry` (cheap: no copies). */
function openMetricsView(registry: Registry): Registry<OpenMetricsContentType> {
  const view = new Registry<OpenMetricsContentType>();
  view.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  for (const { name } of registry.getMetricsAsArray()) {
    const metric = registry.getSingleMetric(name);
    if (metric) view.registerMetric(metric);
  }
  return view;
}
