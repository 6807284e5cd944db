/**
 * Scaling decisions, pure. Raft changes membership one server at a time (Raft §6, single-server
 * changes), so the StatefulSet moves one pod at a time:
 * - up: add a pod only when every existing pod is Ready (a Ready pod is a caught-up voter)
 *   and, when the Admin service answers, no member is still a learner;
 * - down: first remove the highest-ordinal member from the Raft configuration through the
 *   Admin service (leadership moved away first if it leads), and shrink the StatefulSet only
 *   once the committed configuration no longer contains it.
 *
 * Two ways out of a wait that would otherwise last forever:
 * - a cluster that never bootstrapped has no Raft state to protect: it scales straight to
 *   the desired size, in either direction;
 * - when the member cannot be removed (Admin service unreachable, or no leader), the
 *   annotation `commitlog.dev/force-scale-down: <pod>` naming the pod the step would remove
 *   shrinks the StatefulSet by that one pod without the Raft removal. It is refused when the
 *   remaining ready pods would be fewer than a quorum of the current configuration, unless
 *   `commitlog.dev/allow-quorum-loss: "true"` is set as well. The removed member stays in the
 *   Raft configuration until someone removes it (`commitlog members remove`).
 */
import type { AdminMember } from './admin.js';

/** What the StatefulSet step should do with replicas. */
export type ScaleDecision =
  | { readonly kind: 'create'; readonly replicas: number }
  | { readonly kind: 'steady'; readonly replicas: number }
  | { readonly kind: 'up'; readonly replicas: number }
  | {
      readonly kind: 'wait';
      readonly replicas: number;
      readonly direction: 'up' | 'down';
      readonly reason: string;
      readonly refused?: boolean;
    }
  | { readonly kind: 'remove-member'; readonly replicas: number; readonly member: string }
  | { readonly kind: 'down'; readonly replicas: number }
  /** Shrink by one without removing `member` from Raft: forced by the user's annotation. */
  | { readonly kind: 'force-down'; readonly replicas: number; readonly member: string; readonly quorumLost: boolean };

/** The user's force annotations of the cluster. */
export interface ScaleOverride {
  /** Pod named by `commitlog.dev/force-scale-down`. */
  readonly forceScaleDown?: string;
  /** `commitlog.dev/allow-quorum-loss: "true"`. */
  readonly allowQuorumLoss?: boolean;
}

/** Inputs of {@link decideScale}. */
export interface ScaleInputs {
  readonly desired: number;
  /** Current StatefulSet replicas; undefined when it does not exist yet. */
  readonly current: number | undefined;
  readonly readyPods: number;
  /** Raft configuration from the Admin service; undefined when unreachable. */
  readonly members: readonly AdminMember[] | undefined;
  readonly podName: (ordinal: number) => string;
  /** Whether the cluster ever formed; default true (the safe assumption). */
  readonly bootstrapped?: boolean;
  /** Whether a pod is Ready (for the quorum check of a forced step); default: none is. */
  readonly isReady?: (pod: string) => boolean;
  readonly override?: ScaleOverride;
}

const quorum = (n: number): number => Math.floor(n / 2) + 1;

/** Decides the next replica count. */
export function decideScale(s: ScaleInputs): ScaleDecision {
  const { desired, current } = s;
  if (current === undefined) return { kind: 'create', replicas: desired };
  if (desired === current) return { kind: 'steady', replicas: current };
  if (s.bootstrapped === false && !s.members)
    return desired > current ? { kind: 'up', replicas: desired } : { kind: 'down', replicas: desired };
  if (desired > current) {
    if (s.readyPods < current)
      return {
        kind: 'wait',
        replicas: current,
        direction: 'up',
        reason: `scale-up waits for all ${current} members to be ready (${s.readyPods} ready)`,
      };
    const learner = s.members?.find((m) => m.role === 'learner');
    if (learner)
      return {
        kind: 'wait',
        replicas: current,
        direction: 'up',
        reason: `scale-up waits for learner ${learner.id} to be promoted`,
      };
    return { kind: 'up', replicas: current + 1 };
  }
  const victim = s.podName(current - 1);
  if (s.members && !s.members.some((m) => m.id === victim)) return { kind: 'down', replicas: current - 1 };
  const blocked = !s.members
    ? `scale-down waits for the nodes' Admin service to remove ${victim} from the Raft configuration`
    : s.members.some((m) => m.isLeader)
      ? undefined
      : `scale-down waits for a Raft leader to remove ${victim} through`;
  if (blocked === undefined) return { kind: 'remove-member', replicas: current, member: victim };
  if (s.override?.forceScaleDown !== victim)
    return { kind: 'wait', replicas: current, direction: 'down', reason: blocked };
  const readyAfter = s.readyPods - (s.isReady?.(victim) === true ? 1 : 0);
  const quorumLost = readyAfter < quorum(current);
  if (quorumLost && s.override.allowQuorumLoss !== true) {
    return {
      kind: 'wait',
      replicas: current,
      direction: 'down',
      refused: true,
      reason: `forced scale-down of ${victim} refused: ${readyAfter} ready member(s) would remain, fewer than the quorum of ${quorum(current)} of the current ${current}-member configuration (set commitlog.dev/allow-quorum-loss: "true" to accept losing quorum)`,
    };
  }
  return { kind: 'force-down', replicas: current - 1, member: victim, quorumLost };
}
