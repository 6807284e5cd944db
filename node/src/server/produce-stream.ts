/**
 * ProduceStream.
 *
 * It pipelines: each request is handed to the backend at once (so concurrent records
 * share one group commit) and acknowledged strictly in request order from a FIFO of
 * pending appends. With `maxInFlightPerStream` records pending, the server pauses reading
 * the stream (HTTP/2 flow control then slows the client). The first failure ends the
 * stream with its status after acknowledging every earlier request; the requests that
 * arrive after a rejected one are not appended. A shutdown drains: requests that arrive
 * from then on are not appended, the accepted ones are acknowledged as they settle, then
 * the stream ends UNAVAILABLE "shutting down" — which therefore means "not appended" for
 * every record left unacknowledged (bounded by the server's grace period).
 *
 * A request may carry a batch (ProduceRequest.batch; our client and the bench, never the
 * book's clients). The batch is validated whole before any of it is appended (records.ts
 * valuesOf: not empty, at most `produceBatchMaxRecords`, every record within the size
 * limit), then handed to the backend whole (LogBackend.produceBatch: with Raft ONE
 * proposal at consecutive indexes, forwarded from a follower as one message); its records
 * are separate records (the i-th with producer sequence + i) and the request is
 * acknowledged by ONE response with every offset once all of them are durable — committed
 * on a quorum and fdatasynced, as a single record's. A failure of any record fails the
 * batch: it is not acknowledged and the stream ends with that status (its other records
 * may have been appended, as any unacknowledged record may: retry with the same producer
 * id and sequence). One request and one response then carry many records: fewer gRPC
 * messages, HTTP/2 frames, TLS writes and proposals per record.
 */
import type { ServerDuplexStream } from '@grpc/grpc-js';
import type { ProduceRequest, ProduceResponse } from '../gen/v1/log.js';
import type { LogBackend } from './backend.js';
import type { ServerConfig } from './config.js';
import { InvalidRequestError, ShuttingDownError, toStatus } from './errors.js';
import { MessageWriter } from './message-writer.js';
import { producerOf, valueOf, valuesOf } from './records.js';
import type { StreamRegistry } from './streams.js';

/** One accepted request waiting for its acknowledgement. */
interface Pending {
  /** The record's offset, or a batch's offsets. */
  readonly settled: Promise<number | readonly number[]>;
  /** Records it holds (1 for a single record). */
  readonly records: number;
}

/** Hands a request to the backend, or a rejected promise for a request that is refused whole. */
function accept(req: ProduceRequest, backend: LogBackend, config: ServerConfig): Pending & { refused: boolean } {
  const refuse = (err: Error): Pending & { refused: boolean } => ({
    settled: Promise.reject(err),
    records: 1,
    refused: true,
  });
  const producer = producerOf(req);
  if (!req.batch) {
    const value = valueOf(req, backend.maxRecordBytes);
    if (value instanceof Error) return refuse(value);
    if (producer instanceof Error) return refuse(producer);
    return { settled: backend.produce(value, producer), records: 1, refused: false };
  }
  const values = valuesOf(req, backend.maxRecordBytes, config.produceBatchMaxRecords);
  if (values instanceof Error) return refuse(values);
  if (producer instanceof Error) return refuse(producer);
  if (producer !== undefined && !Number.isSafeInteger(producer.seq + values.length - 1))
    return refuse(new InvalidRequestError('ProduceRequest.sequence + batch size passes 2^53'));
  return { settled: backend.produceBatch(values, producer), records: values.length, refused: false };
}

/** The acknowledgement of a settled request. */
function ackOf(settled: number | readonly number[]): ProduceResponse {
  if (typeof settled === 'number') return { offset: settled };
  return { offset: settled[0] ?? 0, batch: { offsets: settled as number[] } };
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
  const pending: Pending[] = [];
  let pendingRecords = 0;
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
    pendingRecords = 0;
    streams.release(ac);
    call.emit('error', toStatus(err));
  };

  const flush = async (): Promise<void> => {
    flushing = true;
    try {
      while (pending.length > 0 && !failed) {
        const head = pending[0] as Pending;
        let settled: number | readonly number[];
        try {
          settled = await head.settled;
        } catch (err) {
          fail(err);
          return;
        }
        void pending.shift();
        pendingRecords -= head.records;
        // Once aborted (shutdown, cancel) waitForRoom returns at once: the acks still queue in order.
        if (!writer.write(ackOf(settled))) await writer.waitForRoom(signal);
        if (paused && pendingRecords <= max / 2) {
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

  let inputClosed = false; // a rejected request is queued: later requests are not appended
  call.on('data', (req: ProduceRequest) => {
    if (failed || inputClosed || draining) return;
    const p = accept(req, backend, config);
    if (p.refused) inputClosed = true;
    else if (req.batch) stats.produceBatches++;
    p.settled.catch(() => {}); // observed by flush, in order
    pending.push(p);
    pendingRecords += p.records;
    if (pendingRecords > stats.maxProduceInFlight) stats.maxProduceInFlight = pendingRecords;
    if (!paused && pendingRecords >= max) {
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
    pendingRecords = 0;
    streams.release(ac);
    ac.abort();
  });
  signal.addEventListener('abort', () => {
    if (!(signal.reason instanceof ShuttingDownError)) return;
    draining = true;
    if (!flushing && pending.length === 0) fail(signal.reason);
  });
}
