/**
 * The node's HTTP endpoint (default port 8402): `/metrics` (Prometheus text format),
 * `/healthz` (the process is alive and its event loop answers) and `/readyz` (the node
 * can serve: its readiness check passes). Kubernetes probes use the last two.
 *
 * `/metrics` answers the Prometheus text format (0.0.4), or OpenMetrics 1.0 when the
 * request's Accept header lists `application/openmetrics-text` (as Prometheus does when it
 * prefers it), from the same metric objects. Scrapes are rendered one at a time: prom-client
 * renders OpenMetrics by renaming each counter in place (`x_total` → `x`), which
 * {@link renderOpenMetrics} undoes before the next scrape may look.
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
  let scrapes: Promise<unknown> = Promise.resolve();
  const render = (openMetrics: boolean): Promise<{ contentType: string; text: string }> => {
    const run = async (): Promise<{ contentType: string; text: string }> =>
      openMetrics
        ? renderOpenMetrics(opts.registry)
        : { contentType: opts.registry.contentType, text: await opts.registry.metrics() };
    const next = scrapes.then(run, run);
    scrapes = next.catch(() => undefined);
    return next;
  };
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
        render(wantsOpenMetrics(req.headers.accept)).then(
          ({ contentType, text }) => res.writeHead(200, { 'content-type': contentType }).end(text),
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

/**
 * `registry` in OpenMetrics 1.0, through a registry over the same metric objects (no copies).
 * prom-client's OpenMetrics rendering strips `_total` from each counter's `name` in place;
 * left so, the next scrape of either format would miss the counters (the registry finds
 * them by their registered names) or print them without `_total`: the names are restored.
 * Callers must not render `registry` concurrently (startHttpServer serializes scrapes).
 */
export async function renderOpenMetrics(registry: Registry): Promise<{ contentType: string; text: string }> {
  const view = new Registry<OpenMetricsContentType>();
  view.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  const named: { metric: { name: string }; name: string }[] = [];
  for (const { name } of registry.getMetricsAsArray()) {
    const metric = registry.getSingleMetric(name);
    if (metric === undefined) continue;
    view.registerMetric(metric);
    named.push({ metric: metric as unknown as { name: string }, name });
  }
  try {
    return { contentType: view.contentType, text: await view.metrics() };
  } finally {
    for (const { metric, name } of named) metric.name = name;
  }
}
