/**
 * The steps of a pass that talk to the nodes' Admin service: reading the Raft configuration,
 * the membership change of a scale-down (leadership moved away first), and the rolling
 * restart of one outdated pod (leader last, after a leadership transfer).
 */
import { RESOURCES } from '../kube/resources.js';
import { namesOf } from '../model/names.js';
import type { AdminMember, NodeAdmin } from './admin.js';
import type { World } from './observe.js';
import type { Pass } from './pass.js';
import { decideRollout } from './rollout.js';
import type { ScaleDecision } from './scale.js';

/** What the membership step did, or waits for (the Progressing condition). */
export interface Scaling {
  readonly direction: 'up' | 'down';
  readonly waiting?: string;
  /** The scale-down's member was removed from the Raft configuration in this pass. */
  readonly removed?: boolean;
}

/**
 * An Admin error without the parts that change on every attempt (grpc-js appends elapsed
 * times to DEADLINE_EXCEEDED and timestamps to connection errors), so a persisting failure
 * is one unchanged status and one deduplicated event, not a write per pass.
 */
export function stableError(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.replace(/ after [\d.]+m?s\b.*$/s, '').replace(/\s*\(?\d{4}-\d{2}-\d{2}T[\d:.]+Z\)?/g, '');
}

/**
 * The Raft configuration, asked of ready pods in turn; undefined when none answers, with
 * `error` (each pod's error) when some ready pod was asked and none answered.
 */
export async function queryMembers(
  p: Pass,
  admin: NodeAdmin | undefined,
  world: World,
): Promise<{ members?: readonly AdminMember[]; error?: string }> {
  if (!admin) return {};
  const errors: string[] = [];
  for (const pod of world.pods.filter((x) => x.ready)) {
    p.signal.throwIfAborted();
    try {
      return { members: await admin.members(pod.name) };
    } catch (e) {
      p.log.debug({ pod: pod.name, err: String(e) }, 'admin members failed');
      errors.push(`${pod.name}: ${stableError(e)}`);
    }
  }
  return errors.length > 0 ? { error: `Admin service unreachable (${errors.join('; ')})` } : {};
}

/** Carries out the membership part of a scale decision (RemoveMember for a scale-down). */
export async function membership(
  p: Pass,
  decision: ScaleDecision,
  admin: NodeAdmin | undefined,
  members: readonly AdminMember[] | undefined,
): Promise<Scaling | undefined> {
  switch (decision.kind) {
    case 'create':
    case 'steady':
      return undefined;
    case 'up':
      return { direction: 'up' };
    case 'down':
    case 'force-down':
      return { direction: 'down' };
    case 'wait':
      return { direction: decision.direction, waiting: decision.reason };
    case 'remove-member': {
      let leader = members?.find((m) => m.isLeader)?.id;
      if (!admin || !leader)
        return { direction: 'down', waiting: `no Raft leader to remove ${decision.member} through` }; // decideScale checked both
      if (leader === decision.member) {
        leader = await admin.transferLeadership(leader);
        p.log.info({ from: decision.member, to: leader }, 'transferred leadership before removal');
      }
      p.signal.throwIfAborted();
      // RemoveMember resolves once the new configuration has committed (admin.proto).
      await admin.removeMember(leader, decision.member);
      p.log.info({ member: decision.member }, 'removed Raft member');
      return { direction: 'down', removed: true };
    }
  }
}

/** A rolling update in progress: what it did (the pod it restarted) or waits for. */
export interface Rollout {
  readonly message: string;
  readonly restarted?: string;
}

/** Restarts at most one outdated pod (OnDelete update strategy); returns what it did or awaits. */
export async function rollout(
  p: Pass,
  world: World,
  admin: NodeAdmin | undefined,
  members: readonly AdminMember[] | undefined,
): Promise<Rollout | undefined> {
  const names = namesOf(p.c.metadata.name);
  const expected = Array.from({ length: world.statefulSet?.spec?.replicas ?? 0 }, (_, i) => names.pod(i));
  const d = decideRollout(world.pods, world.statefulSet?.status?.updateRevision, members, expected);
  if (d.kind === 'none') return undefined;
  if (d.kind === 'wait') return { message: d.reason };
  if (d.transferLeadershipFirst && admin) {
    const to = await admin.transferLeadership(d.pod);
    p.log.info({ from: d.pod, to }, 'transferred leadership before restarting the leader');
  }
  await p.client.delete(RESOURCES.pod, p.c.metadata.namespace, d.pod);
  await p.event('Normal', 'RollingUpdate', 'RestartPod', `restarted ${d.pod} onto the new pod template`);
  return { message: `rolling update: restarted ${d.pod}`, restarted: d.pod };
}
