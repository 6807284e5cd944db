/**
 * Why a pod is not ready, in one line, from what the scheduler and the kubelet wrote in its
 * status: Unschedulable (with the scheduler's message, which names unbound PVCs and missing
 * node resources), a waiting container (ErrImagePull, ImagePullBackOff, CrashLoopBackOff with
 * the last termination's message or exit code, CreateContainerConfigError, …), a terminated
 * container, or "Pending: not scheduled yet". Pure; the reconcile puts it in the Ready
 * condition's message, so `kubectl get clc -o yaml` says why, not only how many.
 */

interface ContainerState {
  readonly waiting?: { readonly reason?: string; readonly message?: string };
  readonly terminated?: { readonly reason?: string; readonly message?: string; readonly exitCode?: number };
}

/** The pod status fields {@link notReadyReason} reads. */
export interface PodStatusView {
  readonly phase?: string;
  readonly conditions?: readonly {
    readonly type: string;
    readonly status: string;
    readonly reason?: string;
    readonly message?: string;
  }[];
  readonly containerStatuses?: readonly {
    readonly name: string;
    readonly ready?: boolean;
    readonly state?: ContainerState;
    readonly lastState?: ContainerState;
  }[];
}

const MAX = 300;
const clip = (s: string): string => (s.length > MAX ? `${s.slice(0, MAX - 1)}…` : s);

function terminated(t: NonNullable<ContainerState['terminated']>): string {
  const what = t.message?.trim() || t.reason || 'terminated';
  return t.exitCode !== undefined ? `${what} (exit code ${t.exitCode})` : what;
}

/** One line saying why the pod with `status` is not ready. */
export function notReadyReason(status: PodStatusView | undefined): string {
  const scheduled = status?.conditions?.find((c) => c.type === 'PodScheduled');
  if (scheduled?.status === 'False')
    return clip(`${scheduled.reason ?? 'Unschedulable'}: ${scheduled.message ?? ''}`.trim());
  for (const cs of status?.containerStatuses ?? []) {
    const w = cs.state?.waiting;
    if (w?.reason && w.reason !== 'ContainerCreating') {
      const last = cs.lastState?.terminated;
      const detail = w.reason === 'CrashLoopBackOff' && last ? `last exit: ${terminated(last)}` : (w.message ?? '');
      return clip(`${w.reason}: ${detail}`.replace(/: $/, ''));
    }
    if (cs.state?.terminated) return clip(`container ${cs.name} terminated: ${terminated(cs.state.terminated)}`);
  }
  if (!scheduled) return 'Pending: not scheduled yet';
  const ready = status?.conditions?.find((c) => c.type === 'Ready');
  if (status?.phase === 'Running')
    return ready?.message ? clip(`readiness probe failing: ${ready.message}`) : 'readiness probe not passing yet';
  return status?.phase ?? 'Pending';
}
