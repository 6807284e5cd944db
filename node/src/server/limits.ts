/**
 * Message-size limits, chosen so that every record the server accepts can be read back by
 * a client at gRPC's default limits (grpc-go, grpc-js, grpc-java and grpcurl all refuse to
 * receive a message over 4 MiB unless told otherwise).
 *
 * A record read back travels as a ConsumeResponse, which wraps the value in a Record with
 * its offset, term and type; a 4 MiB value therefore arrives as 4 MiB + 14 bytes and a
 * default client fails with RESOURCE_EXHAUSTED ("received message larger than max
 * (4194318 vs. 4194304)"). The default maximum record is 4 MiB − 1 KiB: the framing is at
 * most {@link MAX_CONSUME_FRAMING_BYTES} bytes, the rest is margin for fields added later.
 *
 * The server's own limits are deliberate (server.ts): it receives a record up to
 * `maxRecordBytes` plus headroom (so an oversized record reaches our check and is answered
 * INVALID_ARGUMENT with size and limit, not grpc-js's bare RESOURCE_EXHAUSTED), and sends
 * at most the larger of gRPC's default and the largest ConsumeResponse it can produce.
 */

/** gRPC's default maximum received message size, in every official implementation. */
export const GRPC_DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

/**
 * Most bytes a ConsumeResponse adds around a value: its Record field (tag + 4-byte length,
 * for values under 256 MiB) and, inside the Record, the value's tag + length (5), offset
 * and term (tag + up to 10-byte varint each) and type (tag + up to 5).
 */
export const MAX_CONSUME_FRAMING_BYTES = 5 + 5 + 11 + 11 + 6;

/** Default largest record: gRPC's default message limit minus 1 KiB for framing. */
export const DEFAULT_MAX_RECORD_BYTES = GRPC_DEFAULT_MAX_MESSAGE_BYTES - 1024;

/** Largest encoded ConsumeResponse carrying a value of `valueBytes` bytes. */
export function maxConsumeResponseBytes(valueBytes: number): number {
  return valueBytes + MAX_CONSUME_FRAMING_BYTES;
}

/** True when a default client can read back a record of `maxRecordBytes` through Consume/ConsumeStream. */
export function readableByDefaultClients(maxRecordBytes: number): boolean {
  return maxConsumeResponseBytes(maxRecordBytes) <= GRPC_DEFAULT_MAX_MESSAGE_BYTES;
}

/** The grpc-js server's message limits for a backend's `maxRecordBytes`. */
export function serverMessageLimits(
  maxRecordBytes: number,
  receiveHeadroomBytes: number,
): { readonly receive: number; readonly send: number } {
  return {
    receive: maxRecordBytes + receiveHeadroomBytes,
    send: Math.max(GRPC_DEFAULT_MAX_MESSAGE_BYTES, maxConsumeResponseBytes(maxRecordBytes)),
  };
}
