/**
 * Data types of the Raft core: ids, log entries, persistent state, messages and the
 * Ready batch. Everything here is plain readonly data (STYLE.md 7); behaviour lives in
 * the sibling modules. The shapes follow etcd-io/raft's raftpb, renamed for TypeScript.
 */

/** A member's id (a stable name such as `demo-0`). Branded so it is never mixed with terms. */
export type NodeId = string & { readonly __brand: 'NodeId' };
/** A Raft term (Raft §5.1). Branded: a term is never an index. */
export type Term = number & { readonly __brand: 'Term' };
/** A position in the Raft log, starting at 1; 0 is the empty-log sentinel (Raft §5.3). */
export type LogIndex = number & { readonly __brand: 'LogIndex' };

/** Brands a string as a {@link NodeId}. Empty ids are rejected: "" means "no node" in places. */
export function nodeId(s: string): NodeId {
  if (s.length === 0) throw new RangeError('node id must be a non-empty string');
  return s as NodeId;
}
/** Brands a non-negative safe integer as a {@link Term}. */
export function term(n: number): Term {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`term must be a non-negative integer, got ${n}`);
  return n as Term;
}
/** Brands a non-negative safe integer as a {@link LogIndex}. */
export function logIndex(n: number): LogIndex {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`log index must be a non-negative integer, got ${n}`);
  return n as LogIndex;
}

/**
 * The kinds of log entry. `data` entries are user records (they get dense user offsets,
 * see README "Dense offsets"); `pdata` is a user record of an idempotent producer (its data
 * carries producer id and sequence, shell/pdata.ts; the state machine may find it a
 * duplicate at apply time and then give it no offset); `noop` is the empty entry a new
 * leader appends (Raft §8); `config` carries an encoded {@link ConfChange}. To the core,
 * `pdata` is opaque data exactly like `data`.
 */
export const EntryType = { data: 'data', noop: 'noop', config: 'config', pdata: 'pdata' } as const;
/** One of {@link EntryType}'s values. */
export type EntryType = (typeof EntryType)[keyof typeof EntryType];

/** True for the entry types that carry user records (`data`, `pdata`). */
export function isUserEntry(t: EntryType): t is 'data' | 'pdata' {
  return t === 'data' || t === 'pdata';
}

/** A user record to propose: plain (`data`) or of an idempotent producer (`pdata`). */
export interface UserEntry {
  readonly type: 'data' | 'pdata';
  readonly data: Uint8Array;
}

/** A Raft log entry. `data` is opaque to the core except for `config` entries. */
export interface Entry {
  readonly index: LogIndex;
  readonly term: Term;
  readonly type: EntryType;
  readonly data: Uint8Array;
}

/**
 * The state that must be durable before the node answers anything that depends on it
 * (Raft Figure 2 "persistent state"; commit is persisted so restarts re-apply less).
 * `vote` is `null` when the node has not voted in `term`.
 */
export interface HardState {
  readonly term: Term;
  readonly vote: NodeId | null;
  readonly commit: LogIndex;
}

/** The cluster configuration: voters count for elections and commitment, learners only receive the log. */
export interface ConfState {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
  /**
   * The storage id each member was added with (issue 12, agent/storage-id.ts), by member id,
   * keys sorted; absent when no member has one (members added by a version before it, or
   * without a storage id). Opaque to the core: it only follows the changes — set by the
   * `addLearner` that adds a member, kept by `promote`, dropped by `remove` — so every node
   * learns it from the log or a snapshot, whatever it missed in between.
   */
  readonly storage?: Readonly<Record<string, string>>;
}

/**
 * A single-server membership change (Raft thesis §4.1 with learners, §4.2.1):
 * add a learner, promote a learner to voter, or remove any member.
 */
export type ConfChange =
  /** `storage`: the new member's storage id, recorded in {@link ConfState.storage} (optional: older versions send none). */
  | { readonly type: 'addLearner'; readonly node: NodeId; readonly storage?: string }
  | { readonly type: 'promote'; readonly node: NodeId }
  | { readonly type: 'remove'; readonly node: NodeId };

/** What a snapshot covers: the log prefix up to `index` (whose term is `term`) and the configuration at that point. */
export interface SnapshotMeta {
  readonly index: LogIndex;
  readonly term: Term;
  readonly confState: ConfState;
  /** Size in bytes of the opaque snapshot data. */
  readonly size: number;
}

/** A piece of snapshot data received by a follower; the application stages it at `offset`. */
export interface SnapshotChunk {
  readonly meta: SnapshotMeta;
  readonly offset: number;
  readonly data: Uint8Array;
  /** True for the final chunk: the staged data is complete and `Ready.snapshot` installs it. */
  readonly done: boolean;
}

/** Roles a node can be in. `preCandidate` runs the pre-vote phase (Raft thesis §9.6). */
export const Role = {
  follower: 'follower',
  preCandidate: 'preCandidate',
  candidate: 'candidate',
  leader: 'leader',
} as const;
/** One of {@link Role}'s values. */
export type Role = (typeof Role)[keyof typeof Role];

/** Volatile state the application may want to observe (it is never persisted). */
export interface SoftState {
  readonly leader: NodeId | null;
  readonly role: Role;
}

/** The answer to a `readIndex(ctx)` call: reads with that ctx may be served once `applied >= index`. */
export interface ReadState {
  readonly index: LogIndex;
  readonly ctx: string;
}

interface Envelope {
  readonly from: NodeId;
  readonly to: NodeId;
  /** The sender's term; for `preVote` the term the sender would campaign in (Raft thesis §9.6). */
  readonly term: Term;
}

/** Every message the core sends or receives. Transports carry these values unchanged. */
export type Message =
  /** Pre-vote request: "would you vote for me?"; does not change the receiver's term. */
  | (Envelope & { readonly type: 'preVote'; readonly lastIndex: LogIndex; readonly lastTerm: Term })
  | (Envelope & { readonly type: 'preVoteResp'; readonly granted: boolean })
  /** RequestVote (Raft §5.2). `transfer` is set when campaigning after TimeoutNow (skips the leader lease, thesis §3.10). */
  | (Envelope & {
      readonly type: 'vote';
      readonly lastIndex: LogIndex;
      readonly lastTerm: Term;
      readonly transfer: boolean;
    })
  | (Envelope & { readonly type: 'voteResp'; readonly granted: boolean })
  /** AppendEntries (Raft §5.3). `commit` is the leader's commit index. */
  | (Envelope & {
      readonly type: 'append';
      readonly prevIndex: LogIndex;
      readonly prevTerm: Term;
      readonly entries: readonly Entry[];
      readonly commit: LogIndex;
    })
  /**
   * AppendEntries response. On success `index` is the last index now known to match. On
   * rejection `index` is the rejected `prevIndex` and (`hintIndex`, `hintTerm`) is the
   * follower's last entry at or below it whose term is <= the leader's `prevTerm` — the
   * fast back-off hint that skips a whole conflicting term per round trip (Raft §5.3 end).
   */
  | (Envelope & {
      readonly type: 'appendResp';
      readonly success: boolean;
      readonly index: LogIndex;
      readonly hintIndex: LogIndex;
      readonly hintTerm: Term;
    })
  /** Heartbeat: carries the commit index the follower may use, and the ReadIndex round `readSeq` (thesis §6.4). */
  | (Envelope & { readonly type: 'heartbeat'; readonly commit: LogIndex; readonly readSeq: number })
  | (Envelope & { readonly type: 'heartbeatResp'; readonly readSeq: number })
  /** One chunk of InstallSnapshot (Raft §7), streamed stop-and-wait from `offset`. */
  | (Envelope & {
      readonly type: 'snapshot';
      readonly meta: SnapshotMeta;
      readonly offset: number;
      readonly data: Uint8Array;
      readonly done: boolean;
    })
  /** Chunk acknowledgement: the follower wants the snapshot at `snapIndex` from `nextOffset`. */
  | (Envelope & { readonly type: 'snapshotResp'; readonly snapIndex: LogIndex; readonly nextOffset: number })
  /** Leadership transfer: "campaign now" (thesis §3.10). */
  | (Envelope & { readonly type: 'timeoutNow' })
  /** A follower forwards a ReadIndex request to the leader. */
  | (Envelope & { readonly type: 'readIndex'; readonly ctx: string })
  | (Envelope & { readonly type: 'readIndexResp'; readonly ctx: string; readonly index: LogIndex });

/** The `type` tag of a {@link Message}. */
export type MessageType = Message['type'];

/**
 * A batch of work handed to the application by `RawNode.ready()`. Follow the loop in
 * node/src/raft/README.md: persist, send, apply, then `advance(ready)`.
 */
export interface Ready {
  /** Present when role or leader changed since the previous Ready. */
  readonly softState?: SoftState;
  /** Present when term, vote or commit changed: persist (atomically with `confState`). */
  readonly hardState?: HardState;
  /** Present when the committed configuration changed: persist atomically with `hardState`. */
  readonly confState?: ConfState;
  /** Entries to append to stable storage (replacing any conflicting suffix). */
  readonly entries: readonly Entry[];
  /** Snapshot data chunks to stage before the messages are sent. */
  readonly snapshotChunks: readonly SnapshotChunk[];
  /** A fully received snapshot to install (its data was delivered in `snapshotChunks`). */
  readonly snapshot?: SnapshotMeta;
  /** Committed entries to apply to the state machine, in order. */
  readonly committedEntries: readonly Entry[];
  /** Messages to send only after everything above is durable. */
  readonly messages: readonly Message[];
  /**
   * The leader's replication messages: they may be sent at once, in parallel with the
   * leader's own write (Raft thesis §10.2.1), because the leader counts itself towards a
   * commit quorum only after `advance()` reports its entries durable.
   */
  readonly earlyMessages: readonly Message[];
  /** Answers to `readIndex` calls. */
  readonly readStates: readonly ReadState[];
  /** True when `hardState`, `entries` or `snapshot` must be fsynced before sending `messages`. */
  readonly mustSync: boolean;
}

/** Why a proposal was refused. The caller may retry at `leaderHint`. */
export type ProposeRefusal =
  | { readonly ok: false; readonly reason: 'not-leader'; readonly leaderHint: NodeId | null }
  | { readonly ok: false; readonly reason: 'transferring'; readonly leaderHint: NodeId | null }
  | { readonly ok: false; readonly reason: 'conf-change-pending'; readonly pendingIndex: LogIndex }
  | { readonly ok: false; readonly reason: 'not-ready'; readonly detail: string }
  | { readonly ok: false; readonly reason: 'invalid-conf-change'; readonly detail: string }
  | { readonly ok: false; readonly reason: 'too-large'; readonly size: number; readonly limit: number }
  /** The leader already holds `maxUncommittedBytes` of uncommitted proposals: retry after commits catch up. */
  | { readonly ok: false; readonly reason: 'overloaded'; readonly uncommittedBytes: number; readonly limit: number };

/**
 * The outcome of a proposal. `ok` means appended to the leader's log at (`index`, `term`):
 * the proposal took effect iff the entry applied at `index` has that `term`.
 */
export type ProposeResult = { readonly ok: true; readonly index: LogIndex; readonly term: Term } | ProposeRefusal;

/** The outcome of `transferLeadership`. */
export type TransferResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: 'not-leader'; readonly leaderHint: NodeId | null }
  | { readonly ok: false; readonly reason: 'not-voter' | 'already-leader' | 'in-progress'; readonly target: NodeId };

/** The outcome of `readIndex`: accepted requests are answered by a {@link ReadState} in a later Ready. */
export type ReadIndexResult = { readonly ok: true } | { readonly ok: false; readonly reason: 'no-leader' };

/** The outcome of `step`: messages for another node, or malformed ones, are refused (and change nothing). */
export type StepResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: 'wrong-recipient' }
  | { readonly ok: false; readonly reason: 'malformed'; readonly detail: string };
