/**
 * The snapshot payload of the shell (log-storage.ts "Snapshots"): the state machine is the
 * log, so a snapshot at S carries no records — only the dense data offset of the first
 * record after S and, when idempotent producers have written, the producer state
 * (producer-state.ts) a node installing the snapshot continues from.
 *
 * Format v1 (12 bytes, no producers): "CLSN" magic, u64 BE data offset.
 * Format v2: "CLSP" magic, u64 BE data offset, then the producer state as UTF-8 JSON.
 * A snapshot without producers is still written as v1, so nodes that predate producers
 * can install it.
 */
import { RaftInvariantError } from '../core/errors.js';
import { ProducerState, type ProducerStateJson } from './producer-state.js';

const SNAP_MAGIC = 0x434c534e; // "CLSN"
const SNAP_MAGIC_PRODUCERS = 0x434c5350; // "CLSP"
/** Bytes of a v1 snapshot payload: magic + u64 data offset. */
export const SNAPSHOT_PAYLOAD_BYTES = 12;

/** A decoded snapshot payload. */
export interface SnapshotPayload {
  readonly dataOffset: number;
  readonly producers?: ProducerStateJson;
}

/** Encodes the snapshot payload (v1 without producers, v2 with). */
export function encodeSnapshotPayload(dataOffset: number, producers?: ProducerStateJson): Uint8Array {
  const json = producers === undefined ? undefined : Buffer.from(JSON.stringify(producers), 'utf8');
  const b = Buffer.alloc(SNAPSHOT_PAYLOAD_BYTES + (json?.length ?? 0));
  b.writeUInt32BE(json === undefined ? SNAP_MAGIC : SNAP_MAGIC_PRODUCERS, 0);
  b.writeBigUInt64BE(BigInt(dataOffset), 4);
  json?.copy(b, SNAPSHOT_PAYLOAD_BYTES);
  return b;
}

/** Decodes a snapshot payload. @throws RaftInvariantError when it is not one. */
export function decodeSnapshotPayload(data: Uint8Array): SnapshotPayload {
  const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const magic = b.length >= SNAPSHOT_PAYLOAD_BYTES ? b.readUInt32BE(0) : 0;
  if (magic === SNAP_MAGIC && b.length === SNAPSHOT_PAYLOAD_BYTES) return { dataOffset: Number(b.readBigUInt64BE(4)) };
  if (magic !== SNAP_MAGIC_PRODUCERS)
    throw new RaftInvariantError('snapshot payload is not a commitlog snapshot', { bytes: b.length });
  try {
    const producers = ProducerState.fromJSON(JSON.parse(b.toString('utf8', SNAPSHOT_PAYLOAD_BYTES))).toJSON();
    return { dataOffset: Number(b.readBigUInt64BE(4)), producers };
  } catch (err) {
    throw new RaftInvariantError('snapshot payload has a malformed producer state', { err: String(err) });
  }
}
