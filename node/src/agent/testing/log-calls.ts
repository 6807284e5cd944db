/**
 * Calls on an agent's Log service as promises, for the agent tests: one unary wrapper and the
 * reads the tests check the log with.
 */
import type { ServiceError } from '@grpc/grpc-js';
import type { ConsumeResponse, LogClient } from '../../gen/v1/log.js';

/** A unary call of a generated gRPC client, as a promise: `unary((cb) => c.getServers({}, cb))`. */
export function unary<T>(fn: (cb: (err: ServiceError | null, res: T) => void) => unknown): Promise<T> {
  return new Promise((resolve, reject) => fn((err, res) => (err ? reject(err) : resolve(res))));
}

/** The value of the record at `offset` ('' for a record without one); rejects with the call's error. */
export async function consumeValue(c: LogClient, offset: number): Promise<string> {
  const r = await unary<ConsumeResponse>((cb) => c.consume({ offset }, cb));
  return r.record?.value.toString() ?? '';
}

/** The values of the records at offsets 0 to `end` - 1, in order, read one at a time. */
export async function consumeValues(c: LogClient, end: number): Promise<string[]> {
  const out: string[] = [];
  for (let o = 0; o < end; o++) out.push(await consumeValue(c, o));
  return out;
}
