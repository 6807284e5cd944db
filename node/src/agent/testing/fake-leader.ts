/**
 * In-process leaders for the forwarder (forwarder.ts) on virtual time (issue 13 item 3): a
 * {@link LeaderDialer} whose channels open {@link FakeProduceCall}s that the test answers by
 * hand — acknowledge the oldest request, end the call with a status, drop it. Nothing is
 * answered unless the test says so, so with a manual clock the test owns both the leader's
 * timing and the forwarder's deadlines. Events are delivered synchronously, as the last
 * thing the call does; a test then awaits the settled promise, never a delay.
 */
import { EventEmitter } from 'node:events';
import { Metadata, status as Status } from '@grpc/grpc-js';
import type { ProduceRequest, ProduceResponse } from '../../gen/v1/log.js';
import { ErrorMetadataKeys } from '../../server/errors.js';
import type { LeaderChannel, LeaderDialer, ProduceCall } from '../forwarder.js';

/** One ProduceStream call as the leader's side of the test sees it. */
export class FakeProduceCall extends EventEmitter implements ProduceCall {
  /** Every request the forwarder wrote, in order. */
  readonly requests: ProduceRequest[] = [];
  /** Requests acknowledged so far (a prefix of {@link requests}). */
  acked = 0;
  cancelled = false;
  private ended = false;

  constructor(readonly addr: string) {
    super();
  }

  write(req: ProduceRequest): boolean {
    if (this.ended) throw new Error(`a write on a finished call to ${this.addr}`);
    this.requests.push(req);
    return true;
  }

  /** As grpc-js does: a cancelled call reports CANCELLED once. */
  cancel(): void {
    this.cancelled = true;
    this.finish('error', Object.assign(new Error('1 CANCELLED: Cancelled on client'), { code: Status.CANCELLED }));
  }

  /** Requests written and not acknowledged yet. */
  get inFlight(): number {
    return this.requests.length - this.acked;
  }

  /** Acknowledges the oldest unacknowledged request: a record at `offset`. */
  ack(offset: number): void {
    this.answer({ offset });
  }

  /** Acknowledges the oldest unacknowledged request, a batch, with `offsets`. */
  ackBatch(offsets: readonly number[]): void {
    this.answer({ offset: offsets[0] ?? 0, batch: { offsets: [...offsets] } });
  }

  /** Sends an acknowledgement even if no request is in flight (a misbehaving leader). */
  answer(partial: Partial<ProduceResponse>): void {
    if (this.ended) throw new Error(`an acknowledgement on a finished call to ${this.addr}`);
    this.acked++;
    this.emit('data', { offset: 0, ...partial } as ProduceResponse);
  }

  /** The leader ends the call with its own status (`errorCode` in the error metadata, as server/errors.ts sends it). */
  endWith(code: Status, errorCode: string): void {
    const metadata = new Metadata();
    metadata.set(ErrorMetadataKeys.code, errorCode);
    this.finish(
      'error',
      Object.assign(new Error(`${code} ${errorCode}`), { code, details: `the leader: ${errorCode}`, metadata }),
    );
  }

  /** The connection drops (no status of the leader's own). */
  drop(): void {
    this.finish(
      'error',
      Object.assign(new Error('14 UNAVAILABLE: Connection dropped'), {
        code: Status.UNAVAILABLE,
        details: 'Connection dropped',
        metadata: new Metadata(),
      }),
    );
  }

  /** The leader is down: the connection is refused and nothing was sent (grpc-js's words for it). */
  refuse(): void {
    this.finish(
      'error',
      Object.assign(new Error('14 UNAVAILABLE: No connection established. Last error: connect ECONNREFUSED'), {
        code: Status.UNAVAILABLE,
        details: 'No connection established. Last error: connect ECONNREFUSED',
        metadata: new Metadata(),
      }),
    );
  }

  /** The leader ends the call cleanly (no status), with requests maybe still unanswered. */
  end(): void {
    this.finish('end');
  }

  private finish(event: 'error' | 'end', err?: Error): void {
    if (this.ended) return;
    this.ended = true;
    if (event === 'error') this.emit(event, err);
    else this.emit(event);
  }
}

/** Leaders by address: the dialer to give the forwarder and every call it opened. */
export class FakeLeaders {
  /** Every call opened, in order, over every address. */
  readonly calls: FakeProduceCall[] = [];
  /** Addresses whose channel was closed, in order. */
  readonly closed: string[] = [];
  /** Addresses dialed, in order. */
  readonly dialed: string[] = [];
  /** Addresses whose channel was asked to connect ahead of any call, in order. */
  readonly connected: string[] = [];

  /** The {@link LeaderDialer} to pass to `LeaderForwarder`. */
  readonly dial: LeaderDialer = (addr: string): LeaderChannel => {
    this.dialed.push(addr);
    return {
      produceStream: () => {
        const call = new FakeProduceCall(addr);
        this.calls.push(call);
        return call;
      },
      close: () => void this.closed.push(addr),
      connect: () => void this.connected.push(addr),
    };
  };

  /** The newest call opened (to `addr`, if given); throws if there is none. */
  last(addr?: string): FakeProduceCall {
    const calls = addr === undefined ? this.calls : this.calls.filter((c) => c.addr === addr);
    const c = calls[calls.length - 1];
    if (c === undefined) throw new Error(`no call opened${addr === undefined ? '' : ` to ${addr}`}`);
    return c;
  }
}
