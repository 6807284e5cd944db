/**
 * GET /v1/records/tail: the log from an offset as NDJSON (`application/x-ndjson`), one
 * `{"record": {…}}` line per record, then new records as they commit — ConsumeStream's
 * rules over HTTP/1.1:
 *
 * - it reads the log in batches (`tailBatchRecords`, `tailBatchBytes`) and, at the durable
 *   end, parks on {@link LogBackend.waitFor} (woken by commits, no polling);
 * - back-pressure: when `res.write` returns false (the socket's write buffer is full) it
 *   stops reading the log until 'drain', so a client that stops reading holds at most one
 *   batch plus one socket buffer in server memory; a client that reads nothing for
 *   `tailStallTimeoutMs` while data waits is disconnected;
 * - an offset below the log's lowest (retention), the server stopping, or an error ends the
 *   stream with one last `{"error": {…}}` line (the status line was sent long before);
 * - `max` ends it after that many records (scripts, `curl` that should exit).
 */
import type { ServerResponse } from 'node:http';
import { OffsetOutOfRangeError } from '../log/index.js';
import type { LogBackend } from '../server/backend.js';
import { ShuttingDownError } from '../server/errors.js';
import { recordJson, type Encoding } from './codec.js';
import type { HttpApiConfig } from './config.js';
import { httpError } from './status.js';

/** Counters that let tests assert bounded buffering without timing anything. */
export interface TailStats {
  /** Records tails have read from the log. */
  recordsRead: number;
  /** Records tails have handed to their sockets. */
  recordsWritten: number;
  /** Highest `res.writableLength` (bytes buffered above the kernel) seen by any tail. */
  maxBufferedBytes: number;
  /** Times a tail stopped reading the log because its socket buffer was full. */
  pauses: number;
  /** Tails waiting for 'drain' right now. */
  waitingForDrain: number;
  /** Tails disconnected for reading nothing for `tailStallTimeoutMs`. */
  stalled: number;
}

/** What one tail needs. */
export interface TailRequest {
  readonly from: number;
  /** Most records to send, then end (undefined = follow forever). */
  readonly max: number | undefined;
  readonly encoding: Encoding;
}

/** Resolves on 'drain' (true), or false when the response closes, `signal` aborts or the stall timeout passes. */
function drained(res: ServerResponse, signal: AbortSignal, stallMs: number): Promise<'drain' | 'closed' | 'stalled'> {
  return new Promise((resolve) => {
    const done = (how: 'drain' | 'closed' | 'stalled') => (): void => {
      clearTimeout(timer);
      res.off('drain', onDrain);
      res.off('close', onClose);
      signal.removeEventListener('abort', onClose);
      resolve(how);
    };
    const onDrain = done('drain');
    const onClose = done('closed');
    const timer = setTimeout(done('stalled'), stallMs);
    res.once('drain', onDrain);
    res.once('close', onClose);
    signal.addEventListener('abort', onClose, { once: true });
  });
}

/** Streams the tail; resolves when the stream ended (for any reason). */
export async function serveTail(
  res: ServerResponse,
  backend: LogBackend,
  t: TailRequest,
  config: HttpApiConfig,
  signal: AbortSignal,
  stats: TailStats,
): Promise<void> {
  res.writeHead(200, {
    'content-type': 'application/x-ndjson',
    'cache-control': 'no-store',
    'x-accel-buffering': 'no',
  });
  res.flushHeaders();
  let next = t.from;
  let sent = 0;
  const endWith = (err: unknown): void => {
    if (!res.writableEnded && !res.destroyed) res.end(`${JSON.stringify(httpError(err).body)}\n`);
  };
  try {
    while (!signal.aborted && !res.destroyed && (t.max === undefined || sent < t.max)) {
      const b = backend.bounds();
      if (next < b.lowest) throw new OffsetOutOfRangeError(next, b.lowest, b.next);
      if (next >= b.next) {
        if (!(await backend.waitFor(next, signal)) && !signal.aborted) throw new ShuttingDownError();
        continue;
      }
      const want = t.max === undefined ? config.tailBatchRecords : Math.min(config.tailBatchRecords, t.max - sent);
      const batch = await backend.readRange(next, { maxCount: want, maxBytes: config.tailBatchBytes });
      stats.recordsRead += batch.length;
      for (const r of batch) {
        if (signal.aborted || res.destroyed) break;
        const json = recordJson(r, t.encoding);
        if (json instanceof Error) throw json;
        next = r.offset + 1;
        sent++;
        stats.recordsWritten++;
        const ok = res.write(`${JSON.stringify({ record: json })}\n`);
        if (res.writableLength > stats.maxBufferedBytes) stats.maxBufferedBytes = res.writableLength;
        if (!ok) {
          stats.pauses++;
          stats.waitingForDrain++;
          const how = await drained(res, signal, config.tailStallTimeoutMs).finally(() => stats.waitingForDrain--);
          if (how === 'stalled') {
            stats.stalled++;
            res.destroy();
            return;
          }
          if (how === 'closed') break;
        }
      }
    }
    if (signal.aborted && signal.reason instanceof ShuttingDownError) endWith(signal.reason);
    else if (!signal.aborted) res.end();
  } catch (err) {
    endWith(signal.reason instanceof ShuttingDownError ? signal.reason : err);
  }
}
