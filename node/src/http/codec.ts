/**
 * JSON shapes of the API (pure): request bodies → record values, records → JSON.
 *
 * Values are base64 by default — the book's JSON and protobuf's JSON mapping of `bytes`
 * (standard or URL-safe alphabet, padding optional) — or UTF-8 text with `?encoding=utf8`,
 * which applies to the values of the request and of the answer.
 *
 * Produce bodies, any one of:
 * - `{"record": {"value": …}}` — the book's ProduceRequest (→ `{"offset": n}`);
 * - `{"value": …}` — one record (→ `{"offset": n}`);
 * - `{"records": [{"value": …}, …]}` — a batch (→ `{"offsets": [n, …]}`), at least one.
 * A missing `value` is an empty record (protobuf JSON omits empty bytes); unknown fields
 * are refused (a typo must not append an empty record).
 */
import type { BackendRecord, ServerInfo } from '../server/backend.js';
import { InvalidRequestError } from '../server/errors.js';
import { RecordTooLargeError } from '../log/index.js';

/** How values are written in JSON. */
export const Encodings = ['base64', 'utf8'] as const;
/** One of {@link Encodings}. */
export type Encoding = (typeof Encodings)[number];

/** A parsed produce request: the values and whether the client sent a batch. */
export interface ProduceBody {
  readonly values: readonly Uint8Array[];
  readonly batch: boolean;
}

/** The `encoding` query parameter (default base64). */
export function parseEncoding(raw: string | null): Encoding | InvalidRequestError {
  if (raw === null || raw === '') return 'base64';
  if ((Encodings as readonly string[]).includes(raw)) return raw as Encoding;
  return new InvalidRequestError(`encoding must be one of ${Encodings.join('|')}, got ${JSON.stringify(raw)}`);
}

/** A non-negative integer query or path parameter, or undefined when absent. */
export function parseOffsetParam(
  name: string,
  raw: string | null | undefined,
): number | undefined | InvalidRequestError {
  if (raw === null || raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n))
    return new InvalidRequestError(`${name} must be a non-negative integer, got ${JSON.stringify(raw)}`);
  return n;
}

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

/** Decodes one JSON value in `encoding`. */
export function decodeValue(v: unknown, encoding: Encoding, where: string): Uint8Array | InvalidRequestError {
  if (v === undefined || v === null) return new Uint8Array(0);
  if (typeof v !== 'string')
    return new InvalidRequestError(
      `${where} must be a string (${encoding === 'base64' ? 'base64' : 'UTF-8 text'}), got ${typeof v}`,
    );
  if (encoding === 'utf8') return Buffer.from(v, 'utf8');
  const bare = v.replace(/=+$/, '');
  if (!BASE64.test(v) || bare.length % 4 === 1)
    return new InvalidRequestError(`${where} is not valid base64 (send UTF-8 text with ?encoding=utf8)`);
  return Buffer.from(bare, v.includes('-') || v.includes('_') ? 'base64url' : 'base64');
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function onlyKeys(
  o: Record<string, unknown>,
  allowed: readonly string[],
  where: string,
): InvalidRequestError | undefined {
  const extra = Object.keys(o).filter((k) => !allowed.includes(k));
  return extra.length > 0
    ? new InvalidRequestError(
        `${where}: unknown field(s) ${extra.map((k) => JSON.stringify(k)).join(', ')} (expected ${allowed.join(', ')})`,
      )
    : undefined;
}

function recordValue(
  o: unknown,
  encoding: Encoding,
  maxRecordBytes: number,
  where: string,
): Uint8Array | InvalidRequestError | RecordTooLargeError {
  if (!isObject(o)) return new InvalidRequestError(`${where} must be an object like {"value": "..."}`);
  const bad = onlyKeys(o, ['value'], where);
  if (bad) return bad;
  const v = decodeValue(o.value, encoding, `${where}.value`);
  if (v instanceof Error) return v;
  if (v.byteLength > maxRecordBytes) return new RecordTooLargeError(v.byteLength, maxRecordBytes);
  return v;
}

/** Parses a produce body (already JSON-parsed); every record is checked before any is appended. */
export function parseProduceBody(
  json: unknown,
  encoding: Encoding,
  maxRecordBytes: number,
): ProduceBody | InvalidRequestError | RecordTooLargeError {
  if (!isObject(json))
    return new InvalidRequestError(
      'the body must be a JSON object: {"value": ...}, {"record": {"value": ...}} or {"records": [{"value": ...}, ...]}',
    );
  if ('records' in json) {
    const bad = onlyKeys(json, ['records'], 'body');
    if (bad) return bad;
    if (!Array.isArray(json.records) || json.records.length === 0)
      return new InvalidRequestError('records must be a non-empty array of {"value": ...}');
    const values: Uint8Array[] = [];
    for (const [i, r] of json.records.entries()) {
      const v = recordValue(r, encoding, maxRecordBytes, `records[${i}]`);
      if (v instanceof Error) return v;
      values.push(v);
    }
    return { values, batch: true };
  }
  if ('record' in json) {
    const bad = onlyKeys(json, ['record'], 'body');
    if (bad) return bad;
    const v = recordValue(json.record, encoding, maxRecordBytes, 'record');
    return v instanceof Error ? v : { values: [v], batch: false };
  }
  const v = recordValue(json, encoding, maxRecordBytes, 'body');
  return v instanceof Error ? v : { values: [v], batch: false };
}

/** Parses the book's read body `{"offset": n}`. */
export function parseOffsetBody(json: unknown): number | InvalidRequestError {
  if (!isObject(json)) return new InvalidRequestError('the body must be a JSON object {"offset": n}');
  const bad = onlyKeys(json, ['offset'], 'body');
  if (bad) return bad;
  const o = json.offset ?? 0; // protobuf JSON omits a zero offset
  if (typeof o === 'string') {
    const n = parseOffsetParam('offset', o);
    return n ?? 0;
  }
  if (typeof o !== 'number' || !Number.isSafeInteger(o) || o < 0)
    return new InvalidRequestError(`offset must be a non-negative integer, got ${JSON.stringify(o)}`);
  return o;
}

/** A record as JSON: `{"offset", "term", "value"}` with the value in `encoding`. */
export interface RecordJson {
  readonly offset: number;
  readonly term: number;
  readonly value: string;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Encodes a record; a value that is not UTF-8 cannot be sent with encoding utf8 (400 names the offset). */
export function recordJson(r: BackendRecord, encoding: Encoding): RecordJson | InvalidRequestError {
  const v = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength);
  if (encoding === 'base64') return { offset: r.offset, term: r.term, value: v.toString('base64') };
  try {
    return { offset: r.offset, term: r.term, value: strictUtf8.decode(v) };
  } catch {
    return new InvalidRequestError(`the record at offset ${r.offset} is not valid UTF-8; read it with encoding=base64`);
  }
}

/** A server as JSON (GetServers' fields in protobuf JSON's camelCase). */
export function serverJson(s: ServerInfo): Record<string, string | boolean> {
  return {
    id: s.id,
    rpcAddr: s.rpcAddr,
    isLeader: s.isLeader,
    isVoter: s.isVoter,
    ...(s.externalRpcAddr ? { externalRpcAddr: s.externalRpcAddr } : {}),
  };
}
