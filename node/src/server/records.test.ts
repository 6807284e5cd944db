import assert from 'node:assert/strict';
import { ConsumeResponse, type ProduceRequest } from '../gen/v1/log.js';
import { RecordTooLargeError } from '../log/index.js';
import { InvalidRequestError } from './errors.js';
import { DEFAULT_MAX_RECORD_BYTES, GRPC_DEFAULT_MAX_MESSAGE_BYTES, MAX_CONSUME_FRAMING_BYTES } from './limits.js';
import { consumeBatchSizeOf, nthProducer, producerOf, splitBatches, toPb, valueOf, valuesOf } from './records.js';

const record = { value: Buffer.from('v'), offset: 0, term: 0, type: 0 };

describe('server records: the idempotent producer of a ProduceRequest', () => {
  it('a book request (neither field) has no producer: at-least-once, unchanged', () => {
    assert.equal(producerOf({ record }), undefined);
    assert.equal(producerOf({ record, producerId: Buffer.alloc(0) }), undefined, 'an empty id is no id');
  });

  it('an id with a sequence (0 included) names the producer', () => {
    assert.deepEqual(producerOf({ record, producerId: Buffer.alloc(16, 7), sequence: 0 }), {
      id: Buffer.alloc(16, 7),
      seq: 0,
    });
  });

  it('refuses half a producer and an id over 64 bytes with INVALID_ARGUMENT', () => {
    for (const req of [
      { record, producerId: Buffer.alloc(16, 7) },
      { record, sequence: 3 },
      { record, producerId: Buffer.alloc(65, 7), sequence: 1 },
    ]) {
      const r = producerOf(req);
      assert.ok(r instanceof InvalidRequestError, JSON.stringify(req));
      assert.equal(r.code, 'invalid-argument');
    }
  });
});

describe('server records: batches of the opt-in batched streams', () => {
  const rec = (offset: number, bytes: number) => ({ value: Buffer.alloc(bytes), offset, term: 1, type: 0 });
  const offsets = (parts: readonly (readonly { offset: number }[])[]) => parts.map((p) => p.map((r) => r.offset));

  it('a ConsumeRequest without batch_records (the book client) asks for one record per message', () => {
    assert.equal(consumeBatchSizeOf({ offset: 0 }, 256), 0);
    assert.equal(consumeBatchSizeOf({ offset: 0, batchRecords: 0 }, 256), 0);
  });

  it('batch_records above the server limit asks for the limit', () => {
    assert.equal(consumeBatchSizeOf({ offset: 0, batchRecords: 10 }, 256), 10);
    assert.equal(consumeBatchSizeOf({ offset: 0, batchRecords: 4_000_000_000 }, 256), 256);
  });

  it('splits consecutive records into batches of at most maxRecords, in order', () => {
    const rs = Array.from({ length: 7 }, (_, i) => rec(i, 10));
    assert.deepEqual(offsets(splitBatches(rs, 3, 1 << 20)), [[0, 1, 2], [3, 4, 5], [6]]);
    assert.deepEqual(splitBatches([], 3, 1 << 20), []);
  });

  it('a batch stays within maxBytes (values and framing); a record larger than that goes alone', () => {
    const per = 100 + MAX_CONSUME_FRAMING_BYTES;
    const rs = [rec(0, 100), rec(1, 100), rec(2, 100), rec(3, 5000), rec(4, 100)];
    assert.deepEqual(offsets(splitBatches(rs, 100, 2 * per)), [[0, 1], [2], [3], [4]]);
  });

  it("every batch fits gRPC's default 4 MiB message, whatever maxBytes says", () => {
    const big = DEFAULT_MAX_RECORD_BYTES;
    const parts = splitBatches([rec(0, big), rec(1, big), rec(2, 10)], 100, 1 << 30);
    assert.deepEqual(offsets(parts), [[0], [1, 2]]);
    for (const p of parts) {
      const encoded = ConsumeResponse.encode({ batch: { records: p.map(toPb) } }).finish().length;
      assert.ok(encoded <= GRPC_DEFAULT_MAX_MESSAGE_BYTES, `batch of ${p.length} encodes to ${encoded} bytes`);
    }
  });

  it('valuesOf accepts a batch within the limits and refuses an empty one, an oversized one, both fields, a record too large', () => {
    const r = { value: Buffer.from('v'), offset: 0, term: 0, type: 0 };
    assert.deepEqual(valuesOf({ batch: { records: [r, r] } }, 10, 2), [r.value, r.value]);
    const refused: [ProduceRequest, typeof InvalidRequestError | typeof RecordTooLargeError, RegExp][] = [
      [{ batch: { records: [] } }, InvalidRequestError, /empty/],
      [{}, InvalidRequestError, /empty/],
      [{ batch: { records: [r, r, r] } }, InvalidRequestError, /3 records, at most 2/],
      [{ record: r, batch: { records: [r] } }, InvalidRequestError, /both record and batch/],
      [{ batch: { records: [r, { ...r, value: Buffer.alloc(11) }] } }, RecordTooLargeError, /11 bytes/],
    ];
    for (const [req, type, message] of refused) {
      const v = valuesOf(req, 10, 2);
      assert.ok(v instanceof type, JSON.stringify(req));
      assert.match(v.message, message);
    }
  });

  it('valueOf (unary Produce) refuses a batch', () => {
    const v = valueOf({ batch: { records: [record] } }, 10);
    assert.ok(v instanceof InvalidRequestError);
    assert.match(v.message, /only accepted on ProduceStream/);
  });

  it('the i-th record of a batch has the producer sequence + i; no producer stays none', () => {
    const id = Buffer.alloc(16, 1);
    assert.deepEqual(nthProducer({ id, seq: 10 }, 0), { id, seq: 10 });
    assert.deepEqual(nthProducer({ id, seq: 10 }, 3), { id, seq: 13 });
    assert.equal(nthProducer(undefined, 3), undefined);
  });
});
