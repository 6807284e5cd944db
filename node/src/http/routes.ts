/**
 * The routes of the JSON API and their handlers. Every request is authenticated first
 * (client certificate CN; 401 without a verified one), then routed (404/405), then
 * authorized with the route's ACL action (403), and only then is its body read.
 *
 * | route | action | answer |
 * |---|---|---|
 * | POST /v1/records | produce | `{"offset"}` or, for a batch, `{"offsets"}` (JSON or raw `application/octet-stream`) |
 * | GET /v1/records/{offset} | consume | `{"record"}` (raw bytes with `Accept: application/octet-stream`) |
 * | GET /v1/records?from=&max= | consume | `{"records", "next"}` |
 * | GET /v1/records/tail?from=&max= | consume | NDJSON stream (tail.ts) |
 * | GET /v1/servers | consume | `{"servers"}` |
 * | POST / | produce | the book: `{"record": {"value"}}` → `{"offset"}` |
 * | GET / | consume | the book: body `{"offset"}` → `{"record"}` |
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Action, Authorizer } from '../acl/authorizer.js';
import type { LogBackend } from '../server/backend.js';
import { InvalidRequestError, PermissionDeniedError, ServerError } from '../server/errors.js';
import { ANONYMOUS, authenticate } from '../server/interceptor.js';
import { OffsetOutOfRangeError, RecordTooLargeError } from '../log/index.js';
import { awaitsContinue, BodyTooLargeError, discardRest, readBody, type BodyStats } from './body.js';
import {
  parseEncoding,
  parseOffsetBody,
  parseOffsetParam,
  parseProduceBody,
  recordJson,
  serverJson,
  type Encoding,
} from './codec.js';
import { jsonBodyLimit, type HttpApiConfig } from './config.js';
import { httpError, routeError, type HttpError } from './status.js';
import { serveTail, type TailStats } from './tail.js';

/** What the handlers need. */
export interface RouteDeps {
  readonly backend: LogBackend;
  readonly config: HttpApiConfig;
  /** True when client certificates are verified (a client CA is configured). */
  readonly mutual: boolean;
  readonly authorizer: () => Authorizer;
  readonly bodyStats: BodyStats;
  readonly tailStats: TailStats;
}

/** One request being served: parsed URL, subject, and the signal that aborts on client close or shutdown. */
export interface Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly url: URL;
  readonly signal: AbortSignal;
}

type Handler = (x: Exchange, d: RouteDeps) => Promise<void>;

interface Route {
  /** Name for logs and metrics (bounded cardinality). */
  readonly name: string;
  readonly action: Action;
  readonly handler: Handler;
}

/** The route of a path and method, or the HTTP-level error. */
export function route(method: string, path: string): Route | HttpError {
  const byMethod = routes(path);
  if (byMethod === undefined)
    return routeError('not-found', `no route ${path}; the API is under /v1/ (see the README)`);
  const r = byMethod[method];
  if (r === undefined)
    return routeError('method-not-allowed', `${path} does not take ${method}`, Object.keys(byMethod));
  return r;
}

function routes(path: string): Readonly<Record<string, Route>> | undefined {
  if (path === '/v1/records')
    return {
      POST: { name: 'POST /v1/records', action: 'produce', handler: produce },
      GET: { name: 'GET /v1/records', action: 'consume', handler: readRange },
    };
  if (path === '/v1/records/tail') return { GET: { name: 'GET /v1/records/tail', action: 'consume', handler: tail } };
  if (/^\/v1\/records\/[^/]+$/.test(path))
    return { GET: { name: 'GET /v1/records/{offset}', action: 'consume', handler: readOne } };
  if (path === '/v1/servers') return { GET: { name: 'GET /v1/servers', action: 'consume', handler: servers } };
  if (path === '/')
    return {
      POST: { name: 'POST /', action: 'produce', handler: produce },
      GET: { name: 'GET /', action: 'consume', handler: bookRead },
    };
  return undefined;
}

/** The caller's subject (the verified client certificate's CN, or "anonymous" without a client CA); cached per connection. */
const socketSubjects = new WeakMap<object, string | ServerError>();
export function subjectOfRequest(req: IncomingMessage, mutual: boolean): string {
  if (!mutual) return ANONYMOUS;
  const socket = req.socket as TLSSocket;
  let s = socketSubjects.get(socket);
  if (s === undefined) {
    // As for gRPC: a certificate counts only on an authorized socket (chains to the client CA).
    const cert = socket.authorized ? socket.getPeerCertificate() : undefined;
    s = authenticate(cert && cert.raw ? cert : undefined);
    socketSubjects.set(socket, s);
  }
  if (s instanceof ServerError) throw s;
  return s;
}

/** Authorizes `subject` for the route's action (throws PermissionDeniedError). */
export function authorize(d: RouteDeps, subject: string, r: Route): void {
  if (!d.authorizer().authorize(subject, r.action)) throw new PermissionDeniedError(subject, r.action);
}

/** Sends a JSON answer. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

/** Sends an error answer (if the status line has not gone out yet). */
export function sendError(res: ServerResponse, e: HttpError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (awaitsContinue(res.req)) res.shouldKeepAlive = false;
  sendJson(res, e.status, e.body, e.headers);
}

function encodingOf(x: Exchange): Encoding {
  const e = parseEncoding(x.url.searchParams.get('encoding'));
  if (e instanceof Error) throw e;
  return e;
}

const isOctetStream = (req: IncomingMessage): boolean =>
  /^application\/octet-stream\b/i.test(req.headers['content-type'] ?? '');

/**
 * The body as JSON. Any content type but application/octet-stream is parsed as JSON:
 * `curl -d` sends application/x-www-form-urlencoded, and the book's curl lines use it.
 */
async function jsonBody(x: Exchange, d: RouteDeps): Promise<unknown> {
  const raw = await body(x, d, jsonBodyLimit(d.backend.maxRecordBytes, d.config));
  if (raw.length === 0) throw new InvalidRequestError('a JSON body is required');
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch (err) {
    throw new InvalidRequestError(`the body is not valid JSON: ${(err as Error).message}`);
  }
}

async function body(x: Exchange, d: RouteDeps, limit: number): Promise<Buffer> {
  try {
    return await readBody(x.req, x.res, limit, d.bodyStats);
  } catch (err) {
    if (err instanceof BodyTooLargeError) discardRest(x.req, x.res, d.config.lingerMs, d.bodyStats);
    throw err;
  }
}

async function produce(x: Exchange, d: RouteDeps): Promise<void> {
  let values: readonly Uint8Array[];
  let batch = false;
  if (isOctetStream(x.req)) {
    const raw = await body(x, d, d.backend.maxRecordBytes).catch((err: unknown) => {
      // A raw body is one record: over the limit it is a record too large.
      throw err instanceof BodyTooLargeError ? new RecordTooLargeError(err.size, err.limit) : err;
    });
    values = [raw];
  } else {
    const parsed = parseProduceBody(await jsonBody(x, d), encodingOf(x), d.backend.maxRecordBytes);
    if (parsed instanceof Error) throw parsed;
    ({ values, batch } = parsed);
  }
  // Handed to the backend at once: one group commit; offsets come back in order.
  const results = await Promise.allSettled(values.map((v) => d.backend.produce(v)));
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) {
    if (!batch) throw failed.reason;
    // Some records of the batch may be in the log: say which (offsets, null where not appended).
    const e = httpError(failed.reason);
    const offsets = results.map((r) => (r.status === 'fulfilled' ? r.value : null));
    sendJson(x.res, e.status, { error: { ...e.body.error, details: { ...e.body.error.details, offsets } } }, e.headers);
    return;
  }
  const offsets = results.map((r) => (r as PromiseFulfilledResult<number>).value);
  sendJson(x.res, 200, batch ? { offsets } : { offset: offsets[0] });
}

async function sendRecord(x: Exchange, d: RouteDeps, offset: number): Promise<void> {
  const r = await d.backend.read(offset);
  if (/application\/octet-stream/i.test(x.req.headers.accept ?? '')) {
    x.res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'content-length': r.value.byteLength,
      'commitlog-offset': String(r.offset),
      'commitlog-term': String(r.term),
    });
    x.res.end(r.value);
    return;
  }
  const json = recordJson(r, encodingOf(x));
  if (json instanceof Error) throw json;
  sendJson(x.res, 200, { record: json });
}

async function readOne(x: Exchange, d: RouteDeps): Promise<void> {
  const offset = parseOffsetParam('offset', x.url.pathname.slice('/v1/records/'.length));
  if (offset instanceof Error) throw offset;
  await sendRecord(x, d, offset ?? 0);
}

async function bookRead(x: Exchange, d: RouteDeps): Promise<void> {
  const offset = parseOffsetBody(await jsonBody(x, d));
  if (offset instanceof Error) throw offset;
  await sendRecord(x, d, offset);
}

function param(x: Exchange, name: string): number | undefined {
  const v = parseOffsetParam(name, x.url.searchParams.get(name));
  if (v instanceof Error) throw v;
  return v;
}

async function readRange(x: Exchange, d: RouteDeps): Promise<void> {
  const encoding = encodingOf(x);
  const from = param(x, 'from') ?? d.backend.bounds().lowest;
  const max = param(x, 'max') ?? d.config.rangeDefaultRecords;
  if (max < 1 || max > d.config.rangeMaxRecords)
    throw new InvalidRequestError(`max must be in [1, ${d.config.rangeMaxRecords}], got ${max}`);
  const rs = await d.backend.readRange(from, { maxCount: max, maxBytes: d.config.rangeMaxBytes });
  const records = [];
  for (const r of rs) {
    const json = recordJson(r, encoding);
    if (json instanceof Error) throw json;
    records.push(json);
  }
  sendJson(x.res, 200, { records, next: rs.length > 0 ? (rs[rs.length - 1]?.offset ?? from) + 1 : from });
}

async function tail(x: Exchange, d: RouteDeps): Promise<void> {
  const encoding = encodingOf(x);
  const from = param(x, 'from') ?? d.backend.bounds().next;
  const max = param(x, 'max');
  if (max === 0) throw new InvalidRequestError('max must be at least 1 (or absent: follow forever)');
  // As ConsumeStream: a start below the log is refused (here with a status, before the
  // stream's 200 goes out); a start beyond its end waits for that record.
  const b = d.backend.bounds();
  if (from < b.lowest) throw new OffsetOutOfRangeError(from, b.lowest, b.next);
  await serveTail(x.res, d.backend, { from, max, encoding }, d.config, x.signal, d.tailStats);
}

async function servers(x: Exchange, d: RouteDeps): Promise<void> {
  sendJson(x.res, 200, { servers: d.backend.servers().map(serverJson) });
}
