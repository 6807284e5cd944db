/**
 * Forwards Produce from a follower to the leader, authenticated with this node's peer
 * certificate. The leader's ACL sees the node's certificate CN as the subject, so the
 * policy must allow that CN to produce (npm start and the tests issue node certificates
 * with CN "commitlog-node" and grant it produce/consume/admin). The follower has already
 * authorized the original client with the same policy before forwarding.
 *
 * Order: every forwarded record goes down ONE ProduceStream to the leader, which appends
 * and acknowledges strictly in request order (node/src/server/streams.ts). So concurrent
 * produces on a follower get increasing offsets in the order they were made — the
 * LogBackend contract — while still sharing the leader's group commit (pipelined, no
 * round trip per record). If the stream fails, every record in flight on it is rejected
 * and the next produce opens a new stream; a record not acknowledged within 10 s cancels
 * the stream, and so does a leader change this node learns of ({@link LeaderForwarder.leaderChanged}). What a rejection means ({@link ForwardIndeterminateError} or not):
 * - the stream never connected ({@link neverSent}): nothing reached the leader;
 * - the leader ended the stream with its own status ({@link serverAnswered}): it
 *   acknowledged every earlier record in order, so the status is about the first record in
 *   flight (server/streams.ts); the later ones were already handed to its backend and may
 *   be appended: indeterminate. A leader shutting down stops accepting records, drains the
 *   accepted ones and then ends with UNAVAILABLE: then none of those in flight was appended;
 * - anything else (the connection dropped, the timeout, this node stopping): every record in
 *   flight reached the leader or may have: indeterminate.
 *
 * Time and the connection are injected (issue 13 item 3): the deadline timer and its notion
 * of now run on a {@link ShellClock} (default {@link realClock}), and the channel to a leader
 * comes from a {@link LeaderDialer} (default a gRPC {@link LogClient}), so a test drives the
 * deadlines on a manual clock against an in-process leader (forwarder-virtual.test.ts).
 */
import { status as Status, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import { neverSent, serverAnswered } from '../client/client.js';
import { LogClient, type ProduceRequest, type ProduceResponse, type Record as PbRecord } from '../gen/v1/log.js';
import { realClock, type ShellClock, type ShellTimer } from '../raft/shell/loop-clock.js';
import type { ProducerRef } from '../server/backend.js';
import { ErrorMetadataKeys, ServerErrorCode } from '../server/errors.js';

/**
 * A forwarded record whose outcome is unknown: it reached the leader (or may have) and the
 * leader may have appended it. `cause` is the stream's failure.
 */
export class ForwardIndeterminateError extends Error {
  constructor(cause: Error) {
    super(`the forwarded record may have been appended: ${describeForwardError(cause)}`, { cause });
    this.name = 'ForwardIndeterminateError';
  }
}

/** What the failure `err` of a forwarding stream means for its `i`-th record in flight (see the file comment). */
export function forwardOutcome(err: Error, i: number): Error {
  const e = err as Partial<ServiceError>;
  if (neverSent(e)) return err;
  if (serverAnswered(e)) {
    if (i === 0) return err;
    if (e.metadata?.get(ErrorMetadataKeys.code)[0] === ServerErrorCode.shuttingDown) return err;
  }
  return new ForwardIndeterminateError(err);
}

/** Bound on one forwarded record: a hung leader cannot hold a produce forever. */
const FORWARD_TIMEOUT_MS = 10_000;

/**
 * What the forwarder uses of one ProduceStream call (a grpc-js `ClientDuplexStream` is one):
 * requests written in order, one `data` per request in the same order, then `error` or `end`.
 */
export interface ProduceCall {
  write(req: ProduceRequest): unknown;
  /** Ends the call from this side; the call may then report `error` (CANCELLED). */
  cancel(): void;
  on(event: 'data', fn: (ack: ProduceResponse) => void): unknown;
  on(event: 'error', fn: (err: Error) => void): unknown;
  on(event: 'end', fn: () => void): unknown;
}

/** A channel to one leader address (a gRPC {@link LogClient} is one). */
export interface LeaderChannel {
  produceStream(): ProduceCall;
  close(): void;
  /**
   * Starts connecting now, if the channel is idle (optional): called when this node learns of
   * a new leader, so the first forward after a failover finds the TLS connection made.
   */
  connect?(): void;
}

/** The default {@link LeaderDialer}: a gRPC {@link LogClient} with `credentials`. */
export function grpcLeaderDialer(credentials: ChannelCredentials): LeaderDialer {
  return (addr) => {
    const client = new LogClient(addr, credentials, { 'grpc.max_send_message_length': 128 * 1024 * 1024 });
    return {
      produceStream: () => client.produceStream(),
      close: () => client.close(),
      connect: () => void client.getChannel().getConnectivityState(true),
    };
  };
}

/** Opens the channel to the leader at `addr` (one per address, closed when the leader changes). */
export type LeaderDialer = (addr: string) => LeaderChannel;

interface Pending {
  /** Takes the leader's acknowledgement (a batch's carries every offset). */
  resolve(ack: ProduceResponse): void;
  reject(err: Error): void;
  /** The clock's `now()` by which the leader must have acknowledged it. */
  readonly deadline: number;
}

/** A Buffer over the same bytes (the record is serialized at once by `write`): no copy per record. */
function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/** A record to produce as the wire carries it. */
function pbRecord(value: Uint8Array): PbRecord {
  return { value: asBuffer(value), offset: 0, term: 0, type: 0 };
}

/**
 * One ordered, pipelined ProduceStream to the leader. Acknowledgements come in order, so the
 * oldest record in flight carries the earliest deadline: one timer watches it (re-armed when
 * it fires) instead of a timer set and cleared per record.
 */
class ForwardStream {
  private readonly pending: Pending[] = [];
  private readonly call: ProduceCall;
  private timer: ShellTimer | undefined;
  dead = false;

  constructor(
    client: LeaderChannel,
    private readonly timeoutMs: number,
    private readonly clock: ShellClock,
  ) {
    this.call = client.produceStream();
    this.call.on('data', (r: ProduceResponse) => {
      const p = this.pending.shift();
      if (p === undefined) return this.fail(new Error('the leader acknowledged a record that was not sent'));
      p.resolve(r);
    });
    this.call.on('error', (e: Error) => this.fail(e));
    this.call.on('end', () => this.fail(new Error('the leader ended the forwarding stream')));
  }

  send(value: Uint8Array, producer?: ProducerRef): Promise<number> {
    return this.request({ record: pbRecord(value) }, producer, (ack) => ack.offset);
  }

  /** Sends a batch as ONE ProduceRequest (`batch`): the leader answers one response with every offset. */
  sendBatch(values: readonly Uint8Array[], producer?: ProducerRef): Promise<readonly number[]> {
    return this.request({ batch: { records: values.map(pbRecord) } }, producer, (ack) => {
      const offsets = ack.batch?.offsets ?? [];
      if (offsets.length !== values.length)
        throw new Error(`the leader acknowledged a batch of ${values.length} with ${offsets.length} offsets`);
      return offsets;
    });
  }

  private request<T>(
    req: ProduceRequest,
    producer: ProducerRef | undefined,
    answer: (ack: ProduceResponse) => T,
  ): Promise<T> {
    return new Promise((resolve, reject) => {
      const settle = (ack: ProduceResponse): void => {
        try {
          resolve(answer(ack));
        } catch (err) {
          reject(new ForwardIndeterminateError(err as Error));
        }
      };
      this.pending.push({ resolve: settle, reject, deadline: this.clock.now() + this.timeoutMs });
      this.timer ??= this.clock.after(this.timeoutMs, () => this.checkDeadline());
      this.call.write({
        ...req,
        // The producer travels with the records, so a retry after a failed forward dedups too.
        ...(producer !== undefined ? { producerId: Buffer.from(producer.id), sequence: producer.seq } : {}),
      });
    });
  }

  private checkDeadline(): void {
    this.timer = undefined;
    const oldest = this.pending[0];
    if (this.dead || oldest === undefined) return;
    const left = oldest.deadline - this.clock.now();
    if (left > 0) {
      this.timer = this.clock.after(left, () => this.checkDeadline());
      return;
    }
    this.fail(
      Object.assign(new Error(`no acknowledgement from the leader within ${this.timeoutMs} ms`), {
        code: Status.DEADLINE_EXCEEDED,
      }),
    );
  }

  fail(err: Error): void {
    if (this.dead) return;
    this.dead = true;
    this.timer?.cancel();
    this.timer = undefined;
    for (const [i, p] of this.pending.splice(0).entries()) p.reject(forwardOutcome(err, i));
    this.call.cancel();
  }
}

/** Sends Produce to the current leader over one ordered stream per leader address. */
export class LeaderForwarder {
  private target: { addr: string; client: LeaderChannel; stream: ForwardStream | undefined } | undefined;

  /**
   * `timeoutMs`: how long a forwarded record may wait for the leader's acknowledgement
   * (default 10 s), measured on `clock` (default real time; tests pass a manual one).
   * `dial` opens the channel to a leader (default a gRPC client with `credentials`).
   */
  constructor(
    credentials: ChannelCredentials,
    private readonly timeoutMs = FORWARD_TIMEOUT_MS,
    private readonly clock: ShellClock = realClock,
    private readonly dial: LeaderDialer = grpcLeaderDialer(credentials),
  ) {}

  /**
   * Produces `value` at the leader at `addr`; resolves with its offset. Calls made in some
   * order to the same leader are appended in that order. `producer` (an idempotent
   * producer's id and sequence) is forwarded with the record.
   * @throws the leader's gRPC error (ServiceError) or a stream failure.
   */
  produce(addr: string, value: Uint8Array, producer?: ProducerRef): Promise<number> {
    return this.streamTo(addr).send(value, producer);
  }

  /**
   * Produces `values` at the leader at `addr` as ONE batched request on the same ordered
   * stream (the leader proposes it as one proposal); resolves with their offsets. Failures
   * mean what they mean for one record (the file comment), for the batch as a whole.
   */
  produceBatch(addr: string, values: readonly Uint8Array[], producer?: ProducerRef): Promise<readonly number[]> {
    return this.streamTo(addr).sendBatch(values, producer);
  }

  private streamTo(addr: string): ForwardStream {
    const t = this.channelTo(addr);
    if (t.stream === undefined || t.stream.dead) t.stream = new ForwardStream(t.client, this.timeoutMs, this.clock);
    return t.stream;
  }

  /** The channel to `addr`, dialed now when the current one goes elsewhere (which is closed). */
  private channelTo(addr: string): { addr: string; client: LeaderChannel; stream: ForwardStream | undefined } {
    if (this.target?.addr !== addr) {
      this.close();
      this.target = { addr, client: this.dial(addr), stream: undefined };
    }
    return this.target;
  }

  /**
   * This node now follows the leader at `addr` (undefined: none, an election is under way,
   * or this node leads). Records in flight to another address fail now, as indeterminate
   * (that leader may have appended them), instead of waiting up to 10 s for a leader that
   * is gone or frozen: an idempotent client retries them at once (the cluster deduplicates),
   * a plain one gets ABORTED as it would after the timeout. A new leader is dialed at once
   * ({@link LeaderChannel.connect}): the produces held for it (raft-backend.ts) and the next
   * ones do not wait for a handshake.
   */
  leaderChanged(addr: string | undefined): void {
    if (addr === undefined) {
      this.close();
      return;
    }
    this.channelTo(addr).client.connect?.();
  }

  /** Fails what is in flight and closes the channel. */
  close(): void {
    this.target?.stream?.fail(new Error('forwarding stopped'));
    this.target?.client.close();
    this.target = undefined;
  }
}

/** One line describing a failed forward ("UNAVAILABLE: ..."), for the error sent back to the client. */
export function describeForwardError(err: unknown): string {
  const e = err as Partial<ServiceError>;
  if (typeof e.code === 'number')
    return `${(Status as unknown as Record<number, string>)[e.code] ?? e.code}: ${e.details ?? e.message ?? ''}`;
  return (err as Error).message;
}
