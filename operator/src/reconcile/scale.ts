/**
 * Scaling decisions, pure. Raft changes membership one server at a time (Raft §6, single-server
 * changes), so the StatefulSet moves one pod at a time:
 * - up: add a pod only when every existing pod is Ready (a Ready pod is a caught-up voter)
 *   and, when the Admin service answers, no member is still a learner;
 * - down: first remove the highest-ordinal member from the Raft configuration through the
 *   Admin service (leadership moved away first if it leads), and shrink the StatefulSet only
 *   once the committed configuration no longer contains it.
 */
import type { AdminMember } from './admin.js';

/** What the StatefulSet step should do with replicas. */
export type ScaleDecision =
  | { readonly kind: 'create'; readonly replicas: number }
  | { readonly kind: 'steady'; readonly replicas: number }
  | { readonly kind: 'up'; readonly replicas: number }
  | { readonly kind: 'wait'; readonly replicas: number; readonly direction: 'up' | 'down'; readonly reason: string }
  | { readonly kind: 'remove-member'; readonly replicas: number; readonly member: string }
  | { readonly kind: 'down'; readonly replicas: number };

/** Inputs of {@link decideScale}. */
export interface ScaleInputs {
  readonly desired: number;
  /** Current StatefulSet replicas; undefined when it does not exist yet. */
  readonly current: number | undefined;
  readonly readyPods: number;
  /** Raft configuration from the Admin service; undefined when unreachable. */
  readonly members: readonly AdminMember[] | undefined;
  readonly podName: (ordinal: number) => string;
}

/** Decides the next replica count. */
export function decideScale(s: ScaleInputs): ScaleDecision {
  const { desired, current } = s;
  if (current === undefined) return { kind: 'create', replicas: desired };
  if (desired === current) return { kind: 'steady', replicas: current };
  if (desired > current) {
    if (s.readyPods < current) return { kind: 'wait', replicas: current, direction: 'up', reason: `scale-up waits for all ${current} members to be ready (${s.readyPods} ready)` };
    const learner = s.members?.find((m) => m.role === 'learner');
    if (learner) return { kind: 'wait', replicas: current, direction: 'up', reason: `scale-up waits for learner ${learner.id} to be promoted` };
    return { kind: 'up', replicas: current + 1 };
  }
  const victim = s.podName(current - 1);
  if (!s.members) {
    return { kind: 'wait', replicas: current, direction: 'down', reason: `scale-down waits for the nodes' Admin service to remove ${victim} from the Raft configuration` };
  }
  if (s.members.some((m) => m.id === victim)) return { kind: 'remove-member', replicas: current, member: victim };
  return { kind: 'down', replicas: current - 1 };
}
