/**
 * What a disk-backed simulated node has promised is durable, and the check that a restart
 * keeps those promises ("committed-never-lost across power cuts", vote durability).
 *
 * The contract (node/src/raft/README.md, step 3; shell/persist-ready.ts): once `persistReady`
 * resolves, the Ready's entries are fsynced and its term and vote are on disk (only a
 * commit-only change may lag). Only then are its messages sent, so every vote grant and
 * append acknowledgement the node ever sent is covered by this record. After any crash —
 * a process crash or a power cut at any file operation — the recovered storage must hold:
 * - every durable entry, unchanged, except where the persist in flight at the cut was
 *   replacing it (a conflict truncation that may have reached the disk);
 * - no entry that is neither durable nor part of that persist (a deleted segment or a
 *   truncated suffix must not come back);
 * - a term no older than the durable one, and in that term the same vote.
 * A node whose storage no longer opens after a crash has lost its durable state too.
 */
import type { Entry, HardState, LogIndex, Ready, Term } from '../core/types.js';
import { type InvariantName, InvariantViolation } from './invariant-violation.js';

/** The name every violation found here carries (mutants-cli.ts counts it as a kill). */
export const DURABLE_STATE_LOST = 'durable state lost' satisfies InvariantName;

/** Read access to a recovered storage. */
export interface RecoveredState {
  lastIndex(): LogIndex;
  term(i: LogIndex): Term | undefined;
  initialState(): { readonly hardState: HardState };
}

/** The durable promises of one node, updated around each persist. */
export class DurablePromises {
  /** terms[i] = term of durable entry i (index 0 unused). */
  private terms: number[] = [0];
  private termVote: { term: number; vote: string | null } = { term: 0, vote: null };
  /** The persist in flight: the first index it writes and the terms it writes. */
  private inflight: { from: number; terms: Map<number, number> } | null = null;

  /** Term of durable entry `i`, if any. */
  termOf(i: number): number | undefined {
    return i > 0 ? this.terms[i] : undefined;
  }

  /** The term and vote a completed persist made durable. */
  get durableTermVote(): { readonly term: number; readonly vote: string | null } {
    return this.termVote;
  }

  /** A persist of `rd` starts (it may be cut at any file operation). */
  persisting(rd: Ready): void {
    const first = rd.entries[0];
    this.inflight =
      first === undefined ? null : { from: first.index, terms: new Map(rd.entries.map((e) => [e.index, e.term])) };
  }

  /** The persist of `rd` completed: its entries, term and vote are durable. */
  persisted(rd: Ready): void {
    this.record(rd.entries);
    if (rd.hardState !== undefined) this.termVote = { term: rd.hardState.term, vote: rd.hardState.vote };
    this.inflight = null;
  }

  private record(ents: readonly Entry[]): void {
    const first = ents[0];
    if (first === undefined) return;
    this.terms.length = Math.min(this.terms.length, first.index);
    for (const e of ents) this.terms[e.index] = e.term;
  }

  /**
   * Checks a storage recovered after a crash against the promises, then adopts it (what a
   * cut persist left behind becomes the new baseline).
   * @throws InvariantViolation ({@link DURABLE_STATE_LOST}) when a promise was broken.
   */
  checkRecovered(id: string, s: RecoveredState): void {
    const hs = s.initialState().hardState;
    const tv = this.termVote;
    if (hs.term < tv.term || (hs.term === tv.term && tv.vote !== null && hs.vote !== tv.vote)) {
      throw new InvariantViolation(
        DURABLE_STATE_LOST,
        `${id} restarted with term ${hs.term} vote ${hs.vote ?? '-'}, but had made term ${tv.term} vote ${tv.vote ?? '-'} durable (and may have voted)`,
      );
    }
    const limit = this.inflight?.from ?? Infinity;
    const last = Math.max(s.lastIndex(), this.terms.length - 1);
    let replaced = false;
    for (let i = 1; i <= last; i++) {
      const want = this.terms[i];
      const got = s.term(i as LogIndex);
      const fresh = this.inflight?.terms.get(i);
      if (replaced && got !== undefined && got !== fresh)
        throw new InvariantViolation(
          DURABLE_STATE_LOST,
          `${id} restarted with a log that mixes the entries of the persist cut short (up to ${i - 1}) with ${i}/${got} that it was replacing`,
        );
      if (i >= limit && got !== undefined && got === fresh && got !== want) replaced = true;
      if (got === want) continue;
      if (i >= limit && (got === undefined || got === this.inflight?.terms.get(i))) continue;
      throw new InvariantViolation(
        DURABLE_STATE_LOST,
        want === undefined
          ? `${id} restarted with entry ${i}/${got} that was never durable (a deleted entry came back)`
          : `${id} restarted with ${got === undefined ? 'no' : `entry ${i}/${got} in place of`} durable entry ${i}/${want}`,
      );
    }
    this.terms = [0];
    for (let i = 1; i <= s.lastIndex(); i++) this.terms[i] = s.term(i as LogIndex) ?? 0;
    this.termVote = { term: hs.term, vote: hs.vote };
    this.inflight = null;
  }
}
