/**
 * Small network helpers for starting the control plane: free loopback ports and polling an
 * HTTP(S) health endpoint until it answers 200.
 */
import { createServer, type Server } from 'node:net';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { request as httpRequest } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Returns `n` distinct free TCP ports on 127.0.0.1. All listeners are held open until every
 * port is chosen, so the ports differ; another process can still take one before the caller
 * binds it (a small, accepted race — start-up then fails with a clear "address in use").
 */
export async function freePorts(n: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const s = createServer();
      servers.push(s);
      await new Promise<void>((res, rej) => {
        s.once('error', rej);
        s.listen(0, '127.0.0.1', () => res());
      });
    }
    return servers.map((s) => {
      const a = s.address();
      if (a === null || typeof a === 'string') throw new Error('unexpected server address');
      return a.port;
    });
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((res) => s.close(() => res()))));
  }
}

/** TLS material for an HTTPS probe; omit for plain HTTP. */
export interface ProbeTls {
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  /** Skip server verification (only for components with self-generated certificates). */
  readonly insecure?: boolean;
}

/** One GET; resolves with status and body, rejects on connection errors. */
export function get(url: string, tls?: ProbeTls, timeoutMs = 5_000): Promise<{ status: number; body: string }> {
  return new Promise((res, rej) => {
    const u = new URL(url);
    const opts: RequestOptions = { method: 'GET', timeout: timeoutMs };
    if (u.protocol === 'https:') {
      Object.assign(opts, { ca: tls?.ca, cert: tls?.cert, key: tls?.key, rejectUnauthorized: tls?.insecure !== true });
    }
    const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(u, opts, (r) => {
      let body = '';
      r.setEncoding('utf8');
      r.on('data', (c: string) => (body += c));
      r.on('end', () => res({ status: r.statusCode ?? 0, body }));
      r.on('error', rej);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out after ${timeoutMs} ms`)));
    req.on('error', rej);
    req.end();
  });
}

/**
 * Polls `url` until it answers 200. Gives up at `deadline` (epoch ms) or as soon as
 * `abortIf()` returns a reason (e.g. the process exited), with the last answer in the error.
 */
export async function waitFor200(
  url: string,
  deadline: number,
  tls?: ProbeTls,
  abortIf: () => string | null = () => null,
): Promise<void> {
  let last = 'no answer yet';
  for (;;) {
    const reason = abortIf();
    if (reason !== null) throw new Error(`while waiting for ${url}: ${reason}`);
    try {
      const r = await get(url, tls);
      if (r.status === 200) return;
      last = `HTTP ${r.status}: ${r.body.slice(0, 2000)}`;
    } catch (e) {
      last = (e as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer 200 in time; last answer: ${last}`);
    await sleep(150);
  }
}
