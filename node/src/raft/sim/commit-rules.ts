/**
 * Rule invariants of the commit index outside the leader (Raft Figure 2, "Receiver
 * implementation" 5 and "Rules for Servers: All Servers"): a node applies only what it knows
 * committed, and a follower advances its commit index only as far as the leader's message
 * vouches for. Checked where the rule is applied (the consequence of breaking the second needs
 * a follower holding a stale suffix beyond a size-limited batch while the leader's commit is
 * past that batch, a schedule our leader rarely produces; see docs/testing.md).
 */
import type { Entry, Message } from '../core/types.js';
import { InvariantViolation, type InvariantName } from './invariant-violation.js';
import type { SimMember } from './sim-member.js';

/** The name of the apply-rule violation. */
export const APPLY_RULE = 'apply rule' satisfies InvariantName;
/** The name of the leader-commit-rule violation (also checked per step in invariants.ts). */
export const LEADER_COMMIT_RULE = 'leader commit rule' satisfies InvariantName;
/** The name of the follower-commit-rule violation. */
export const FOLLOWER_COMMIT_RULE = 'follower commit rule' satisfies InvariantName;

/**
 * Apply rule (§5.3, "lastApplied ≤ commitIndex"): every entry a node hands to its state
 * machine is at or below the commit index the node holds at that moment.
 * @throws InvariantViolation when one is beyond it.
 */
export function checkApplied(node: SimMember, ents: readonly Entry[]): void {
  const commit = node.raw?.status().commit;
  if (commit === undefined) return;
  for (const e of ents)
    if (e.index > commit)
      throw new InvariantViolation(
        APPLY_RULE,
        `${node.id} applies entry ${e.index}/${e.term} while its commit index is ${commit}`,
      );
}

/**
 * Follower commit rule (Figure 2, AppendEntries receiver 5: commitIndex = min(leaderCommit,
 * index of last new entry)): a node whose commit index rose while it stepped `m` rose no
 * further than `m.commit` and, for an append, than the last entry the append carried or
 * matched (`prevIndex + entries.length`); entries beyond it are not vouched for by this leader.
 * `before` is the node's commit index just before the step.
 * @throws InvariantViolation when the new commit index is beyond what `m` vouches for.
 */
export function checkDelivered(node: SimMember, m: Message, before: number): void {
  if (m.type === 'appendResp') checkLeaderCommit(node, before);
  if (m.type !== 'append' && m.type !== 'heartbeat') return;
  const after = node.raw?.status().commit;
  if (after === undefined || after <= before) return;
  const vouched = m.type === 'append' ? Math.min(m.commit, m.prevIndex + m.entries.length) : m.commit;
  if (after > vouched)
    throw new InvariantViolation(
      FOLLOWER_COMMIT_RULE,
      `${node.id} advanced its commit index from ${before} to ${after} on ${m.from}'s term ${m.term} ${m.type}` +
        (m.type === 'append'
          ? ` (prev ${m.prevIndex}, ${m.entries.length} entries, leader commit ${m.commit}: vouches up to ${vouched})`
          : ` (commit ${m.commit})`),
    );
}

/**
 * Leader commit rule (§5.4.2), at every acknowledgement a leader steps: when its commit index
 * rises by counting replicas, it rises to an entry of its own term (earlier-term entries are
 * committed only with it). Checked per message, since a later acknowledgement in the same
 * simulator step can carry the commit index on to an entry of the leader's term and hide the
 * breach from the per-step check.
 * @throws InvariantViolation when the new commit index names an earlier term's entry.
 */
function checkLeaderCommit(node: SimMember, before: number): void {
  const raw = node.raw;
  const st = raw?.status();
  if (raw == null || st === undefined || st.role !== 'leader' || st.commit <= before) return;
  const t = raw.termAt(st.commit);
  if (t !== st.term)
    throw new InvariantViolation(
      LEADER_COMMIT_RULE,
      `${node.id} leading term ${st.term} advanced its commit index to ${st.commit}/${t ?? '?'} (from ${before}), an entry of an earlier term, on an acknowledgement`,
    );
}
