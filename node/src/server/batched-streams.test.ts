/**
 * The opt-in batched streams (issue 15): ConsumeRequest.batch_records → ConsumeResponse.batch,
 * ProduceRequest.batch → one ProduceResponse with every offset. What a book client sends
 * (no new field) is answered exactly as before: one record per message. Bad batches are
 * refused whole with a clear INVALID_ARGUMENT and nothing of them is appended. Bounds are
 * asserted on the server's own counters, never on timings.
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { Client, status as Status, type ServiceError } from '@grpc/grpc-js';
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import {
  ConsumeRequest,
  ConsumeResponse,
  type ProduceRequest,
  type ProduceResponse,
  type Record as PbRecord,
} from '../gen/v1/log.js';
import type { LogBackend, ProducerRef } from './backend.js';
import { ErrorMetadataKeys } from './errors.js';
import { nthProducer } from './records.js';
import {
  call,
  clients,
  closeAll,
  createTestPki,
  credsFor,
  isolatedClient,
  startTestServer,
  tempLocalBackend,
  until,
  type TestPki,
  type TestServer,
} from './testing/fixtures.js';

const LIMIT = 2048;
const IN_FLIGHT = 128;
const BATCH_MAX = 50;
const CONSUME_BATCH = 64;
const CONSUME_BYTES = 16 * 1024;
const WINDOW_BATCHES = 4;
const config = {
  maxInFlightPerStream: IN_FLIGHT,
  produceBatchMaxRecords: BATCH_MAX,
  consumeBatchRecords: CONSUME_BATCH,
  consumeBatchBytes: CONSUME_BYTES,
  streamWindowMessages: 32,
  streamWindowBatches: WINDOW_BATCHES,
};

const pb = (value: Buffer): PbRecord => ({ value, offset: 0, term: 0, type: 0 });
const batchOf = (values: readonly Buffer[]): ProduceRequest => ({ batch: { records: values.map(pb) } });
const values = (n: number, from = 0, bytes = 8): Buffer[] =>
  Array.from({ length: n }, (_, i) => Buffer.alloc(bytes, (from + i) % 251));

/** Writes `requests` on one ProduceStream; resolves with the acknowledgements and how it ended. */
async function produceAll(
  log: ReturnType<typeof clients>['log'],
  requests: readonly ProduceRequest[],
): Promise<{ acks: ProduceResponse[]; error: ServiceError | undefined }> {
  const stream = log.produceStream();
  const acks: ProduceResponse[] = [];
  const ended = new Promise<ServiceError | undefined>((resolve) => {
    stream.on('data', (r: ProduceResponse) => acks.push(r));
    stream.on('end', () => resolve(undefined));
    stream.on('error', (e: ServiceError) => resolve(e));
  });
  for (const r of requests) stream.write(r);
  stream.end();
  return { acks, error: await ended };
}

/** Every message of a ConsumeStream from `offset` until `records` records arrived. */
async function consumeMessages(
  log: ReturnType<typeof clients>['log'],
  req: ConsumeRequest,
  records: number,
): Promise<ConsumeResponse[]> {
  const stream = log.consumeStream(req);
  const out: ConsumeResponse[] = [];
  let n = 0;
  await new Promise<void>((resolve, reject) => {
    stream.on('data', (r: ConsumeResponse) => {
      out.push(r);
      n += r.batch ? r.batch.records.length : 1;
      if (n >= records) {
        stream.cancel();
        resolve();
      }
    });
    stream.on('error', (e: ServiceError) => (e.code === Status.CANCELLED ? resolve() : reject(e)));
  });
  return out;
}

describe('server batched streams (opt-in batches on ConsumeStream and ProduceStream)', function () {
  this.timeout(30_000);
  let pki: TestPki;
  let srv: TestServer;
  let cleanupLog: () => Promise<void>;
  let root: ReturnType<typeof clients>;
  const next = async (): Promise<number> => {
    const err = await call((cb) => root.log.consume({ offset: Number.MAX_SAFE_INTEGER }, cb)).catch(
      (e: unknown) => e as ServiceError,
    );
    return Number((err as ServiceError).metadata.get(ErrorMetadataKeys.nextOffset)[0]);
  };

  before(async () => {
    pki = await createTestPki();
  });
  after(() => pki.cleanup());
  beforeEach(async () => {
    const local = await tempLocalBackend({ maxRecordBytes: LIMIT });
    cleanupLog = local.cleanup;
    srv = await startTestServer(pki, local.backend, { config });
    root = clients(srv.address, credsFor(pki, pki.root));
  });
  afterEach(async () => {
    closeAll(root.log, root.admin, root.health);
    await srv.stop();
    await cleanupLog();
  });

  it("a book client's ConsumeStream (field 1 only) gets one record per message in field 2, never a batch", async () => {
    const produced = await produceAll(
      root.log,
      values(200).map((v) => ({ record: pb(v) })),
    );
    assert.equal(produced.error, undefined);
    // The request bytes a client generated from the book's proto sends: the offset alone.
    const req = Buffer.from(new BinaryWriter().uint32(8).uint64(0).finish());
    const generic = new Client(srv.address, credsFor(pki, pki.root), isolatedClient);
    const raw: Buffer[] = [];
    try {
      const stream = generic.makeServerStreamRequest(
        '/log.v1.Log/ConsumeStream',
        (b: Buffer) => b,
        (b: Buffer) => b,
        req,
      );
      await new Promise<void>((resolve, reject) => {
        stream.on('data', (b: Buffer) => {
          raw.push(b);
          if (raw.length === 200) {
            stream.cancel();
            resolve();
          }
        });
        stream.on('error', (e: ServiceError) => (e.code === Status.CANCELLED ? resolve() : reject(e)));
      });
    } finally {
      generic.close();
    }
    raw.forEach((b, i) => {
      assert.equal(b[0], 0x12, `message ${i} starts with field 2 (record), length-delimited`);
      const m = ConsumeResponse.decode(b);
      assert.equal(m.batch, undefined, `message ${i} has no batch`);
      assert.equal(m.record?.offset, i);
    });
    assert.equal(srv.server.streamStats.maxConsumeBatchRecords, 0, 'no batch was ever sent');
  });

  it('batch_records N: each message carries 1..min(N, consumeBatchRecords) consecutive records, all of them in order', async () => {
    const N = 1000;
    await produceAll(
      root.log,
      Array.from({ length: N / 50 }, (_, i) => batchOf(values(50, i * 50))),
    );
    for (const asked of [10, 1_000_000]) {
      const msgs = await consumeMessages(root.log, { offset: 0, batchRecords: asked }, N);
      const cap = Math.min(asked, CONSUME_BATCH);
      const offsets: number[] = [];
      for (const m of msgs) {
        assert.equal(m.record, undefined, 'a batched message leaves record unset');
        const rs = m.batch?.records ?? [];
        assert.ok(rs.length >= 1 && rs.length <= cap, `batch of ${rs.length}, asked ${asked}, cap ${cap}`);
        offsets.push(...rs.map((r) => r.offset));
      }
      assert.deepEqual(
        offsets.slice(0, N),
        Array.from({ length: N }, (_, i) => i),
        `asked ${asked}`,
      );
      assert.ok(msgs.length < N / 5, `asked ${asked}: ${msgs.length} messages carried ${N} records`);
      const first = msgs[0]?.batch?.records[0];
      assert.deepEqual(first?.value, values(1)[0], 'values arrive intact');
    }
  });

  it('a batch stays within consumeBatchBytes; a record larger than that arrives alone', async () => {
    const big = values(40, 0, LIMIT); // 2 KiB records: at most 7 fit the 16 KiB batch
    await produceAll(root.log, [batchOf(big)]);
    const msgs = await consumeMessages(root.log, { offset: 0, batchRecords: 64 }, big.length);
    let n = 0;
    for (const m of msgs) {
      const rs = m.batch?.records ?? [];
      const bytes = rs.reduce((s, r) => s + r.value.length, 0);
      assert.ok(bytes <= CONSUME_BYTES, `batch of ${rs.length} records, ${bytes} value bytes`);
      n += rs.length;
    }
    assert.equal(n >= big.length, true);
  });

  it('ProduceStream: a batch is acknowledged by one response with every offset, in order, between single records', async () => {
    const { acks, error } = await produceAll(root.log, [
      { record: pb(Buffer.from('single')) },
      batchOf(values(BATCH_MAX)),
      { record: pb(Buffer.from('single again')) },
      batchOf(values(3)),
    ]);
    assert.equal(error, undefined);
    assert.equal(acks.length, 4, 'one response per request');
    assert.deepEqual(
      acks.map((a) => [a.offset, a.batch?.offsets]),
      [
        [0, undefined],
        [1, Array.from({ length: BATCH_MAX }, (_, i) => 1 + i)],
        [BATCH_MAX + 1, undefined],
        [BATCH_MAX + 2, [BATCH_MAX + 2, BATCH_MAX + 3, BATCH_MAX + 4]],
      ],
    );
    const back = await call<ConsumeResponse>((cb) => root.log.consume({ offset: 5 }, cb));
    assert.deepEqual(back.record?.value, values(BATCH_MAX)[4]);
    assert.equal(srv.server.streamStats.produceBatches, 2);
  });

  const badRequests: [string, ProduceRequest, RegExp][] = [
    ['an empty batch', batchOf([]), /batch is empty/],
    [
      `a batch over produceBatchMaxRecords (${BATCH_MAX + 1})`,
      batchOf(values(BATCH_MAX + 1)),
      /51 records, at most 50/,
    ],
    ['a batch with one record over the size limit', batchOf([...values(5), Buffer.alloc(LIMIT + 1)]), /exceeds/],
    [
      'a request with both record and batch',
      { record: pb(Buffer.from('x')), batch: { records: [pb(Buffer.from('y'))] } },
      /both/,
    ],
  ];
  for (const [what, bad, reason] of badRequests) {
    it(`ProduceStream: ${what} is INVALID_ARGUMENT; earlier requests are acknowledged, nothing of it or after it is appended`, async () => {
      const { acks, error } = await produceAll(root.log, [batchOf(values(10)), bad, batchOf(values(10))]);
      assert.equal(error?.code, Status.INVALID_ARGUMENT, error?.details);
      assert.match(error?.details ?? '', reason);
      assert.deepEqual(
        acks.map((a) => a.batch?.offsets.length),
        [10],
        'the batch before it is acknowledged',
      );
      assert.equal(await next(), 10, 'nothing of the refused request or after it was appended');
    });
  }

  it('unary Produce refuses a batch with INVALID_ARGUMENT and appends nothing', async () => {
    const err = await call((cb) => root.log.produce(batchOf(values(2)), cb)).catch((e: unknown) => e as ServiceError);
    assert.equal((err as ServiceError).code, Status.INVALID_ARGUMENT);
    assert.match((err as ServiceError).details, /only accepted on ProduceStream/);
    assert.equal(await next(), 0);
  });

  it('batches count toward the in-flight limit: a burst of batches pauses the stream, then all are acknowledged in order', async () => {
    const local = await tempLocalBackend({ maxRecordBytes: LIMIT });
    const b = local.backend;
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const producers: (ProducerRef | undefined)[] = [];
    let batchCalls = 0;
    const gated: LogBackend = {
      get maxRecordBytes() {
        return b.maxRecordBytes;
      },
      produce: async (v, producer) => {
        producers.push(producer);
        await gate;
        return b.produce(v);
      },
      produceBatch: async (vs, producer) => {
        vs.forEach((_, i) => producers.push(nthProducer(producer, i)));
        batchCalls++;
        await gate;
        return b.produceBatch(vs);
      },
      read: (o) => b.read(o),
      readRange: (f, o) => b.readRange(f, o),
      bounds: () => b.bounds(),
      waitFor: (o, sig) => b.waitFor(o, sig),
      servers: () => b.servers(),
      stats: () => b.stats(),
      notReadyReason: () => b.notReadyReason(),
    };
    const held = await startTestServer(pki, gated, { config });
    const c = clients(held.address, credsFor(pki, pki.root));
    try {
      const BATCHES = 200;
      const id = Buffer.alloc(16, 9);
      const stream = c.log.produceStream();
      const acks: ProduceResponse[] = [];
      const done = new Promise<void>((resolve, reject) => {
        stream.on('data', (r: ProduceResponse) => acks.push(r));
        stream.on('end', resolve);
        stream.on('error', reject);
      });
      for (let i = 0; i < BATCHES; i++)
        stream.write({ ...batchOf(values(BATCH_MAX, i)), producerId: id, sequence: 1000 + i * BATCH_MAX });
      stream.end();
      await until(
        () => held.server.streamStats.producePauses > 0,
        'the server to pause reading at the in-flight limit',
      );
      assert.equal(acks.length, 0, 'nothing is acknowledged before it is durable');
      const stats = held.server.streamStats;
      const bound = IN_FLIGHT + BATCH_MAX - 1;
      assert.ok(stats.maxProduceInFlight <= bound, `records pending ${stats.maxProduceInFlight} <= ${bound}`);
      release();
      await done;
      assert.equal(acks.length, BATCHES);
      const offsets = acks.flatMap((a) => a.batch?.offsets ?? []);
      assert.ok(
        offsets.every((o, i) => o === i),
        `offsets 0..${BATCHES * BATCH_MAX - 1} in order`,
      );
      assert.ok(stats.maxProduceInFlight <= bound, `records pending ${stats.maxProduceInFlight} <= ${bound}`);
      assert.deepEqual(
        producers.map((p) => p?.seq),
        Array.from({ length: BATCHES * BATCH_MAX }, (_, i) => 1000 + i),
        'the i-th record of a batch carries the producer sequence + i',
      );
      assert.equal(batchCalls, BATCHES, 'each batch reaches the backend as one produceBatch call');
    } finally {
      release();
      closeAll(c.log, c.admin, c.health);
      await held.stop();
      await local.cleanup();
    }
  });

  it('a batched consumer that stops reading holds at most streamWindowBatches batches, then gets every record', async () => {
    const N = 5000;
    const session = http2.connect(`https://localhost:${srv.port}`, {
      ca: pki.ca.certPem,
      cert: pki.root.certPem,
      key: pki.root.keyPem,
      host: '127.0.0.1',
      servername: 'localhost',
    } as http2.SecureClientSessionOptions);
    session.on('error', () => {});
    const req = session.request({
      ':method': 'POST',
      ':path': '/log.v1.Log/ConsumeStream',
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    req.on('error', () => {});
    const body = ConsumeRequest.encode({ offset: 0, batchRecords: CONSUME_BATCH }).finish();
    const head = Buffer.alloc(5);
    head.writeUInt32BE(body.length, 1);
    req.end(Buffer.concat([head, body]));
    req.pause(); // the consumer stops reading

    await produceAll(
      root.log,
      Array.from({ length: N / BATCH_MAX }, (_, i) => batchOf(values(BATCH_MAX, i, 1000))),
    );
    // Let the consume loop run until it blocks on back-pressure: no new record read for
    // 300 ms (the wait only ends the settling; the assertions below are on counts).
    let last = -1;
    let since = Date.now();
    await until(
      () => {
        const now = srv.server.streamStats.consumeRecordsRead;
        if (now !== last) {
          last = now;
          since = Date.now();
        }
        return Date.now() - since >= 300;
      },
      'the consume loop to stop reading',
      15_000,
    );
    const stats = { ...srv.server.streamStats };
    assert.ok(
      stats.maxConsumeBuffered <= WINDOW_BATCHES,
      `at most streamWindowBatches (${WINDOW_BATCHES}) in flight, saw ${stats.maxConsumeBuffered}`,
    );
    assert.ok(stats.consumeRecordsRead < N / 2, `server read ${stats.consumeRecordsRead} of ${N} records`);

    const offsets: number[] = [];
    let pending = Buffer.alloc(0);
    req.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 5 && pending.length >= 5 + pending.readUInt32BE(1)) {
        const len = pending.readUInt32BE(1);
        const m = ConsumeResponse.decode(pending.subarray(5, 5 + len));
        offsets.push(...(m.batch?.records ?? []).map((r) => r.offset));
        pending = pending.subarray(5 + len);
      }
    });
    req.resume();
    await until(() => offsets.length === N, 'all records after resuming', 15_000);
    assert.ok(offsets.every((o, i) => o === i));
    req.close();
    session.close();
  });
});
