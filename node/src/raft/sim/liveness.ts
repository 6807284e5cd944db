/**
 * The simulator's liveness invariant, on virtual time: once the last fault has healed (every
 * node up, the network whole and lossless, nothing more scheduled), some leader must commit
 * an entry it appended after the heal (its election no-op or a client's record: committed
 * means held by a quorum of its configuration) within a bound derived from the Raft
 * configuration and the simulated clocks. Safety invariants (invariants.ts) hold in a cluster
 * that does nothing; this one fails a run whose cluster never recovers, such as one where a
 * node that cannot campaign ignores every candidate that needs its vote.
 */
import type { RaftConfig } from '../core/config.js';
import type { LogIndex, NodeId } from '../core/types.js';
import { InvariantViolation } from './invariant-violation.js';
import type { SimMember } from './sim-member.js';

/**
 * Election timeouts the bound allows: the first (a follower's lease runs out and its
 * randomized timeout fires, at most 2·electionTicks after it last heard from a leader), three
 * more for failed rounds (a pre-vote refused because the candidate's log is behind, a split
 * vote, a candidate power-cut while it asks), and one for the winner to replicate its entry
 * to a quorum (a lagging follower's back-off and catch-up, fsyncs slowed to 20–50 units).
 */
export const LIVENESS_ELECTION_TIMEOUTS = 5;

/** The bound, in time units: `LIVENESS_ELECTION_TIMEOUTS` of the longest election timeout of the slowest clock. */
export function livenessBound(cfg: Pick<RaftConfig, 'electionTicks'>, slowestTickUnits: number): number {
  return LIVENESS_ELECTION_TIMEOUTS * 2 * cfg.electionTicks * slowestTickUnits;
}

/** Watches a healed cluster until a leader commits an entry appended after the heal. */
export class LivenessCheck {
  private healedAt = -1;
  private readonly lastAtHeal = new Map<NodeId, number>();
  /** Time units from the heal to the first commit of a new entry; null until it happened. */
  progressAfter: number | null = null;

  constructor(readonly bound: number) {}

  /** The last fault has healed at `now`: remembers how far each node's log reached. */
  healed(now: number, nodes: Iterable<SimMember>): void {
    this.healedAt = now;
    for (const n of nodes) this.lastAtHeal.set(n.id, n.raw?.status().lastIndex ?? 0);
  }

  /** True once the cluster made progress after the heal (or before any heal). */
  get satisfied(): boolean {
    return this.healedAt < 0 || this.progressAfter !== null;
  }

  /** The time by which progress must have happened (meaningful once healed). */
  get deadline(): number {
    return this.healedAt + this.bound;
  }

  /**
   * Checks the cluster at `now`.
   * @throws InvariantViolation (`liveness after heal`) when the bound passed without progress.
   */
  step(now: number, nodes: Iterable<SimMember>): void {
    if (this.satisfied) return;
    const seen: string[] = [];
    for (const n of nodes) {
      const raw = n.raw;
      if (raw === null || !n.up) {
        seen.push(`${n.id} down`);
        continue;
      }
      const st = raw.status();
      seen.push(`${n.id} ${st.role} term ${st.term} commit ${st.commit} last ${st.lastIndex}`);
      if (st.role !== 'leader') continue;
      const from = this.lastAtHeal.get(n.id) ?? 0;
      if (st.commit > from && raw.termAt(st.commit as LogIndex) === st.term) {
        this.progressAfter = now - this.healedAt;
        return;
      }
    }
    if (now > this.deadline)
      throw new InvariantViolation(
        'liveness after heal',
        `no leader committed an entry appended after the heal at ${this.healedAt} within ${this.bound} units (${LIVENESS_ELECTION_TIMEOUTS} longest election timeouts); now ${now}: ${seen.join('; ')}`,
      );
  }
}
