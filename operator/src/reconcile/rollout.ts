/**
 * Rolling updates, pure. The StatefulSet uses `OnDelete`, so a changed pod template reaches a
 * pod only when the operator deletes it. Rules (ARCHITECTURE.md: "leader last, never below
 * quorum"):
 * - one pod at a time, and only while every pod the StatefulSet should run exists, is not
 *   terminating and is Ready (a PDB of maxUnavailable 1 agrees). A pod just deleted is
 *   either terminating or not yet recreated: both are "not ready", never "not there", so
 *   the next pass cannot take a second member down while the first is restarting;
 * - followers first, highest ordinal first;
 * - the Raft leader last, after handing leadership to an updated voter when the Admin
 *   service answers (without it, the node's SIGTERM handler transfers leadership itself).
 */
import type { AdminMember } from './admin.js';
import type { ObservedPod } from './status.js';

/**
 * The `commitlog.dev/restart` value the pod template should carry: the cluster's annotation
 * (`annotation`) when set, else the value the live pod template already carries (`live`), so
 * that removing the annotation changes no template and restarts nothing. A new value is a
 * new template, rolled out by {@link decideRollout} like any other.
 */
export function restartValue(annotation: string | undefined, live: string | undefined): string | undefined {
  return annotation ?? live;
}

/** What the rollout step should do. */
export type RolloutDecision =
  | { readonly kind: 'none' }
  | { readonly kind: 'wait'; readonly reason: string }
  | { readonly kind: 'delete'; readonly pod: string; readonly transferLeadershipFirst: boolean };

/**
 * Decides the next pod to restart onto `updateRevision`. `pods` are the pods that exist and
 * are not terminating; `expected` names every pod the StatefulSet should run (its ordinals).
 */
export function decideRollout(
  pods: readonly ObservedPod[],
  updateRevision: string | undefined,
  members: readonly AdminMember[] | undefined,
  expected: readonly string[],
): RolloutDecision {
  if (!updateRevision) return { kind: 'none' };
  const outdated = pods.filter((p) => p.revision !== undefined && p.revision !== updateRevision);
  if (outdated.length === 0) return { kind: 'none' };
  const present = new Map(pods.map((p) => [p.name, p]));
  const notReady = [...new Set([...expected, ...present.keys()])].filter((n) => present.get(n)?.ready !== true);
  if (notReady.length > 0)
    return { kind: 'wait', reason: `rolling update waits for ${notReady.join(', ')} to be ready` };
  const leader = members?.find((m) => m.isLeader)?.id;
  const followers = outdated.filter((p) => p.name !== leader);
  const next = followers.at(-1) ?? outdated.at(-1);
  if (!next) return { kind: 'none' };
  return { kind: 'delete', pod: next.name, transferLeadershipFirst: next.name === leader };
}
