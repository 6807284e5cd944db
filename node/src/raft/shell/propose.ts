/**
 * The proposal entry points of a RaftNode (propose, proposeBatch, proposeRecords) and the
 * checks that refuse a proposal before it is queued. Split out of raft-node.ts so that the
 * runner reads as the README loop; these functions only queue work for the loop
 * (ProposalTracker) and wake it, they never touch the core while a Ready is in flight.
 *
 * Contract: a proposal is refused (as a value, before anything is queued) when the node is
 * stopped or failed, is not the leader, has `maxQueuedProposals` queued, or a record is over
 * the log's `maxRecordBytes` (the log refusing it inside the loop would be fatal). An
 * idempotent producer's record already in the applied state resolves without a new entry.
 */
import type { NodeId, Role, Term, UserEntry } from '../core/types.js';
import { RaftNotLeaderError, ProposalRejectedError } from './errors.js';
import { encodePdata, type ProducerSeq } from './pdata.js';
import {
  type AppliedProducers,
  answerFromApplied,
  type ProposalTracker,
  type ProposeOutcome,
} from './proposal-tracker.js';

/** What the proposal entry points read of their RaftNode. */
export interface ProposeHost {
  readonly proposals: ProposalTracker;
  readonly storage: AppliedProducers & { readonly log: { readonly config: { readonly maxRecordBytes: number } } };
  readonly maxQueuedProposals: number;
  /** Why no input is taken now (stopped, failed), or null. */
  refuseInput(): Error | null;
  role(): Role;
  leader(): NodeId | null;
  term(): Term;
  /** Wakes the loop, which feeds the queued proposals to the core. */
  kick(): void;
}

/** See RaftNode.propose. */
export async function propose(h: ProposeHost, value: Uint8Array, producer?: ProducerSeq): Promise<ProposeOutcome> {
  if (producer === undefined) return proposeBatch(h, [value]);
  // Fast path: a retry of a record the applied state holds (or refuses) makes no new entry.
  const known = answerFromApplied(h.storage, producer, h.term());
  if (known !== undefined) return known;
  return proposeEntries(h, [{ type: 'pdata', data: encodePdata(producer, value) }]);
}

/** See RaftNode.proposeBatch. */
export function proposeBatch(h: ProposeHost, values: readonly Uint8Array[]): Promise<ProposeOutcome> {
  return proposeEntries(
    h,
    values.map((data) => ({ type: 'data' as const, data })),
  );
}

/** See RaftNode.proposeRecords. */
export async function proposeRecords(
  h: ProposeHost,
  values: readonly Uint8Array[],
  producer?: ProducerSeq,
): Promise<readonly number[]> {
  if (producer === undefined) {
    const o = await proposeBatch(h, values);
    return values.map((_, i) => o.dataOffset + i);
  }
  const seqs = values.map((_, i) => ({ id: producer.id, seq: producer.seq + i }));
  const term = h.term();
  const known = seqs.map((p) => answerFromApplied(h.storage, p, term));
  if (known.every((k) => k !== undefined)) return known.map((k) => k.dataOffset);
  const ents = values.map((v, i) => ({ type: 'pdata' as const, data: encodePdata(seqs[i] as ProducerSeq, v) }));
  const err = refusePropose(h, ents);
  if (err !== null) throw err;
  // One waiter per record (each settles by its own producer-state outcome), all queued
  // before the loop feeds them: they reach the core as one proposal.
  const each = ents.map((e) => new Promise<ProposeOutcome>((res, rej) => h.proposals.enqueue([e], res, rej)));
  h.kick();
  return (await Promise.all(each)).map((o) => o.dataOffset);
}

function proposeEntries(h: ProposeHost, values: readonly UserEntry[]): Promise<ProposeOutcome> {
  return new Promise((resolve, reject) => {
    const err = refusePropose(h, values);
    if (err !== null) return reject(err);
    h.proposals.enqueue(values, resolve, reject);
    h.kick();
  });
}

/** Why entries cannot be proposed now, or null. */
export function refusePropose(h: ProposeHost, values: readonly UserEntry[]): Error | null {
  const err = h.refuseInput();
  if (err !== null) return err;
  if (h.role() !== 'leader') return new RaftNotLeaderError(h.leader());
  const queued = h.proposals.queuedCount;
  if (queued >= h.maxQueuedProposals) return new ProposalRejectedError('overloaded', `${queued} proposals queued`);
  // The log's record limit, checked here: a record the log refuses inside the loop would be fatal.
  const limit = h.storage.log.config.maxRecordBytes;
  for (const { data: v } of values)
    if (v.byteLength > limit)
      return new ProposalRejectedError('too-large', `${v.byteLength} bytes exceeds the log's maxRecordBytes ${limit}`);
  return null;
}
