/**
 * Failures of the Raft core. Expected outcomes (not leader, change pending…) are values
 * in types.ts; these classes are for misuse and broken invariants, which throw loudly.
 */

/** Base class: every core failure has a stable `code`. */
export class RaftError extends Error {
  /** Stable machine-readable code; never match on `message`. */
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'RaftError';
    this.code = code;
  }
}

/** A config field is invalid. */
export class RaftConfigError extends RaftError {
  readonly field: string;
  constructor(field: string, why: string) {
    super('RAFT_CONFIG_INVALID', `raft config: ${field} ${why}`);
    this.name = 'RaftConfigError';
    this.field = field;
  }
}

/** A safety invariant of the protocol would be violated (a bug in the core or in the storage it was given). */
export class RaftInvariantError extends RaftError {
  readonly context: Readonly<Record<string, unknown>>;
  constructor(message: string, context: Readonly<Record<string, unknown>> = {}) {
    super('RAFT_INVARIANT', `raft invariant violated: ${message} ${JSON.stringify(context)}`);
    this.name = 'RaftInvariantError';
    this.context = context;
  }
}

/** The API was used out of order (e.g. `ready()` twice without `advance()`). */
export class RaftUsageError extends RaftError {
  constructor(message: string) {
    super('RAFT_USAGE', message);
    this.name = 'RaftUsageError';
  }
}

/** Storage was asked for entries it has compacted away or never had. */
export class StorageRangeError extends RaftError {
  readonly lo: number;
  readonly hi: number;
  constructor(reason: 'compacted' | 'unavailable', lo: number, hi: number) {
    super(
      reason === 'compacted' ? 'RAFT_STORAGE_COMPACTED' : 'RAFT_STORAGE_UNAVAILABLE',
      `storage: entries [${lo}, ${hi}) ${reason}`,
    );
    this.name = 'StorageRangeError';
    this.lo = lo;
    this.hi = hi;
  }
}
