/**
 * The registry of live streams, and ConsumeStream (ProduceStream: produce-stream.ts).
 *
 * ConsumeStream reads the log in batches from the requested offset and then tails it:
 * at the durable end it parks on {@link LogBackend.waitFor}, which a commit wakes (no
 * polling). Back-pressure: messages go out through a {@link MessageWriter} with at most
 * `streamWindowMessages` in flight; when the window is full (HTTP/2 flow control has
 * stopped the bytes) the loop waits before reading more from the log. A consumer that
 * stops reading therefore holds at most one batch plus the window in server memory.
 *
 * A request with `batch_records` N > 0 (our client and CLI; the book's clients never set
 * it) gets up to N records per message in `batch` (records.ts splitBatches: at most
 * `consumeBatchRecords` records and `consumeBatchBytes` bytes, under gRPC's default
 * message size), with a window of `streamWindowBatches` messages. One message, one HTTP/2
 * DATA frame and one share of a TLS write then carry many records instead of one.
 */
import type { ServerWritableStream } from '@grpc/grpc-js';
import type { ConsumeRequest, ConsumeResponse } from '../gen/v1/log.js';
import { OffsetOutOfRangeError } from '../log/index.js';
import type { BackendRecord, LogBackend } from './backend.js';
import type { ServerConfig } from './config.js';
import { ShuttingDownError, toStatus } from './errors.js';
import { MessageWriter } from './message-writer.js';
import { consumeBatchSizeOf, splitBatches, toPb } from './records.js';

/** Counters that let tests assert bounded buffering without timing anything. */
export interface StreamStats {
  /** Highest number of ConsumeStream messages ever in flight (handed to grpc-js, not yet written) in one call. */
  maxConsumeBuffered: number;
  /** Records ConsumeStreams have read from the log (and so handed to grpc-js). */
  consumeRecordsRead: number;
  /** Most records ever sent in one batched ConsumeResponse. */
  maxConsumeBatchRecords: number;
  /** Highest number of pending records (appends not yet acknowledged) ever held by one ProduceStream. */
  maxProduceInFlight: number;
  /** Batched ProduceRequests accepted (each acknowledged by one response). */
  produceBatches: number;
  /** Times a ProduceStream paused reading because it hit maxInFlightPerStream. */
  producePauses: number;
}

/** Live streams, so shutdown can end them, and their stats. */
export class StreamRegistry {
  readonly stats: StreamStats = {
    maxConsumeBuffered: 0,
    consumeRecordsRead: 0,
    maxConsumeBatchRecords: 0,
    maxProduceInFlight: 0,
    produceBatches: 0,
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
  const batchSize = consumeBatchSizeOf(call.request, config.consumeBatchRecords);
  const writer = new MessageWriter(call, batchSize > 0 ? config.streamWindowBatches : config.streamWindowMessages);
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
      if (batchSize === 0) {
        for (const r of batch) {
          if (signal.aborted) break;
          next = r.offset + 1;
          if (!writer.write({ record: toPb(r) })) await writer.waitForRoom(signal);
        }
      } else {
        for (const part of splitBatches(batch, batchSize, config.consumeBatchBytes)) {
          if (signal.aborted) break;
          next = (part[part.length - 1] as BackendRecord).offset + 1;
          if (part.length > stats.maxConsumeBatchRecords) stats.maxConsumeBatchRecords = part.length;
          if (!writer.write({ batch: { records: part.map(toPb) } })) await writer.waitForRoom(signal);
        }
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
