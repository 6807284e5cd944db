import assert from 'node:assert/strict';
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { decodeConsumeRequest } from './requests.js';

describe('server requests: ConsumeRequest decoding', () => {
  it('an offset past 2^53 stays an (unsafe) number, and batch_records survives that fallback decode', () => {
    const bytes = Buffer.from(
      new BinaryWriter().uint32(8).uint64('18446744073709551615').uint32(16).uint32(7).finish(),
    );
    const req = decodeConsumeRequest(bytes);
    assert.ok(!Number.isSafeInteger(req.offset), `offset ${req.offset} is refused later as OUT_OF_RANGE`);
    assert.equal(req.batchRecords, 7);
  });

  it('a book request (offset only) decodes without batch_records', () => {
    const req = decodeConsumeRequest(Buffer.from(new BinaryWriter().uint32(8).uint64(5).finish()));
    assert.deepEqual(req, { offset: 5, batchRecords: undefined });
  });
});
