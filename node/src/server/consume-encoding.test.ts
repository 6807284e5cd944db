import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ConsumeResponse, type Record as PbRecord } from '../gen/v1/log.js';
import { encodeConsumeResponse } from './consume-encoding.js';

const generated = (m: ConsumeResponse): Buffer => Buffer.from(ConsumeResponse.encode(m).finish());

const uint = fc.oneof(
  fc.constantFrom(0, 1, 127, 128, 16_383, 16_384, 2 ** 31, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER),
  fc.maxSafeNat(),
);
const record: fc.Arbitrary<PbRecord> = fc.record({
  value: fc.oneof(
    fc.constant(Buffer.alloc(0)),
    fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
    fc.integer({ min: 16_000, max: 70_000 }).map((n) => Buffer.alloc(n, 7)),
  ),
  offset: uint,
  term: uint,
  type: fc.oneof(fc.constantFrom(0, 1, 127, 128, 2 ** 32 - 1), fc.nat()),
});

describe('server ConsumeResponse encoder (the hot path of Consume and ConsumeStream)', () => {
  it('writes the same bytes as the generated encoder for one record, a batch, both, or neither', () => {
    fc.assert(
      fc.property(
        fc.option(record, { nil: undefined }),
        fc.option(fc.array(record, { maxLength: 20 }), { nil: undefined }),
        (rec, batch) => {
          const m: ConsumeResponse = { record: rec, ...(batch ? { batch: { records: batch } } : {}) };
          assert.deepEqual(encodeConsumeResponse(m), generated(m));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('round-trips through the generated decoder (a book client reads field 2 unchanged)', () => {
    const r = { value: Buffer.from('book'), offset: 2 ** 40 + 3, term: 7, type: 0 };
    assert.deepEqual(ConsumeResponse.decode(encodeConsumeResponse({ record: r })).record, r);
    const empty = { value: Buffer.alloc(0), offset: 0, term: 0, type: 0 };
    assert.deepEqual(encodeConsumeResponse({ record: empty }), Buffer.from([0x12, 0x00]));
    assert.deepEqual(encodeConsumeResponse({ batch: { records: [] } }), Buffer.from([0x1a, 0x00]));
  });
});
