/**
 * The server's {@link LogBackend} over a {@link RaftNode}: the log the clients see is the
 * committed-and-applied prefix of the Raft log, numbered with dense data offsets.
 *
 * - produce on the leader → `RaftNode.propose` (resolves once committed and applied here;
 *   concurrent proposals go into one Ready, one fsync: the group commit); produceBatch →
 *   `RaftNode.proposeRecords` (one proposal for the batch) or one forwarded batch request. On a follower →
 *   forwarded to the leader ({@link LeaderForwarder}); when that is impossible the client
 *   gets UNAVAILABLE "not-leader" with the leader's id and address in trailing metadata.
 *   A follower that knows no leader, or whose leader refused the connection (nothing was
 *   sent: it is down), holds the produce until it learns of the next leader
 *   ({@link LeaderWait}), then proposes it (it won) or forwards it there; the hold ends
 *   before the call's deadline ({@link holdMs}), and after at most `leaderWaitMs`,
 *   with the refusal it replaces (UNAVAILABLE: the client retries elsewhere). So an attempt
 *   made during an election succeeds as soon as the cluster has a leader, instead of at the
 *   client's next retry after it.
 * - reads only `[lowestDataOffset, committedDataEnd)`; with `linearizable` each read first
 *   passes a ReadIndex barrier (Raft thesis §6.4), else it is served from the local applied
 *   prefix (may lag the leader by a heartbeat, never shows uncommitted data).
 * - waitFor wakes on the node's apply callback (no polling).
 */
import { status as Status, type ServiceError } from '@grpc/grpc-js';
import {
  DEFAULT_PRODUCER_LIMITS,
  NodeStoppedError,
  RaftNotLeaderError,
  RaftShellError,
  type RaftNode,
  userView,
} from '../raft/index.js';
import { CommitNotifier } from '../server/commit-notifier.js';
import { InvalidRequestError } from '../server/errors.js';
import type {
  BackendRecord,
  BackendStats,
  LogBackend,
  LogBounds,
  ProduceOptions,
  ProducerRef,
  RangeOptions,
  ServerInfo,
} from '../server/backend.js';
import {
  BackendClosedError,
  CommittedOutOfRangeError,
  NoLeaderError,
  NotLeaderError,
  RaftOutcomeError,
} from './errors.js';
import { RecordTooLargeError } from '../log/index.js';
import { neverSent } from '../client/client.js';
import { describeForwardError, ForwardIndeterminateError, type LeaderForwarder } from './forwarder.js';
import { LeaderWait } from './leader-wait.js';
import type { PeerDirectory } from './peers.js';

/** Options of {@link RaftBackend}. */
export interface RaftBackendOptions {
  readonly node: RaftNode;
  readonly peers: PeerDirectory;
  readonly forwarder: LeaderForwarder;
  /** This node's advertised RPC address and external address. */
  readonly self: { readonly rpcAddr: string; readonly externalAddr?: string | undefined };
  readonly linearizable: boolean;
  /** Called for every produce this node handled, by how (metrics and tests). */
  readonly onProduce?: (how: 'proposed' | 'forwarded') => void;
  /**
   * The longest a follower holds a produce for a new leader (default
   * {@link DEFAULT_LEADER_WAIT_MS}); the call's deadline cuts it shorter.
   */
  readonly leaderWaitMs?: number;
  /** What the hold for a leader waits on (default real time; tests pass a manual clock). */
  readonly leaderWait?: LeaderWait;
}

/**
 * Default bound on holding a produce for a leader: two of the longest default election
 * timeouts (2 × 2 s), room for an election that needs a second round.
 */
export const DEFAULT_LEADER_WAIT_MS = 4000;

/** How often a leader that refused a produce during a leadership transfer proposes it again. */
export const TRANSFER_RETRY_MS = 100;

/**
 * How long a produce whose call has `leftMs` until its deadline may be held: a quarter of it,
 * at least 100 ms, is left for the answer to reach the client in time (on a loaded machine a
 * reply can lag by that much; a refusal that arrives after the deadline is DEADLINE_EXCEEDED,
 * an unknown outcome to a client that cannot deduplicate, instead of a retryable UNAVAILABLE).
 */
export function holdMs(leftMs: number): number {
  return leftMs - Math.max(100, leftMs / 4);
}

/** A {@link LogBackend} whose writes go through Raft. */
export class RaftBackend implements LogBackend {
  readonly maxRecordBytes: number;
  private readonly node: RaftNode;
  private readonly notifier: CommitNotifier;
  private readonly offApplied: () => void;
  private readonly offLeader: () => void;
  private readonly leaders: LeaderWait;
  private closed = false;

  constructor(private readonly o: RaftBackendOptions) {
    this.node = o.node;
    this.maxRecordBytes = o.node.storage.log.config.maxRecordBytes;
    this.notifier = new CommitNotifier(o.node.committedDataEnd);
    this.offApplied = o.node.onApplied(() => {
      const end = this.node.committedDataEnd;
      // A snapshot install can move the log to a new base: never move the end backwards silently.
      if (end < this.notifier.nextOffset) this.notifier.reset(end);
      else this.notifier.advance(end);
    });
    // Forwards in flight to a leader this node no longer follows fail at once (forwarder.ts):
    // a client whose attempt waits here moves on in about an election, not a 10 s timeout.
    this.leaders = o.leaderWait ?? new LeaderWait();
    this.offLeader = o.node.onLeaderChange(({ leader }) => {
      o.forwarder.leaderChanged(leader === null || leader === o.node.id ? undefined : o.peers.get(leader)?.rpcAddr);
      this.leaders.changed(leader);
    });
  }

  async produce(value: Uint8Array, producer?: ProducerRef, opts?: ProduceOptions): Promise<number> {
    if (this.closed) throw new BackendClosedError();
    if (value.byteLength > this.maxRecordBytes) throw new RecordTooLargeError(value.byteLength, this.maxRecordBytes);
    return this.routed(
      async () => (await this.node.propose(value, producer)).dataOffset,
      (addr) => this.o.forwarder.produce(addr, value, producer),
      opts?.deadline,
    );
  }

  /**
   * A batch: on the leader ONE proposal (`RaftNode.proposeRecords`), on a follower ONE
   * forwarded request. With `producer`, at most {@link DEFAULT_PRODUCER_LIMITS}.window
   * records: the producer table remembers that many sequences, so a retry of a longer batch
   * could not be answered with its original offsets (its first records would be out of
   * sequence); such a batch is refused whole, INVALID_ARGUMENT, before anything is appended.
   */
  async produceBatch(
    values: readonly Uint8Array[],
    producer?: ProducerRef,
    opts?: ProduceOptions,
  ): Promise<readonly number[]> {
    if (this.closed) throw new BackendClosedError();
    for (const v of values)
      if (v.byteLength > this.maxRecordBytes) throw new RecordTooLargeError(v.byteLength, this.maxRecordBytes);
    const window = DEFAULT_PRODUCER_LIMITS.window;
    if (producer !== undefined && values.length > window)
      throw new InvalidRequestError(
        `ProduceRequest.batch with a producer_id has ${values.length} records, at most ${window} (the producer window: a longer batch could not be deduplicated when retried)`,
      );
    return this.routed(
      () => this.node.proposeRecords(values, producer),
      (addr) => this.o.forwarder.produceBatch(addr, values, producer),
      opts?.deadline,
    );
  }

  /**
   * A produce's route: `propose` here while this node leads, else `forward` to the leader's
   * address; with no leader to send it to, held until the next one is known (the file
   * comment), at most until {@link holdUntil}`(deadline)`. A leader that refuses the proposal
   * (a leadership transfer under way, which may end with no leader change at all when the
   * target does not take over) tries again every {@link TRANSFER_RETRY_MS} until then. Every
   * turn of the loop follows a leader change or such a retry, and {@link releaseHolds} ends
   * the holds at once, so it ends.
   */
  private async routed<T>(
    propose: () => Promise<T>,
    forward: (addr: string) => Promise<T>,
    deadline: number | undefined,
  ): Promise<T> {
    const until = this.holdUntil(deadline);
    for (;;) {
      if (this.closed) throw new BackendClosedError();
      if (this.node.isLeader) {
        try {
          const out = await propose();
          this.o.onProduce?.('proposed');
          return out;
        } catch (err) {
          if (!(err instanceof RaftNotLeaderError)) throw this.mapRaftError(err);
          // Lost leadership between the check and the proposal, or a transfer: see below.
        }
      }
      const leaderId = this.node.leaderId;
      if (leaderId === null || leaderId === this.node.id) {
        const self = leaderId !== null;
        const bound = self ? Math.min(until, this.leaders.now() + TRANSFER_RETRY_MS) : until;
        if (await this.leaders.wait(leaderId, bound)) continue;
        if (self && !this.leaders.closed && this.leaders.now() < until) continue;
        if (this.closed || this.leaders.closed) throw new BackendClosedError();
        throw new NoLeaderError(
          self
            ? 'leadership is being transferred; retry shortly'
            : 'an election is in progress or this node has not joined a cluster yet; retry shortly',
        );
      }
      const addr = this.o.peers.get(leaderId)?.rpcAddr;
      if (addr === undefined)
        throw new NotLeaderError(leaderId, undefined, "the leader's address is not known yet from gossip");
      try {
        const out = await forward(addr);
        this.o.onProduce?.('forwarded');
        return out;
      } catch (err) {
        // The leader refused the connection: nothing was sent, it is down. Its successor takes
        // the record (at once when this node learnt of it while the forward was failing).
        if (neverSent(err as Partial<ServiceError>)) {
          if (this.node.leaderId !== leaderId && !this.leaders.closed) continue;
          if (await this.leaders.wait(leaderId, until)) continue;
          if (this.closed || this.leaders.closed) throw new BackendClosedError();
        }
        throw forwardError(err, leaderId, addr);
      }
    }
  }

  /**
   * Ends every hold for a leader now, and every later one at once, with {@link BackendClosedError}
   * (UNAVAILABLE "shutting down": the record was not sent anywhere). The agent calls it when
   * it starts to drain its server, so held produces neither stretch the drain nor reach a
   * leader after it. A produce that needs no hold (this node leads, or forwards to a live
   * leader) is still served while the server drains.
   */
  releaseHolds(): void {
    this.leaders.close();
  }

  /** Produces held for a leader now (tests, metrics). */
  get heldProduces(): number {
    return this.leaders.size;
  }

  /** Until when (on the hold's clock) a produce with `deadline` (ms since the epoch, if any) may be held. */
  private holdUntil(deadline: number | undefined): number {
    const max = this.o.leaderWaitMs ?? DEFAULT_LEADER_WAIT_MS;
    const left = deadline === undefined ? max : Math.min(max, holdMs(deadline - Date.now()));
    return this.leaders.now() + left;
  }

  /**
   * Raft's failures keep their code (the server's table maps RAFT_* to UNAVAILABLE, ABORTED
   * or RESOURCE_EXHAUSTED) and gain the leader's id and address: never INTERNAL.
   */
  private mapRaftError(err: unknown): Error {
    if (err instanceof NodeStoppedError) return new BackendClosedError();
    if (!(err instanceof RaftShellError)) return err as Error;
    const hint = err instanceof RaftNotLeaderError ? err.leaderHint : null;
    const leaderId = this.node.leaderId ?? hint ?? undefined;
    const leaderAddr =
      leaderId === undefined
        ? undefined
        : leaderId === this.node.id
          ? this.o.self.rpcAddr
          : this.o.peers.get(leaderId)?.rpcAddr;
    const reason = 'reason' in err && typeof err.reason === 'string' ? err.reason : undefined;
    return new RaftOutcomeError(err.code, err.message, reason, leaderId, leaderAddr);
  }

  /** The committed bounds in dense data offsets. */
  bounds(): LogBounds {
    const log = this.node.storage.log;
    const next = this.node.committedDataEnd;
    return { lowest: Math.min(log.lowestDataOffset, next), next };
  }

  private async barrier(): Promise<void> {
    if (this.closed) throw new BackendClosedError();
    if (!this.o.linearizable) return;
    try {
      await this.node.readIndex();
    } catch (err) {
      if (err instanceof RaftNotLeaderError) throw new NoLeaderError('a linearizable read needs a leader');
      throw this.mapRaftError(err);
    }
  }

  async read(offset: number): Promise<BackendRecord> {
    await this.barrier();
    const b = this.bounds();
    if (!Number.isSafeInteger(offset) || offset < b.lowest || offset >= b.next)
      throw new CommittedOutOfRangeError(offset, b.lowest, b.next);
    const r = this.node.storage.log.readData(offset);
    return { ...userView(r), offset: r.dataOffset, term: r.term };
  }

  async readRange(from: number, opts: RangeOptions): Promise<readonly BackendRecord[]> {
    await this.barrier();
    const b = this.bounds();
    if (from === b.next) return [];
    if (!Number.isSafeInteger(from) || from < b.lowest || from > b.next)
      throw new CommittedOutOfRangeError(from, b.lowest, b.next);
    const rs = this.node.storage.log.readDataRange(from, {
      maxCount: opts.maxCount,
      maxBytes: opts.maxBytes,
      endOffset: this.node.appliedIndex + 1,
    });
    return rs.map((r) => ({ ...userView(r), offset: r.dataOffset, term: r.term }));
  }

  waitFor(offset: number, signal: AbortSignal): Promise<boolean> {
    return this.notifier.wait(offset, signal);
  }

  /** Members of the Raft configuration with their addresses from gossip (self from config). */
  servers(): readonly ServerInfo[] {
    const st = this.node.status();
    return st.members.map((m) => {
      const self = m.id === this.node.id;
      const p = this.o.peers.get(m.id);
      const ext = self ? this.o.self.externalAddr : p?.externalAddr;
      return {
        id: m.id,
        rpcAddr: self ? this.o.self.rpcAddr : (p?.rpcAddr ?? ''),
        isLeader: st.leader === m.id,
        isVoter: m.suffrage === 'voter',
        ...(ext !== undefined ? { externalRpcAddr: ext } : {}),
      };
    });
  }

  stats(): BackendStats {
    const b = this.bounds();
    return {
      sizeBytes: this.node.storage.log.sizeBytes,
      lowestOffset: b.next > b.lowest ? b.lowest : -1,
      highestOffset: b.next > b.lowest ? b.next - 1 : -1,
    };
  }

  notReadyReason(): string | undefined {
    if (this.closed) return 'shutting down';
    if (this.node.leaderId === null) return 'no Raft leader known';
    if (!this.node.status().members.some((m) => m.id === this.node.id))
      return 'not a member of the Raft configuration yet (waiting to be added)';
    return undefined;
  }

  /** Wakes tailing streams with "closed" and refuses new calls; the RaftNode is stopped by its owner. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.releaseHolds();
    this.offApplied();
    this.offLeader();
    this.notifier.close();
  }
}

/**
 * The error a client gets for a forward that failed with `err` (the forwarder says whether
 * the record may have been appended): indeterminate → RAFT_PROPOSAL_INDETERMINATE (ABORTED,
 * the client does not blindly retry it); the leader's own ABORTED or RESOURCE_EXHAUSTED
 * keep their meaning; anything else was not appended → not-leader (UNAVAILABLE: retry, at
 * the leader).
 */
export function forwardError(err: unknown, leaderId: string, addr: string): Error {
  const why = `forwarding to the leader failed: ${describeForwardError(err)}`;
  const code = (err as Partial<ServiceError>).code;
  if (err instanceof ForwardIndeterminateError || code === Status.ABORTED)
    return new RaftOutcomeError('RAFT_PROPOSAL_INDETERMINATE', why, undefined, leaderId, addr);
  if (code === Status.RESOURCE_EXHAUSTED)
    return new RaftOutcomeError('RAFT_PROPOSAL_REJECTED', why, 'overloaded', leaderId, addr);
  return new NotLeaderError(leaderId, addr, why);
}
