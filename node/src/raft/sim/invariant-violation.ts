/**
 * The simulator's invariants, by name, and the error each violation throws. The names are
 * the one table mutants-cli.ts uses to tell a kill (an invariant or the linearizability
 * checker failed) from a crash (the node threw some other error).
 */

/** Every invariant the simulator checks (invariants.ts, commit-rules.ts, membership-invariants.ts, durable-promises.ts, liveness.ts, lease-rule.ts, read-round-rule.ts). */
export const INVARIANT_NAMES = [
  // Raft Figure 3 and the commit log's own (invariants.ts)
  'election safety',
  'log matching',
  'leader completeness',
  'leader append-only',
  'state machine safety',
  'leader commit rule',
  'commit without a durable quorum',
  'committed entry overwritten',
  'dense offsets',
  'acknowledged record lost',
  // commit-index rules outside the leader (commit-rules.ts)
  'apply rule',
  'follower commit rule',
  // membership (membership-invariants.ts)
  'configuration in force',
  'membership rule',
  'removed leader still leads',
  // durability across crashes and power cuts (durable-promises.ts)
  'durable state lost',
  'answered before durable',
  'store write over durable frames',
  // liveness: once every fault has healed (liveness.ts); the leader lease ends (lease-rule.ts)
  'liveness after heal',
  'leader lease outlived',
  // ReadIndex (thesis §6.4): an answer needs a quorum that acknowledged the leader after the
  // read arrived, and a read index of the leader's term (read-round-rule.ts)
  'read without a fresh quorum',
  "read index before the term's commit",
] as const;

/** An invariant's name. */
export type InvariantName = (typeof INVARIANT_NAMES)[number];

/** What the linearizability checker's verdict starts with (simulate.ts). */
export const NOT_LINEARIZABLE = 'history not linearizable';

/** A broken safety (or, after the heal, liveness) property. `invariant` names it. */
export class InvariantViolation extends Error {
  readonly code = 'RAFT_SIM_INVARIANT';
  constructor(
    readonly invariant: InvariantName,
    detail: string,
  ) {
    super(`${invariant}: ${detail}`);
    this.name = 'InvariantViolation';
  }
}
