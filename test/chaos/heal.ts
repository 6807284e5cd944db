/**
 * When the chaos tier counts the cluster as healed after a fault (pure): the next fault
 * may only be injected once every expected node is, under its CURRENT storage id, a
 * caught-up voter following one leader. Counting voters in GetServers is not enough: a
 * wiped node's old voter stays in the configuration until the leader replaces it
 * (node/src/agent/membership.ts), so "three voters" holds while the wiped node is still
 * down — a second wipe then takes the data of two voters out of three, which is losing
 * quorum by the test's own hand (seed 3 of `--faults wipe-follower` did exactly that).
 */

/** Most entries behind the leader a voter may be and count as caught up (the agent promotes at this lag). */
export const CAUGHT_UP_LAG = 64;

/** One node as the orchestrator sees it; fields are undefined when it did not answer. */
export interface NodeView {
  readonly name: string;
  /** Its own Admin GetStatus. */
  readonly status?: { readonly isLeader: boolean; readonly leaderId: string; readonly term: number };
  /** The storage id in its data directory (`storage-id`). */
  readonly storageId?: string;
  /** The storage id it has recorded for each member of the configuration (`member-storage.json`). */
  readonly recorded?: Readonly<Record<string, string>>;
}

/** The configuration as the leader reports it (Admin ListMembers). */
export interface MemberView {
  readonly id: string;
  readonly voter: boolean;
  readonly lag: number;
}

/**
 * Why the cluster is not healed, or undefined when it is: every node in `expected` answers
 * and follows the same leader in the same term; the leader's configuration is exactly
 * `expected`, all voters, each at most {@link CAUGHT_UP_LAG} behind; and the leader records
 * every other member under its current storage id (so no member is still counted under the
 * id of a data directory it lost: the leader replaces such a member, and records the new id
 * only when it adds it back).
 */
export function unhealed(
  expected: readonly string[],
  nodes: readonly NodeView[],
  members: readonly MemberView[] | undefined,
): string | undefined {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const leaders = nodes.filter((n) => expected.includes(n.name) && n.status?.isLeader === true);
  const leader = leaders[0];
  if (leader?.status === undefined) return 'no leader among the expected nodes';
  if (leaders.length > 1) return `several leaders: ${leaders.map((l) => l.name).join(', ')}`;
  for (const name of expected) {
    const s = byName.get(name)?.status;
    if (s === undefined) return `${name} does not answer`;
    if (s.leaderId !== leader.name || s.term !== leader.status.term)
      return `${name} follows ${s.leaderId || 'nobody'} in term ${s.term}, not ${leader.name} in term ${leader.status.term}`;
  }
  if (members === undefined) return `the leader ${leader.name} did not list its members`;
  const ids = members.map((m) => m.id).sort();
  if (ids.join(',') !== [...expected].sort().join(','))
    return `the configuration is [${ids.join(', ')}], not [${[...expected].sort().join(', ')}]`;
  for (const m of members) {
    if (!m.voter) return `${m.id} is a learner`;
    if (m.lag > CAUGHT_UP_LAG) return `${m.id} is ${m.lag} entries behind the leader`;
  }
  for (const member of expected) {
    if (member === leader.name) continue;
    const now = byName.get(member)?.storageId;
    const seen = leader.recorded?.[member];
    if (now === undefined) return `${member} has no storage id yet`;
    if (seen !== now)
      return `the leader ${leader.name} records ${member} under storage ${seen ?? 'none'}, its data directory has ${now}`;
  }
  return undefined;
}
