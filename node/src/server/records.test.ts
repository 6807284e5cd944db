import assert from 'node:assert/strict';
import { InvalidRequestError } from './errors.js';
import { producerOf } from './records.js';

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
