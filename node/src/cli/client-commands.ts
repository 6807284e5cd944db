/**
 * Client commands: `produce`, `consume [--follow]` and `servers`. Output is one line per
 * record so they compose in shell pipelines: `<offset><TAB><value>`, or JSON lines with
 * --json; values are written and read in `--encoding` utf8 (default), base64 or hex (binary
 * values round-trip exactly with the last two). Errors print the gRPC status name and
 * message to stderr and exit non-zero.
 */
import { createInterface } from 'node:readline';
import { status as Status, type ServiceError } from '@grpc/grpc-js';
import { LogClient, type ConsumeResponse, type GetServersResponse, type ProduceResponse } from '../gen/v1/log.js';
import { recordsOf } from '../client/consume-records.js';
import { ErrorMetadataKeys, statusName } from '../server/errors.js';
import { connection, type ClientFlags } from './client-options.js';
import { decodeValue, encodeValue, type Encoding } from './encoding.js';

/** Options of the commands that read or write values. */
export interface ValueFlags {
  /** How values are written on the command line / printed (default utf8). */
  readonly encoding?: Encoding;
  /** JSON lines instead of tab-separated text. */
  readonly json?: boolean;
}

/** The role of a server as every command prints it: leader, voter (a following voter) or learner. */
export function roleName(s: { readonly isLeader: boolean; readonly isVoter: boolean }): 'leader' | 'voter' | 'learner' {
  return s.isLeader ? 'leader' : s.isVoter ? 'voter' : 'learner';
}

function client(flags: ClientFlags): LogClient {
  const c = connection(flags);
  return new LogClient(c.address, c.creds, c.options);
}

/** Turns a gRPC error into a one-line message. */
export function describeError(err: unknown): string {
  const e = err as Partial<ServiceError>;
  if (typeof e.code === 'number') return `${statusName(e.code)}: ${e.details ?? ''}`;
  return (err as Error).message ?? String(err);
}

/** `produce`: values from the arguments, or one per line from stdin; prints each offset. */
export async function produce(
  values: readonly string[],
  flags: ClientFlags & ValueFlags,
  out: NodeJS.WritableStream = process.stdout,
): Promise<void> {
  const encoding = flags.encoding ?? 'utf8';
  // Every argument is checked before anything is sent: a typo appends nothing.
  const given = values.map((v) => decodeValue(v, encoding));
  const c = client(flags);
  try {
    const stream = c.produceStream();
    let failure: unknown;
    const done = new Promise<void>((resolve) => {
      stream.on('data', (r: ProduceResponse) =>
        out.write(flags.json ? `${JSON.stringify({ offset: r.offset })}\n` : `${r.offset}\n`),
      );
      stream.on('end', resolve);
      stream.on('error', (err) => {
        failure = err;
        resolve();
      });
    });
    const send = async (value: Buffer): Promise<void> => {
      if (!stream.write({ record: { value, offset: 0, term: 0, type: 0 } }))
        await new Promise((r) => stream.once('drain', r));
    };
    try {
      if (given.length > 0) for (const v of given) await send(v);
      else
        for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity }))
          await send(decodeValue(line, encoding));
    } finally {
      stream.end();
    }
    await done;
    if (failure) throw failure;
  } finally {
    c.close();
  }
}

function unary<T>(fn: (cb: (err: ServiceError | null, res: T) => void) => unknown): Promise<T> {
  return new Promise((resolve, reject) => fn((err, res) => (err ? reject(err) : resolve(res))));
}

/** The log's next offset, from the OUT_OF_RANGE answer to a read past any end. */
async function nextOffset(c: LogClient): Promise<number> {
  try {
    await unary<ConsumeResponse>((cb) => c.consume({ offset: Number.MAX_SAFE_INTEGER }, cb));
  } catch (err) {
    const e = err as ServiceError;
    const next = e.code === Status.OUT_OF_RANGE ? e.metadata?.get(ErrorMetadataKeys.nextOffset)[0] : undefined;
    if (next !== undefined) return Number(next);
    throw err;
  }
  throw new Error('the server returned a record at the maximum offset');
}

/** Records per ConsumeStream message the CLI asks for (the server caps it at its own limit). */
const CONSUME_BATCH_RECORDS = 256;

/**
 * `consume`: prints records from `offset` to the current end (or, with `follow`, keeps
 * tailing until interrupted); `max` stops after that many records.
 */
export async function consume(
  flags: ClientFlags & ValueFlags & { offset: number; follow?: boolean; max?: number },
  out: NodeJS.WritableStream = process.stdout,
): Promise<void> {
  const encoding = flags.encoding ?? 'utf8';
  const c = client(flags);
  try {
    const end = flags.follow ? Infinity : await nextOffset(c);
    const max = flags.max ?? Infinity;
    // Past the end is the server's OUT_OF_RANGE (with the bounds), as for any read; exactly
    // at the end is an empty result.
    if (flags.offset > end) await unary<ConsumeResponse>((cb) => c.consume({ offset: flags.offset }, cb));
    if (flags.offset >= end || max <= 0) return;
    // Batches (issue 15): up to CONSUME_BATCH_RECORDS records per message; a server from
    // before batches ignores the field and sends one record per message, read the same way.
    const stream = c.consumeStream({ offset: flags.offset, batchRecords: CONSUME_BATCH_RECORDS });
    let n = 0;
    let done = false;
    const stop = (): void => stream.cancel();
    process.once('SIGINT', stop);
    await new Promise<void>((resolve, reject) => {
      stream.on('data', (r: ConsumeResponse) => {
        for (const rec of recordsOf(r)) {
          if (done) break;
          const value = encodeValue(rec.value, encoding);
          const line = flags.json ? JSON.stringify({ offset: rec.offset, value }) : `${rec.offset}\t${value}`;
          out.write(`${line}\n`);
          n++;
          done = rec.offset + 1 >= end || n >= max;
        }
        if (done) stream.cancel();
      });
      stream.on('error', (err: ServiceError) => (err.code === Status.CANCELLED ? resolve() : reject(err)));
      stream.on('end', resolve);
    });
    process.off('SIGINT', stop);
  } finally {
    c.close();
  }
}

/** `servers`: lists GetServers. */
export async function servers(
  flags: ClientFlags & { json?: boolean },
  out: NodeJS.WritableStream = process.stdout,
): Promise<void> {
  const c = client(flags);
  try {
    const res = await unary<GetServersResponse>((cb) => c.getServers({}, cb));
    for (const s of res.servers) {
      out.write(
        flags.json
          ? `${JSON.stringify(s)}\n`
          : `${s.id}\t${s.rpcAddr}\t${roleName(s)}${s.externalRpcAddr ? `\t${s.externalRpcAddr}` : ''}\n`,
      );
    }
  } finally {
    c.close();
  }
}
