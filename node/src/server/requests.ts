/**
 * Request decoding the generated service definition cannot do right: `ConsumeRequest.offset`
 * is a uint64 on the wire, and ts-proto's decoder throws for values above 2^53 — which
 * grpc-js answers with INTERNAL "Error deserializing request". Such an offset is a valid
 * request for a record that does not exist: it must be OUT_OF_RANGE like any other offset
 * past the end. So the offset is decoded as a (non-safe) number and the handlers refuse
 * every non-safe offset with OUT_OF_RANGE.
 *
 * And the ConsumeResponse encoder of the server's hot path (consume-encoding.ts): the same
 * bytes as the generated one with one copy of each value instead of four to five.
 */
import { BinaryReader } from '@bufbuild/protobuf/wire';
import { ConsumeRequest, LogService } from '../gen/v1/log.js';
import { encodeConsumeResponse } from './consume-encoding.js';

/**
 * Decodes a ConsumeRequest; an offset beyond Number.MAX_SAFE_INTEGER is kept as an unsafe
 * number (handlers answer OUT_OF_RANGE) instead of failing the decode.
 * @throws whatever ts-proto throws for bytes that are not a ConsumeRequest at all.
 */
export function decodeConsumeRequest(b: Buffer): ConsumeRequest {
  try {
    return ConsumeRequest.decode(b);
  } catch (err) {
    const r = new BinaryReader(b);
    let offset = 0;
    let batchRecords: number | undefined;
    while (r.pos < r.len) {
      const tag = r.uint32();
      if (tag === 8) offset = Number(r.uint64().toString());
      else if (tag === 16) batchRecords = r.uint32();
      else r.skip(tag & 7);
    }
    if (Number.isSafeInteger(offset)) throw err;
    return batchRecords === undefined ? { offset } : { offset, batchRecords };
  }
}

/**
 * The Log service definition with {@link decodeConsumeRequest} for Consume and ConsumeStream,
 * and their responses written by {@link encodeConsumeResponse} (the same bytes, fewer copies).
 */
export const logServiceDefinition = {
  ...LogService,
  consume: {
    ...LogService.consume,
    requestDeserialize: decodeConsumeRequest,
    responseSerialize: encodeConsumeResponse,
  },
  consumeStream: {
    ...LogService.consumeStream,
    requestDeserialize: decodeConsumeRequest,
    responseSerialize: encodeConsumeResponse,
  },
} as const satisfies typeof LogService;
