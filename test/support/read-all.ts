/**
 * Reads one member's whole log directly, for the end-of-run checks of the chaos tier
 * (test/chaos/run.ts) and the workload program (test/workload/workload.ts): Consume from
 * offset 0 upwards until the member answers OUT_OF_RANGE; optionally a known prefix first
 * through ConsumeStream in batches (one Consume per record took 51 s for three logs of 19,379
 * records at load 11, and 3 min for 9,264 at load 25).
 */
import {
  Metadata,
  status as Status,
  type ChannelCredentials,
  type ChannelOptions,
  type ServiceError,
} from '@grpc/grpc-js';
import { recordsOf } from '../../node/src/client/consume-records.js';
import { LogClient, type ConsumeResponse } from '../../node/src/gen/v1/log.js';

/** Options of {@link readAll}. */
export interface ReadAllOptions {
  /**
   * Read the first `prefix` records (a count the member is expected to hold, e.g. the highest
   * acknowledged offset + 1) through one ConsumeStream in batches of 256 before going on one
   * Consume at a time. Default 0: Consume only.
   */
  readonly prefix?: number;
  /** How long that stream may take (it waits for records not there yet); default 60 s. */
  readonly prefixDeadlineMs?: number;
}

/**
 * Every record value of the member at `addr` (UTF-8), by offset, read until OUT_OF_RANGE;
 * each call has a 10 s deadline. With `o.prefix`, a stream reads first; it ends once `prefix`
 * records arrived, at its deadline, or on any gRPC error, and the read goes on one Consume at
 * a time from wherever it stopped — the result is the same either way.
 * @throws the gRPC error of a failed Consume, or an Error when the member answers another
 *   offset than the one asked for (its log would not be dense).
 */
export async function readAll(
  addr: string,
  creds: ChannelCredentials,
  options: ChannelOptions = {},
  o: ReadAllOptions = {},
): Promise<string[]> {
  const c = new LogClient(addr, creds, options);
  const values: string[] = [];
  try {
    if ((o.prefix ?? 0) > 0) await readPrefix(addr, c, o.prefix ?? 0, o.prefixDeadlineMs ?? 60_000, values);
    for (;;) {
      const res = await new Promise<ConsumeResponse | undefined>((resolve, reject) =>
        c.consume({ offset: values.length }, new Metadata(), { deadline: Date.now() + 10_000 }, (err, r) =>
          err === null
            ? resolve(r)
            : (err as ServiceError).code === Status.OUT_OF_RANGE
              ? resolve(undefined)
              : reject(err),
        ),
      );
      if (res === undefined) return values;
      if (res.record?.offset !== values.length)
        throw new Error(`${addr} answered offset ${String(res.record?.offset)} for ${values.length}`);
      values.push(Buffer.from(res.record.value).toString());
    }
  } finally {
    c.close();
  }
}

/** The member's log is not dense: it sent another offset than the next one. */
class GapError extends Error {}

/** Appends records from offset `values.length` through ConsumeStream until `count` are there. */
async function readPrefix(
  addr: string,
  c: LogClient,
  count: number,
  deadlineMs: number,
  values: string[],
): Promise<void> {
  const call = c.consumeStream({ offset: values.length, batchRecords: 256 }, new Metadata(), {
    deadline: Date.now() + deadlineMs,
  });
  call.on('error', () => undefined); // the CANCELLED of the cancel below is expected
  try {
    for await (const res of call as AsyncIterable<ConsumeResponse>) {
      for (const r of recordsOf(res)) {
        if (r.offset !== values.length) throw new GapError(`${addr} streamed offset ${r.offset} for ${values.length}`);
        values.push(Buffer.from(r.value).toString());
      }
      if (values.length >= count) break;
    }
  } catch (e) {
    if (e instanceof GapError) throw e;
    // A gRPC status (the deadline, a restart): the unary reads go on from here.
  } finally {
    call.cancel();
  }
}
