/**
 * The one shared limit on append batches (issue 12): how many entries and how many payload
 * bytes one `append` message may carry. The leader's batching (`replication.ts`, through
 * {@link RaftConfig}) never builds a bigger message, because config validation refuses
 * batch limits above these; the TCP codec's frame check (`shell/codec.ts`) refuses exactly
 * the messages above these, and refuses to *encode* them too, so a frame the receiver would
 * refuse is never sent. Changing a value here changes both sides at once; every node of a
 * cluster must run with the same values (they are part of the wire protocol version).
 */

/** Bytes of framing per entry on the wire: index u64, term u64, type u8, data length u32. */
export const ENTRY_WIRE_OVERHEAD = 21;

/** Wire limits shared by the leader's batching and the receiver's frame check. */
export const appendLimits = {
  /** Entries in one append message. */
  maxEntries: 10_000,
  /** Sum of entry payload bytes in one append message (a single entry may use all of it). */
  maxPayloadBytes: 32 * 1024 * 1024,
  /** Largest frame of any kind: a full append, or a snapshot chunk with its configuration, fits with room to spare. */
  maxFrameBytes: 64 * 1024 * 1024,
} as const;

/** Largest list of member ids in one frame (a snapshot's configuration). */
export const MAX_MEMBER_LIST = 10_000;

/**
 * Why an append with these entries breaks the shared limits, or null when it is within them.
 * Used by both the sender (never encode it) and the receiver (refuse it).
 */
export function appendLimitViolation(entries: number, payloadBytes: number): string | null {
  if (entries > appendLimits.maxEntries) return `entries count ${entries} exceeds ${appendLimits.maxEntries}`;
  if (payloadBytes > appendLimits.maxPayloadBytes)
    return `entries payload ${payloadBytes} bytes exceeds ${appendLimits.maxPayloadBytes}`;
  return null;
}
