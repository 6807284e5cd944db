/**
 * Bad input: oversized and empty records, huge bursts on ProduceStream, a consumer that
 * stops reading while thousands of records arrive, and malformed bytes on the port.
 * Bounds are asserted on the server's own counters (queue lengths, records read), never
 * on timings.
 */
import assert from 'node:assert/strict';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { once } from 'node:events';
import { Client, status as Status, type ServiceError } from '@grpc/grpc-js';
import http2 from 'node:http2';
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { ConsumeRequest, ConsumeResponse, type ProduceResponse } from '../gen/v1/log.js';
import { ErrorMetadataKeys } from './errors.js';
import type { LogBackend } from './backend.js';
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

const LIMIT = 1024;
const IN_FLIGHT = 128;
const WINDOW = 32;
/** A gRPC length-prefixed message (uncompressed). */
function grpcFrame(payload: Uint8Array): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
}

const rec = (value: Buffer) => ({ record: { value, offset: 0, term: 0, type: 0 } });

describe('server bad input', function () {
  this.timeout(30_000);
  let pki: TestPki;
  let srv: TestServer;
  let cleanupLog: () => Promise<void>;
  let root: ReturnType<typeof clients>;

  before(async () => {
    pki = await createTestPki();
  });
  after(() => pki.cleanup());
  beforeEach(async () => {
    const local = await tempLocalBackend({ maxRecordBytes: LIMIT });
    cleanupLog = local.cleanup;
    srv = await startTestServer(pki, local.backend, {
      config: { maxInFlightPerStream: IN_FLIGHT, consumeBatchRecords: 64, streamWindowMessages: WINDOW },
    });
    root = clients(srv.address, credsFor(pki, pki.root));
  });
  afterEach(async () => {
    closeAll(root.log, root.admin, root.health);
    await srv.stop();
    await cleanupLog();
  });

  it('an oversized record is INVALID_ARGUMENT with its size and the limit, and nothing is written', async () => {
    const err = await call((cb) => root.log.produce(rec(Buffer.alloc(LIMIT + 1)), cb)).catch(
      (e: unknown) => e as ServiceError,
    );
    assert.equal((err as ServiceError).code, Status.INVALID_ARGUMENT);
    assert.equal((err as ServiceError).metadata.get(ErrorMetadataKeys.size)[0], String(LIMIT + 1));
    assert.equal((err as ServiceError).metadata.get(ErrorMetadataKeys.limit)[0], String(LIMIT));
    const ok = await call<ProduceResponse>((cb) => root.log.produce(rec(Buffer.alloc(LIMIT)), cb));
    assert.equal(ok.offset, 0, 'the rejected record took no offset');
  });

  it('a request without a record is INVALID_ARGUMENT; an empty value is a valid empty record', async () => {
    const err = await call((cb) => root.log.produce({}, cb)).catch((e: unknown) => e as ServiceError);
    assert.equal((err as ServiceError).code, Status.INVALID_ARGUMENT);
    assert.match((err as ServiceError).details, /record is required/);
    const ok = await call<ProduceResponse>((cb) => root.log.produce(rec(Buffer.alloc(0)), cb));
    const back = await call<ConsumeResponse>((cb) => root.log.consume({ offset: ok.offset }, cb));
    assert.equal(back.record?.value.length, 0);
  });

  it('an oversized record in a ProduceStream: earlier records are acknowledged, later ones are not written', async () => {
    const stream = root.log.produceStream();
    const acks: number[] = [];
    stream.on('data', (r: ProduceResponse) => acks.push(r.offset));
    const ended = new Promise<ServiceError>((resolve) => stream.on('error', resolve));
    stream.write(rec(Buffer.from('a')));
    stream.write(rec(Buffer.from('b')));
    stream.write(rec(Buffer.alloc(LIMIT + 1)));
    stream.write(rec(Buffer.from('never')));
    stream.end();
    assert.equal((await ended).code, Status.INVALID_ARGUMENT);
    assert.deepEqual(acks, [0, 1]);
    assert.equal(srv.server.streamStats.maxProduceInFlight <= IN_FLIGHT, true);
    const err = await call((cb) => root.log.consume({ offset: 2 }, cb)).catch((e: unknown) => e as ServiceError);
    assert.equal((err as ServiceError).code, Status.OUT_OF_RANGE, 'the record after the rejected one was not appended');
  });

  it('a huge burst on ProduceStream is acknowledged completely and in order, with bounded records in flight', async () => {
    // Appends are held behind a gate until the server has paused reading once, so the pause
    // at the in-flight limit is observed whatever the speed of fsync on this machine.
    const local = await tempLocalBackend({ maxRecordBytes: LIMIT });
    const b = local.backend;
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const gated: LogBackend = {
      get maxRecordBytes() {
        return b.maxRecordBytes;
      },
      produce: async (v) => {
        await gate;
        return b.produce(v);
      },
      produceBatch: async (vs) => {
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
    const held = await startTestServer(pki, gated, {
      config: { maxInFlightPerStream: IN_FLIGHT, consumeBatchRecords: 64, streamWindowMessages: WINDOW },
    });
    const c = clients(held.address, credsFor(pki, pki.root));
    try {
      const N = 5000;
      const stream = c.log.produceStream();
      const acks: number[] = [];
      const done = new Promise<void>((resolve, reject) => {
        stream.on('data', (r: ProduceResponse) => acks.push(r.offset));
        stream.on('end', resolve);
        stream.on('error', reject);
      });
      const value = Buffer.alloc(256, 7);
      for (let i = 0; i < N; i++) stream.write(rec(value)); // no waiting: the whole burst is queued client-side
      stream.end();
      await until(
        () => held.server.streamStats.producePauses > 0,
        'the server to pause reading at the in-flight limit',
      );
      assert.equal(acks.length, 0, 'nothing is acknowledged before it is durable');
      release();
      await done;
      assert.equal(acks.length, N);
      assert.ok(
        acks.every((o, i) => o === i),
        'acknowledgements are 0..N-1 in order',
      );
      const stats = held.server.streamStats;
      assert.ok(stats.maxProduceInFlight <= IN_FLIGHT, `in flight ${stats.maxProduceInFlight} <= ${IN_FLIGHT}`);
    } finally {
      release();
      closeAll(c.log, c.admin, c.health);
      await held.stop();
      await local.cleanup();
    }
  });

  it('a consumer that stops reading while thousands of records arrive holds a bounded buffer, then gets every record', async () => {
    // A raw HTTP/2 client, because it really stops reading when paused (HTTP/2 flow
    // control then stops the server). grpc-js's own client keeps draining the connection
    // into memory even when its stream is paused, which would hide the server's behaviour.
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
    req.end(grpcFrame(ConsumeRequest.encode({ offset: 0 }).finish()));
    req.pause(); // the consumer stops reading

    const producer = root.log.produceStream();
    const produced = new Promise<void>((resolve, reject) => {
      let n = 0;
      producer.on('data', () => ++n === N && resolve());
      producer.on('error', reject);
    });
    const value = Buffer.alloc(1000, 1);
    for (let i = 0; i < N; i++) producer.write(rec(value));
    producer.end();
    await produced;

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
      stats.consumeRecordsRead < N / 4,
      `server read ${stats.consumeRecordsRead} of ${N} records for a consumer that reads nothing`,
    );
    assert.ok(
      stats.maxConsumeBuffered <= WINDOW,
      `at most the stream window (${WINDOW}) in flight, saw ${stats.maxConsumeBuffered}`,
    );

    // WHEN the consumer reads again THEN it gets every record, in order.
    const offsets: number[] = [];
    let pending = Buffer.alloc(0);
    req.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 5 && pending.length >= 5 + pending.readUInt32BE(1)) {
        const len = pending.readUInt32BE(1);
        offsets.push(ConsumeResponse.decode(pending.subarray(5, 5 + len)).record?.offset ?? -1);
        pending = pending.subarray(5 + len);
      }
    });
    req.resume();
    await until(() => offsets.length === N, 'all records after resuming', 15_000);
    assert.ok(offsets.every((o, i) => o === i));
    req.close();
    session.close();
  });

  it('malformed bytes on the port are dropped and the server keeps serving', async () => {
    // Plain garbage (not even TLS).
    const raw = netConnect(srv.port, '127.0.0.1');
    await once(raw, 'connect');
    raw.on('error', () => {});
    raw.resume(); // read, so that the server's close is seen
    raw.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n\x00\xff\xfe garbage'));
    await once(raw, 'close');

    // A valid TLS handshake followed by bytes that are not HTTP/2.
    const t = tlsConnect({
      port: srv.port,
      host: '127.0.0.1',
      ca: pki.ca.certPem,
      cert: pki.root.certPem,
      key: pki.root.keyPem,
      servername: 'localhost',
      ALPNProtocols: ['h2'],
    });
    t.on('error', () => {});
    await once(t, 'secureConnect');
    t.resume();
    t.write(Buffer.alloc(4096, 0xab));
    await once(t, 'close');

    // A gRPC call whose payload is not a valid protobuf message.
    const generic = new Client(srv.address, credsFor(pki, pki.root), isolatedClient);
    const bad = await new Promise<ServiceError | null>((resolve) => {
      generic.makeUnaryRequest(
        '/log.v1.Log/Produce',
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]),
        (err) => resolve(err),
      );
    });
    generic.close();
    assert.equal(bad?.code, Status.INTERNAL);

    const ok = await call<ProduceResponse>((cb) => root.log.produce(rec(Buffer.from('still serving')), cb));
    assert.equal(ok.offset, 0);
  });

  it("Consume and ConsumeStream at an offset of 2^53 or more are OUT_OF_RANGE with the log's bounds, not INTERNAL", async () => {
    await call<ProduceResponse>((cb) => root.log.produce(rec(Buffer.from('only')), cb));
    const generic = new Client(srv.address, credsFor(pki, pki.root), isolatedClient);
    try {
      for (const offset of [2n ** 53n, 2n ** 53n + 1n, 2n ** 64n - 1n]) {
        // uint64 field 1: the generated encoder cannot even write these from a number.
        const req = Buffer.from(new BinaryWriter().uint32(8).uint64(offset.toString()).finish());
        const unary = await new Promise<ServiceError | null>((resolve) =>
          generic.makeUnaryRequest(
            '/log.v1.Log/Consume',
            (b: Buffer) => b,
            (b: Buffer) => b,
            req,
            (err) => resolve(err),
          ),
        );
        assert.equal(unary?.code, Status.OUT_OF_RANGE, `Consume at ${offset}: ${unary?.details}`);
        assert.equal(unary?.metadata.get(ErrorMetadataKeys.nextOffset)[0], '1');
        const stream = generic.makeServerStreamRequest(
          '/log.v1.Log/ConsumeStream',
          (b: Buffer) => b,
          (b: Buffer) => b,
          req,
        );
        stream.on('data', () => {});
        const err = await new Promise<ServiceError>((resolve) => stream.on('error', resolve));
        assert.equal(err.code, Status.OUT_OF_RANGE, `ConsumeStream at ${offset}: ${err.details}`);
      }
    } finally {
      generic.close();
    }
  });
});
