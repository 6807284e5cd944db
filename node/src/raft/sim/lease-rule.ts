/**
 * The leader lease's liveness rule (thesis §4.2.3, §6.2), checked by the simulator beside
 * the safety invariants: a follower ignores a candidate only while it has heard from a leader
 * within the election timeout (`electionTicks` of its own clock). The lease exists so that
 * a partitioned node cannot depose a working leader; one that outlives the leader makes the
 * node deaf to every candidate, and a configuration that needs its vote elects no one (the
 * bug fixed in 6705ab8: a node that cannot campaign reset its clock at each timeout, so its
 * lease never ended). The simulator counts each node's ticks since its last leader contact
 * (an append, heartbeat or snapshot of a term at least its own: what restarts the lease in
 * step.ts) and the core reports each vote request it ignores within the lease.
 */
import type { Message, NodeId } from '../core/types.js';
import { InvariantViolation } from './invariant-violation.js';

/** What the core logs (step.ts) when it ignores a vote request within the lease. */
export const LEASE_IGNORE_LOG = 'ignoring vote request within leader lease';

/** Counts ticks since each node's last leader contact and checks every ignored vote request against them. */
export class LeaseRule {
  private readonly sinceLeader = new Map<NodeId, number>();

  /** `electionTicks(id)` is node `id`'s election timeout in ticks (the lease's length). */
  constructor(private readonly electionTicks: (id: NodeId) => number) {}

  /** Node `id`'s clock ticked once. */
  ticked(id: NodeId): void {
    this.sinceLeader.set(id, (this.sinceLeader.get(id) ?? 0) + 1);
  }

  /** Node `id` stepped `m` while its term was `termBefore`: a leader's message of a current term restarts the lease. */
  delivered(id: NodeId, m: Message, termBefore: number): void {
    if ((m.type === 'append' || m.type === 'heartbeat' || m.type === 'snapshot') && m.term >= termBefore)
      this.sinceLeader.set(id, 0);
  }

  /** Node `id` (re)started: it follows no leader yet. */
  restarted(id: NodeId): void {
    this.sinceLeader.set(id, 0);
  }

  /**
   * Node `id`, not a leader (a leader's lease ends by check-quorum), ignored a vote request within what it takes for its lease.
   * @throws InvariantViolation (`leader lease outlived`) when it last heard from a leader an election timeout ago or earlier.
   */
  ignored(id: NodeId, from: unknown, candidateTerm: unknown): void {
    const ticks = this.sinceLeader.get(id) ?? 0;
    const limit = this.electionTicks(id);
    if (ticks >= limit)
      throw new InvariantViolation(
        'leader lease outlived',
        `${id} ignored the term ${String(candidateTerm)} vote request of ${String(from)} within its leader lease, ${ticks} ticks after it last heard from a leader (the lease lasts ${limit})`,
      );
  }
}
