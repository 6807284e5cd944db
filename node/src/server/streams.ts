/**
 * ConsumeStream and ProduceStream.
 *
 * ConsumeStream reads the log in batches from the requested offset and then tails it:
 * at the durable end it parks on {@link LogBackend.waitFor}, which a commit wakes (no
 * polling). Back-pressure: messages go out through a {@link MessageWriter} with at most
 * `streamWindowMessages` in flight; when the window is full (HTTP/2 flow control has
 * stopped the bytes) the loop waits before reading more from the log. A consumer that
 * stops reading therefore holds at most one batch plus the window in server memory.
 *
 * ProduceStream pipelines: each request is handed to the backend at once (so concurrent
 * records share one group commit) and the offsets are acknowledged strictly in request
 * order from a FIFO of pending appends. With `maxInFlightPerStream` appends pending, the
 * server pauses reading the stream (HTTP/2 flow control then slows the client). The first
 * failure ends the stream with its status after acknowledging every earlier record; the
 * records that arrive after a rejected one are not appended. A shutdown drains: records
 * that arrive from then on are not appended, the accepted ones are acknowledged as they
 * settle, then the stream ends UNAVAILABLE "shutting down" — which therefore means "not
 * appended" for every record left unacknowledged (bounded by the server's grace period).
 */
import type { ServerDuplexStream, ServerWritableStream } from '@grpc/grpc-js';
import type { ConsumeRequest, ConsumeResponse, ProduceRequest, ProduceResponse } from '../gen/v1/log.js';
import { OffsetOutOfRangeError } from '../log/index.js';
import type { LogBackend } from './backend.js';
import type { ServerConfig } from './config.js';
import { ShuttingDownError, toStatus } from './errors.js';
import { MessageWriter } from './message-writer.js';
import { producerOf, toPb, valueOf } from './records.js';

/** Counters that let tests assert bounded buffering without timing anything. */
export interface StreamStats {
  /** Highest number of ConsumeStream messages ever in flight (handed to grpc-js, not yet written) in one call. */
  maxConsumeBuffered: number;
  /** Records ConsumeStreams have read from the log (and so handed to grpc-js). */
  consumeRecordsRead: number;
  /** Highest number of pending appends ever held by one ProduceStream. */
  maxProduceInFlight: number;
  /** Times a ProduceStream paused reading because it hit maxInFlightPerStream. */
  producePauses: number;
}

/** Live streams, so shutdown can end them, and their stats. */
export class StreamRegistry {
  readonly stats: StreamStats = {
    maxConsumeBuffered: 0,
    consumeRecordsRead: 0,
    maxProduceInFlight: 0,
    producePauses: 0,
  };
  private readonly live = new Set<AbortController>();
  private closed = false;

  /** Registers a stream; the controller aborts on shutdown. Returns undefined once closed. */
  open(): AbortController | undefined {
    if (this.closed) return undefined;
    const ac = new AbortController();
    this.live.add(ac);
    return ac;
  }

  release(ac: AbortController): void {
    this.live.delete(ac);
  }

  /** Number of open streams. */
  get size(): number {
    return this.live.size;
  }

  /** Aborts every stream with {@link ShuttingDownError}. */
  close(): void {
    this.closed = true;
    for (const ac of this.live) ac.abort(new ShuttingDownError());
  }
}

/** Serves one ConsumeStream call until the client cancels, the server stops or an error. */
export async function consumeStream(
  call: ServerWritableStream<ConsumeRequest, ConsumeResponse>,
  backend: LogBackend,
  config: ServerConfig,
  streams: StreamRegistry,
): Promise<void> {
  const ac = streams.open();
  if (!ac) {
    call.emit('error', toStatus(new ShuttingDownError()));
    return;
  }
  const { signal } = ac;
  const cancel = (): void => ac.abort();
  call.on('cancelled', cancel);
  call.on('error', cancel);
  const stats = streams.stats;
  const writer = new MessageWriter(call, config.streamWindowMessages);
  let next = call.request.offset;
  try {
    while (!signal.aborted) {
      const b = backend.bounds();
      // An offset past 2^53 (requests.ts) can never exist: refuse it rather than tail forever.
      if (next < b.lowest || !Number.isSafeInteger(next)) throw new OffsetOutOfRangeError(next, b.lowest, b.next);
      if (next >= b.next) {
        await backend.waitFor(next, signal);
        continue;
      }
      const batch = await backend.readRange(next, {
        maxCount: config.consumeBatchRecords,
        maxBytes: config.consumeBatchBytes,
      });
      stats.consumeRecordsRead += batch.length;
      for (const r of batch) {
        if (signal.aborted) break;
        next = r.offset + 1;
        if (!writer.write({ record: toPb(r) })) await writer.waitForRoom(signal);
      }
      if (writer.maxInFlight > stats.maxConsumeBuffered) stats.maxConsumeBuffered = writer.maxInFlight;
    }
    // Aborted: by the client (nothing to send) or by shutdown (tell the client).
    if (signal.reason instanceof ShuttingDownError) call.emit('error', toStatus(signal.reason));
  } catch (err) {
    if (!signal.aborted || signal.reason instanceof ShuttingDownError) call.emit('error', toStatus(err));
  } finally {
    streams.release(ac);
    call.off('cancelled', cancel);
  }
}

/** Serves one ProduceStream call. */
export function produceStream(
  call: ServerDuplexStream<ProduceRequest, ProduceResponse>,
  backend: LogBackend,
  config: ServerConfig,
  streams: StreamRegistry,
): void {
  const ac = streams.open();
  if (!ac) {
    call.emit('error', toStatus(new ShuttingDownError()));
    return;
  }
  const { signal } = ac;
  const stats = streams.stats;
  const writer = new MessageWriter(call, config.streamWindowMessages);
  const pending: Promise<number>[] = [];
  let failed = false;
  let draining = false; // shutting down: accept nothing more, acknowledge what was accepted
  let ended = false;
  let flushing = false;
  let paused = false;
  const max = config.maxInFlightPerStream;

  const fail = (err: unknown): void => {
    if (failed) return;
    failed = true;
    pending.length = 0;
    streams.release(ac);
    call.emit('error', toStatus(err));
  };

  const flush = async (): Promise<void> => {
    flushing = true;
    try {
      while (pending.length > 0 && !failed) {
        let offset: number;
        try {
          offset = await (pending[0] as Promise<number>);
        } catch (err) {
          fail(err);
          return;
        }
        void pending.shift();
        // Once aborted (shutdown, cancel) waitForRoom returns at once: the acks still queue in order.
        if (!writer.write({ offset })) await writer.waitForRoom(signal);
        if (paused && pending.length <= max / 2) {
          paused = false;
          call.resume();
        }
      }
    } finally {
      flushing = false;
    }
    if (ended && !failed && pending.length === 0) {
      streams.release(ac);
      await writer.flushed(signal);
      call.end();
    } else if (draining && !failed && pending.length === 0) fail(new ShuttingDownError());
  };

  let inputClosed = false; // a rejected record is queued: later records are not appended
  call.on('data', (req: ProduceRequest) => {
    if (failed || inputClosed || draining) return;
    const value = valueOf(req, backend.maxRecordBytes);
    const producer = producerOf(req);
    let p: Promise<number>;
    if (value instanceof Error || producer instanceof Error) {
      inputClosed = true;
      p = Promise.reject(value instanceof Error ? value : producer);
    } else {
      p = backend.produce(value, producer);
    }
    p.catch(() => {}); // observed by flush, in order
    pending.push(p);
    if (pending.length > stats.maxProduceInFlight) stats.maxProduceInFlight = pending.length;
    if (!paused && pending.length >= max) {
      paused = true;
      stats.producePauses++;
      call.pause();
    }
    if (!flushing) void flush();
  });

  call.on('end', () => {
    ended = true;
    if (!flushing && pending.length === 0 && !failed) {
      streams.release(ac);
      call.end();
    }
  });
  call.on('cancelled', () => {
    failed = true;
    pending.length = 0;
    streams.release(ac);
    ac.abort();
  });
  signal.addEventListener('abort', () => {
    if (!(signal.reason instanceof ShuttingDownError)) return;
    draining = true;
    if (!flushing && pending.length === 0) fail(signal.reason);
  });
}
