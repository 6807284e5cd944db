/**
 * The status of a CommitLogCluster, computed from what one pass observed. Pure: the
 * reconcile gathers observations, this builds the status, the reconcile writes it once.
 * Conditions follow the API conventions: one per type, `lastTransitionTime` changes only
 * when `status` changes, `observedGeneration` says which spec they describe.
 */
import {
  ConditionType,
  Phase,
  type CaStatus,
  type CommitLogClusterStatus,
  type Condition,
  type MemberStatus,
} from '../api/types.js';
import type { AdminMember } from './admin.js';
import type { CreateFailure } from './create-failure.js';

/** A condition before timestamps and generation are filled in. */
export interface ConditionInput {
  readonly type: string;
  readonly status: 'True' | 'False' | 'Unknown';
  readonly reason: string;
  readonly message: string;
}

/** Merges new conditions into previous ones, keeping lastTransitionTime when status is unchanged. */
export function mergeConditions(
  previous: readonly Condition[] | undefined,
  next: readonly ConditionInput[],
  generation: number,
  now: string,
): Condition[] {
  return next.map((c) => {
    const old = previous?.find((p) => p.type === c.type);
    return {
      type: c.type,
      status: c.status,
      reason: c.reason,
      message: c.message,
      observedGeneration: generation,
      lastTransitionTime: old && old.status === c.status ? old.lastTransitionTime : now,
    };
  });
}

/** One observed pod. */
export interface ObservedPod {
  readonly name: string;
  readonly ready: boolean;
  readonly internalAddress: string;
  /** Why it is not ready (pod-reason.ts); absent when ready. */
  readonly notReady?: string;
  /** StatefulSet revision the pod runs (label controller-revision-hash). */
  readonly revision?: string;
}

/** What a pass observed and decided, input of {@link computeStatus}. */
export interface Observation {
  readonly generation: number;
  readonly desiredReplicas: number;
  readonly statefulSetReplicas: number;
  readonly selector: string;
  /** Name of the pod of an ordinal (`<cluster>-<i>`): which pods should exist. */
  readonly podName: (ordinal: number) => string;
  readonly pods: readonly ObservedPod[];
  /** From the Admin service; undefined when no node answered (or before the client exists). */
  readonly members?: readonly AdminMember[];
  readonly clusterId: string;
  readonly bootstrapped: boolean;
  readonly invalid?: readonly string[];
  readonly tls: {
    readonly enabled: boolean;
    readonly expiry?: string;
    readonly error?: string;
    /** The CA and its rotation (ca-rotation.ts). */
    readonly ca?: CaStatus;
  };
  readonly external: { readonly type: string; readonly addresses: Readonly<Record<string, string>> };
  /** Why the pass could not move toward the desired replicas, if it could not. */
  readonly scaling?: { readonly direction: 'up' | 'down'; readonly waiting?: string };
  /** Rolling update in progress: what it did or waits for. */
  readonly rollout?: string;
  /** Volumes still growing to spec.storage.size (storage.ts), if any. */
  readonly storage?: string;
  /** Every ready pod's Admin service failed to answer (the gRPC errors). */
  readonly adminError?: string;
  /** The StatefulSet controller could not create a missing pod (create-failure.ts). */
  readonly createFailure?: CreateFailure;
}

const quorum = (n: number): number => Math.floor(n / 2) + 1;

function members(o: Observation): MemberStatus[] {
  const podByName = new Map(o.pods.map((p) => [p.name, p]));
  if (o.members) {
    return o.members.map((m) => ({
      name: m.id,
      role: m.role,
      ready: podByName.get(m.id)?.ready ?? false,
      lag: m.lag,
      internalAddress: m.rpcAddr,
      ...((o.external.addresses[m.id] ?? m.externalRpcAddr)
        ? { externalAddress: o.external.addresses[m.id] ?? m.externalRpcAddr }
        : {}),
    }));
  }
  // Without the Admin service, members are the pods as observed: no role, lag or leader
  // is reported rather than guessed.
  return o.pods.map((p) => ({
    name: p.name,
    ready: p.ready,
    internalAddress: p.internalAddress,
    ...(o.external.addresses[p.name] ? { externalAddress: o.external.addresses[p.name] } : {}),
  }));
}

/** "; demo-1: CrashLoopBackOff: …; demo-2: no pod" for the members that should run and are not ready (at most five). */
function whyNotReady(o: Observation): string {
  const byName = new Map(o.pods.map((p) => [p.name, p]));
  const reasons = Array.from({ length: o.statefulSetReplicas }, (_, i) => o.podName(i)).flatMap((n) => {
    const p = byName.get(n);
    const failed = o.createFailure && (o.createFailure.pod ?? n) === n ? o.createFailure : undefined;
    if (!p) return [failed ? `${n}: FailedCreate: ${failed.message}` : `${n}: no pod`];
    return p.ready ? [] : [`${n}: ${p.notReady ?? 'not ready'}`];
  });
  if (reasons.length === 0) return '';
  return `; ${reasons.slice(0, 5).join('; ')}${reasons.length > 5 ? `; and ${reasons.length - 5} more` : ''}`;
}

/** "2/3 members ready", or during a scale-down "5 members ready, scaling down to 3". */
function readyMessage(ready: number, running: number, want: number): string {
  return running > want
    ? `${ready} of ${running} members ready, scaling down to ${want}`
    : `${ready}/${want} members ready`;
}

/**
 * The status when the pass stopped before changing anything: the previous status with
 * Ready=False and Degraded=True, both with `reason` and `message`; every other condition is
 * kept as it was (with the generation it described), nothing is recomputed from values this
 * pass did not observe. The next pass that gets through replaces both.
 */
export function blockedStatus(
  previous: CommitLogClusterStatus | undefined,
  reason: string,
  message: string,
  generation: number,
  now: string,
): CommitLogClusterStatus {
  const blocked: ConditionInput[] = [
    { type: ConditionType.Ready, status: 'False', reason, message },
    { type: ConditionType.Degraded, status: 'True', reason, message },
  ];
  const merged = mergeConditions(previous?.conditions, blocked, generation, now);
  const kept = (previous?.conditions ?? []).filter((p) => !blocked.some((f) => f.type === p.type));
  return { ...(previous ?? {}), conditions: [...merged, ...kept] };
}

/** The status after a failed step: {@link blockedStatus} with reason `ReconcileFailed`, naming the step. */
export function failedStatus(
  previous: CommitLogClusterStatus | undefined,
  step: string,
  message: string,
  generation: number,
  now: string,
): CommitLogClusterStatus {
  return blockedStatus(previous, 'ReconcileFailed', `step ${step} failed: ${message}`, generation, now);
}

/**
 * The status while reconciliation is paused: the previous status plus the condition
 * ReconciliationPaused=True; nothing else is recomputed (the operator looks at nothing).
 * A normal pass after the pause builds the conditions afresh, without it.
 */
export function pausedStatus(
  previous: CommitLogClusterStatus | undefined,
  annotation: string,
  generation: number,
  now: string,
): CommitLogClusterStatus {
  const paused: ConditionInput = {
    type: ConditionType.ReconciliationPaused,
    status: 'True',
    reason: 'Paused',
    message: `annotation ${annotation}: "true": the operator changes nothing until it is removed`,
  };
  const kept = (previous?.conditions ?? []).filter((p) => p.type !== paused.type);
  return {
    ...(previous ?? {}),
    conditions: [...kept, ...mergeConditions(previous?.conditions, [paused], generation, now)],
  };
}

/** Computes the status to write (conditions merged with `previous`). */
export function computeStatus(
  o: Observation,
  previous: CommitLogClusterStatus | undefined,
  now: string,
): CommitLogClusterStatus {
  const ready = o.pods.filter((p) => p.ready).length;
  const leader = o.members?.find((m) => m.isLeader)?.id;
  const conds: ConditionInput[] = [];
  const c = (type: string, ok: boolean | 'unknown', reason: string, message: string): void => {
    conds.push({ type, status: ok === 'unknown' ? 'Unknown' : ok ? 'True' : 'False', reason, message });
  };
  const want = o.desiredReplicas;
  const rotation = o.tls.ca && o.tls.ca.rotationPhase !== 'Idle' ? o.tls.ca : undefined;
  if (o.invalid && o.invalid.length > 0) {
    // Nothing was observed or issued for an invalid spec: every condition that would need an
    // observation is Unknown, never computed from placeholder values.
    const msg = o.invalid.join('; ');
    c(ConditionType.Ready, false, 'InvalidSpec', msg);
    c(ConditionType.Available, 'unknown', 'InvalidSpec', msg);
    c(ConditionType.Progressing, false, 'InvalidSpec', msg);
    c(ConditionType.Degraded, true, 'InvalidSpec', msg);
    c(ConditionType.CertificatesReady, 'unknown', 'InvalidSpec', msg);
    c(ConditionType.ExternalAccessReady, 'unknown', 'InvalidSpec', msg);
  } else {
    const allReady = ready === want && o.statefulSetReplicas === want && o.adminError === undefined;
    if (o.adminError !== undefined) c(ConditionType.Ready, false, 'AdminUnreachable', o.adminError);
    else
      c(
        ConditionType.Ready,
        allReady,
        allReady ? 'AllMembersReady' : o.createFailure ? 'FailedCreate' : 'MembersNotReady',
        `${readyMessage(ready, o.statefulSetReplicas, want)}${whyNotReady(o)}`,
      );
    const available = o.statefulSetReplicas > 0 && ready >= quorum(o.statefulSetReplicas);
    c(
      ConditionType.Available,
      available,
      available ? 'QuorumReady' : 'NoQuorum',
      available
        ? `${ready} of ${o.statefulSetReplicas} members ready (quorum ${quorum(o.statefulSetReplicas)})`
        : `quorum needs ${quorum(Math.max(1, o.statefulSetReplicas))} ready members, ${ready} ready`,
    );
    if (o.scaling) {
      const reason = o.scaling.waiting
        ? 'WaitingForMembers'
        : o.scaling.direction === 'up'
          ? 'ScalingUp'
          : 'ScalingDown';
      c(
        ConditionType.Progressing,
        true,
        reason,
        o.scaling.waiting ??
          `scaling ${o.scaling.direction} from ${o.statefulSetReplicas} to ${want} members, one at a time`,
      );
    } else if (o.rollout) {
      c(ConditionType.Progressing, true, 'RollingUpdate', o.rollout);
    } else if (o.storage) {
      c(ConditionType.Progressing, true, 'ExpandingVolumes', o.storage);
    } else if (rotation) {
      c(
        ConditionType.Progressing,
        true,
        'RotatingCa',
        `CA rotation ${rotation.rotationPhase}: ${rotation.waiting ?? ''}`,
      );
    } else if (!allReady) {
      c(ConditionType.Progressing, true, 'MembersStarting', readyMessage(ready, o.statefulSetReplicas, want));
    } else {
      c(ConditionType.Progressing, false, 'Stable', `${want} members ready`);
    }
    const degraded = o.bootstrapped && ready < o.statefulSetReplicas;
    if (o.adminError !== undefined) c(ConditionType.Degraded, true, 'AdminUnreachable', o.adminError);
    else if (o.createFailure) c(ConditionType.Degraded, true, 'FailedCreate', o.createFailure.message);
    else {
      c(
        ConditionType.Degraded,
        degraded,
        degraded ? 'MembersUnavailable' : 'AsExpected',
        degraded ? `${o.statefulSetReplicas - ready} member(s) not ready` : 'no member unavailable',
      );
    }
    if (!o.tls.enabled) c(ConditionType.CertificatesReady, true, 'TlsDisabled', 'spec.tls.enabled is false');
    else if (o.tls.error) c(ConditionType.CertificatesReady, false, 'IssueFailed', o.tls.error);
    else
      c(ConditionType.CertificatesReady, true, 'Issued', o.tls.expiry ? `earliest expiry ${o.tls.expiry}` : 'issued');
    if (rotation)
      c(
        ConditionType.CaRotating,
        true,
        rotation.rotationPhase,
        `CA ${rotation.current.slice(0, 16)} → ${rotation.next?.slice(0, 16) ?? ''}: ${rotation.waiting ?? 'in progress'}`,
      );
    if (o.external.type === 'None')
      c(ConditionType.ExternalAccessReady, true, 'Disabled', 'spec.external.type is None');
    else if (o.statefulSetReplicas === 0)
      c(ConditionType.ExternalAccessReady, false, 'NoMembers', 'no member exists yet to give an external address');
    else {
      // Every member the StatefulSet should run needs an address, whether its pod exists yet or not.
      const pending = Array.from({ length: o.statefulSetReplicas }, (_, i) => o.podName(i)).filter(
        (n) => !o.external.addresses[n],
      );
      c(
        ConditionType.ExternalAccessReady,
        pending.length === 0,
        pending.length === 0 ? 'AddressesAssigned' : 'AddressPending',
        pending.length === 0
          ? 'every member has an external address'
          : `waiting for external addresses of ${pending.join(', ')}`,
      );
    }
  }

  let phase: Phase;
  if (o.invalid && o.invalid.length > 0) phase = Phase.Failed;
  else if (!o.bootstrapped) phase = Phase.Bootstrapping;
  else if (o.scaling) phase = Phase.Scaling;
  else if (o.statefulSetReplicas === 0) phase = Phase.Pending;
  else if (ready < o.statefulSetReplicas) phase = Phase.Degraded;
  else phase = Phase.Running;

  return {
    observedGeneration: o.generation,
    phase,
    replicas: o.statefulSetReplicas,
    readyReplicas: ready,
    selector: o.selector,
    ...(leader ? { leader } : {}),
    members: members(o),
    clusterId: o.clusterId,
    bootstrapped: o.bootstrapped,
    ...(o.tls.expiry ? { certificateExpiry: o.tls.expiry } : {}),
    ...(o.tls.ca ? { ca: o.tls.ca } : {}),
    conditions: mergeConditions(previous?.conditions, conds, o.generation, now),
  };
}
