/**
 * The narrow interface the gRPC server needs from "the log", so that the same server runs
 * over a local segmented log (one node, {@link LocalLogBackend}) or over Raft (the
 * cluster agent's backend). Offsets are dense user offsets 0, 1, 2, …
 *
 * Contract:
 * - `produce` resolves only once the record is durable (fsynced; with Raft, committed),
 *   and calls resolve in the order they were made. Backends batch concurrent calls into
 *   one group commit.
 * - Reads only ever see durable records: `[bounds().lowest, bounds().next)`.
 * - Failures are errors with a `code` mapped by errors.ts (e.g. "offset-out-of-range"
 *   with `offset`, `lowest`, `next`; "record-too-large" with `size`, `limit`).
 */

/**
 * An idempotent producer's record identity (ProduceRequest.producer_id / sequence): a
 * backend that supports it appends (id, seq) at most once and answers a retry with the
 * original offset; one that does not (a single node without Raft) appends as usual.
 */
export interface ProducerRef {
  readonly id: Uint8Array;
  readonly seq: number;
}

/** A record as the server sends it. */
export interface BackendRecord {
  readonly value: Uint8Array;
  readonly offset: number;
  readonly term: number;
  readonly type: number;
}

/** Readable offsets: `[lowest, next)`; empty when `lowest === next`. */
export interface LogBounds {
  readonly lowest: number;
  readonly next: number;
}

/** One server of the cluster as GetServers reports it. */
export interface ServerInfo {
  readonly id: string;
  readonly rpcAddr: string;
  readonly isLeader: boolean;
  readonly externalRpcAddr?: string;
  readonly isVoter: boolean;
}

/** Options of a ranged read. */
export interface RangeOptions {
  readonly maxCount: number;
  readonly maxBytes: number;
}

/** Size and bounds for metrics. */
export interface BackendStats {
  readonly sizeBytes: number;
  readonly lowestOffset: number;
  readonly highestOffset: number;
}

/** What a produce call carries besides its records. */
export interface ProduceOptions {
  /**
   * The call's deadline in ms since the epoch (undefined: none). A backend that waits (a
   * follower holding a produce for a new leader) answers before it.
   */
  readonly deadline?: number;
}

/** The log as the server sees it. See the file comment for the contract. */
export interface LogBackend {
  /** Largest value accepted by produce, in bytes. */
  readonly maxRecordBytes: number;
  /**
   * Appends one record durably; resolves with its offset. With `producer`, a record that
   * producer already appended is not appended again: the original offset is answered.
   */
  produce(value: Uint8Array, producer?: ProducerRef, opts?: ProduceOptions): Promise<number>;
  /**
   * Appends `values` (1.. records, each within maxRecordBytes; the caller validates the
   * batch) as one unit of work — with Raft ONE proposal — and resolves with their offsets,
   * in order, once every one is durable (with Raft: committed on a quorum, fdatasynced there
   * and applied here). Without `producer` the offsets are consecutive. With it, record i is
   * the producer's sequence `producer.seq + i` and is deduplicated on its own as by
   * {@link produce}: a retried batch resolves with the original offsets and appends nothing.
   * Not atomic: when it rejects, some of its records may have been appended (as any
   * unacknowledged record may); none is acknowledged.
   */
  produceBatch(
    values: readonly Uint8Array[],
    producer?: ProducerRef,
    opts?: ProduceOptions,
  ): Promise<readonly number[]>;
  /** Reads one durable record. */
  read(offset: number): Promise<BackendRecord>;
  /**
   * Reads durable records from `from` on, at least one if `from < bounds().next` (even if
   * it alone exceeds maxBytes), none if `from === bounds().next`.
   */
  readRange(from: number, opts: RangeOptions): Promise<readonly BackendRecord[]>;
  /** The durable bounds now. */
  bounds(): LogBounds;
  /**
   * Resolves true once `bounds().next > offset` (a record at `offset` is durable), or
   * false when `signal` aborts or the backend closes. Wakes on commit, never polls.
   */
  waitFor(offset: number, signal: AbortSignal): Promise<boolean>;
  /** The cluster's servers; a single node reports itself as leader. */
  servers(): readonly ServerInfo[];
  /** Size and bounds for metrics. */
  stats(): BackendStats;
  /** Why the backend cannot serve yet, or undefined when it can (readiness). */
  notReadyReason(): string | undefined;
}
