/**
 * A small REST transport to the API server: authentication and TLS come from a
 * `@kubernetes/client-node` KubeConfig, requests are plain JSON. We need subresources
 * (status, scale), server-side apply with `force`, and raw watch streams, which the generic
 * object API of the client does not all offer.
 *
 * Connections: ONE undici pool per transport, HTTP/1.1 only. The KubeConfig's RequestContext
 * hands out a new undici Agent for every request, and undici 8 negotiates HTTP/2 by default
 * but never reaps an idle HTTP/2 session (nodejs/undici#5381): every request left a TLS
 * connection and an HTTP/2 session open for good — one per request in a running operator —
 * and in the stress series one such session looped in Node's native HTTP/2 code until the
 * process held 8.3 GB (http.test.ts). HTTP/1.1 keep-alive connections are reused and closed
 * when idle. Credentials are still applied per request (rotated tokens, exec plugins); only
 * with a `proxy-url` is the KubeConfig's own per-request dispatcher used.
 */
import type { RequestOptions as HttpsRequestOptions } from 'node:https';
import { HttpMethod, RequestContext, type KubeConfig } from '@kubernetes/client-node';
import { Agent, fetch, type Dispatcher } from 'undici';
import { ApiError } from './errors.js';

/** Options of one request. */
export interface RequestOptions {
  readonly query?: Readonly<Record<string, string | number | boolean | undefined>>;
  readonly body?: unknown;
  readonly contentType?: string;
  readonly signal?: AbortSignal;
}

/** A response whose body is streamed (watch). */
export interface StreamResponse {
  readonly body: AsyncIterable<Uint8Array>;
}

/** JSON-over-HTTP access to one API server. */
export interface Transport {
  request<T>(method: string, path: string, opts?: RequestOptions): Promise<T>;
  stream(path: string, opts?: RequestOptions): Promise<StreamResponse>;
}

function url(server: string, path: string, query: RequestOptions['query']): string {
  const u = new URL(server.replace(/\/$/, '') + path);
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) u.searchParams.set(k, String(v));
  return u.toString();
}

async function toError(method: string, path: string, status: number, text: string): Promise<ApiError> {
  let reason = 'Unknown';
  let message = text.slice(0, 2000);
  try {
    const s = JSON.parse(text) as { reason?: string; message?: string };
    reason = s.reason ?? reason;
    message = s.message ?? message;
  } catch {
    /* not a Status */
  }
  return new ApiError(status, reason, message, { method, path });
}

/** {@link Transport} on a KubeConfig's current context. */
export class KubeConfigTransport implements Transport {
  private pool: Promise<Dispatcher | undefined> | undefined;

  constructor(private readonly kc: KubeConfig) {}

  /** The transport's one connection pool (undefined with a proxy: the KubeConfig's dispatcher). */
  private dispatcher(): Promise<Dispatcher | undefined> {
    this.pool ??= (async () => {
      if (this.kc.getCurrentCluster()?.proxyUrl) return undefined;
      const o: HttpsRequestOptions & { servername?: string } = {};
      await this.kc.applyToHTTPSOptions(o);
      const tls = Object.fromEntries(
        Object.entries({
          ca: o.ca,
          cert: o.cert,
          key: o.key,
          pfx: o.pfx,
          passphrase: o.passphrase,
          rejectUnauthorized: o.rejectUnauthorized,
          servername: o.servername,
        }).filter(([, v]) => v !== undefined),
      );
      return new Agent({ allowH2: false, connect: { ...tls, keepAlive: true, keepAliveInitialDelay: 30_000 } });
    })();
    return this.pool;
  }

  private async send(method: string, path: string, opts: RequestOptions): Promise<Awaited<ReturnType<typeof fetch>>> {
    const cluster = this.kc.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    const target = url(cluster.server, path, opts.query);
    const ctx = new RequestContext(target, method as HttpMethod);
    await this.kc.applySecurityAuthentication(ctx);
    const headers: Record<string, string> = { ...ctx.getHeaders(), accept: 'application/json' };
    let body: string | undefined;
    if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['content-type'] = opts.contentType ?? 'application/json';
    }
    const dispatcher = (await this.dispatcher()) ?? ctx.getDispatcher();
    return fetch(target, { method, headers, body, dispatcher, signal: opts.signal });
  }

  async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.send(method, path, opts);
    const text = await res.text();
    if (res.status < 200 || res.status >= 300) throw await toError(method, path, res.status, text);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  async stream(path: string, opts: RequestOptions = {}): Promise<StreamResponse> {
    const res = await this.send('GET', path, opts);
    if (res.status !== 200 || !res.body) throw await toError('GET', path, res.status, await res.text());
    return { body: res.body as AsyncIterable<Uint8Array> };
  }
}

export { HttpMethod };
