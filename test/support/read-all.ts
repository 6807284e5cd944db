/**
 * Reads one member's whole log directly, for the end-of-run checks of the chaos tier
 * (test/chaos/run.ts) and the workload program (test/workload/workload.ts): Consume from
 * offset 0 upwards until the member answers OUT_OF_RANGE.
 */
import {
  Metadata,
  status as Status,
  type ChannelCredentials,
  type ChannelOptions,
  type ServiceError,
} from '@grpc/grpc-js';
import { LogClient, type ConsumeResponse } from '../../node/src/gen/v1/log.js';

/**
 * Every record value of the member at `addr` (UTF-8), by offset, read until OUT_OF_RANGE;
 * each call has a 10 s deadline.
 * @throws the gRPC error of a failed call, or an Error when the member answers another
 *   offset than the one asked for (its log would not be dense).
 */
export async function readAll(
  addr: string,
  creds: ChannelCredentials,
  options: ChannelOptions = {},
): Promise<string[]> {
  const c = new LogClient(addr, creds, options);
  const values: string[] = [];
  try {
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
