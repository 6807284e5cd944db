/**
 * The reconcile of one CommitLogCluster (controller-runtime's contract): level-triggered —
 * every pass re-reads the world and never trusts the event that caused it; named steps run
 * in order (observe → certificates → Raft state → scale decision → apply children → storage
 * → rollout → membership → status), each a method below; an object is applied only when
 * its desired form changed since the last apply or the live one drifted (applied.ts), so
 * removed fields go and a pass over an unchanged cluster makes no writes; status is written
 * once, at the end, from one typed observation ({@link Gathered}), and only when it changed;
 * a thrown error requeues the key with backoff. Each pass runs under the queue's AbortSignal:
 * a shutdown stops it at its next API call, and it writes nothing more (abortable.ts).
 *
 * Bootstrap happens exactly once. The first pass only records the cluster id (a new one, or
 * the one on retained volumes, identity-step.ts) in status; only when that write has
 * succeeded does a later pass render a node config that allows node 0 to bootstrap. Once the
 * cluster is seen formed (a Ready member, or a leader reported by the Admin service) status
 * records `bootstrapped: true` and the config forbids bootstrap from then on, so a pod that
 * lost its disk can never start a second cluster.
 */
import { randomUUID } from 'node:crypto';
import type { ResolvedSpec } from '../api/defaults.js';
import { ANNOTATIONS, type CommitLogCluster, type CommitLogClusterStatus } from '../api/types.js';
import { RotationPhase } from '../certs/rotation.js';
import { abortable } from '../kube/abortable.js';
import type { KubeClient, KubeObj } from '../kube/client.js';
import type { EventRecorder } from '../kube/events.js';
import type { Logger } from '../kube/logger.js';
import type { ClusterMetrics } from '../kube/metrics.js';
import type { ProcessResult } from '../kube/queue.js';
import { RESOURCES } from '../kube/resources.js';
import { desiredObjects, type DesiredObjects } from '../model/index.js';
import { Bootstrap, type ModelInputs } from '../model/inputs.js';
import { namesOf, selectorString } from '../model/names.js';
import { RESTART_ANNOTATION } from '../model/stateful-set.js';
import { validateCluster } from '../model/validate.js';
import type { AdminMember, NodeAdmin, NodeAdminFactory } from './admin.js';
import { applyAll, applyVolumes, gossipKey, pruneCaSecrets, pruneServices, pruneUserSecrets } from './apply.js';
import { announceCa, podsSettled, requeueForDwell } from './ca-rotation.js';
import { certificatesStep, requeueForRenewal, type CertificatesOutcome } from './certificates.js';
import { recordIdentity } from './identity-step.js';
import { identityMismatch } from './identity.js';
import { hostOf, observe, type World } from './observe.js';
import { generationOf, newPass, nowIso, step, StepError, writeStatus, type Pass } from './pass.js';
import { membership, queryMembers, rollout, type Scaling } from './raft-steps.js';
import { restartValue } from './rollout.js';
import { decideScale, type ScaleDecision, type ScaleOverride } from './scale.js';
import { blockedStatus, computeStatus, failedStatus, pausedStatus, type Observation } from './status.js';
import { planStorage, storageProgress } from './storage.js';

export { StepError } from './pass.js';

/** Dependencies of the reconciler. */
export interface ReconcilerDeps {
  readonly client: KubeClient;
  readonly events: EventRecorder;
  readonly log: Logger;
  /** Opens the Admin client of a cluster; undefined = status from pods only. */
  readonly admin?: NodeAdminFactory;
  readonly now?: () => Date;
  readonly newClusterId?: () => string;
  /** Requeue delay while the cluster is converging. */
  readonly progressRequeueMs?: number;
  /** Per-cluster metrics (phase, members, certificate expiry, scale and rollout steps). */
  readonly metrics?: ClusterMetrics;
}

/** What one pass of a valid cluster with a recorded id learned and did: its status is computed from this. */
export interface Gathered {
  readonly spec: ResolvedSpec;
  readonly clusterId: string;
  readonly world: World;
  readonly certs?: CertificatesOutcome;
  readonly members?: readonly AdminMember[];
  readonly adminError?: string;
  readonly bootstrapped: boolean;
  /** StatefulSet replicas after this pass. */
  readonly replicas: number;
  readonly scaling?: Scaling;
  readonly rollout?: string;
  /** Volumes still growing (storage.ts). */
  readonly storage?: string;
}

/** What the pass learned from the nodes' Admin service. */
interface RaftState {
  readonly members?: readonly AdminMember[];
  readonly adminError?: string;
  readonly bootstrapped: boolean;
}

const ADMIN_BACKOFF_MAX_MS = 5 * 60_000;
const never = new AbortController().signal;

/** The scale overrides set as annotations on the cluster (see scale.ts). */
function scaleOverride(c: CommitLogCluster): ScaleOverride {
  const a = c.metadata.annotations ?? {};
  const pod = a[ANNOTATIONS.forceScaleDown];
  return { ...(pod ? { forceScaleDown: pod } : {}), allowQuorumLoss: a[ANNOTATIONS.allowQuorumLoss] === 'true' };
}

/** The input of computeStatus for a pass that got through (or stopped at the certificates). */
export function observationOf(p: Pass, g: Gathered): Observation {
  const { c } = p;
  const tls =
    g.certs === undefined
      ? { enabled: false }
      : g.certs.ok
        ? { enabled: true, expiry: g.certs.expiry, ca: g.certs.ca.status }
        : { enabled: true, error: g.certs.error };
  return {
    generation: generationOf(p),
    desiredReplicas: g.spec.replicas,
    statefulSetReplicas: g.replicas,
    selector: selectorString(c.metadata.name),
    podName: namesOf(c.metadata.name).pod,
    pods: g.world.pods,
    ...(g.members ? { members: g.members } : {}),
    clusterId: g.clusterId,
    bootstrapped: g.bootstrapped,
    tls,
    external: { type: g.spec.external.type, addresses: g.world.externalAddresses },
    ...(g.scaling ? { scaling: g.scaling } : {}),
    ...(g.world.createFailure ? { createFailure: g.world.createFailure } : {}),
    ...(g.rollout ? { rollout: g.rollout } : {}),
    ...(g.adminError !== undefined ? { adminError: g.adminError } : {}),
    ...(g.storage !== undefined ? { storage: g.storage } : {}),
  };
}

/** Reconciles CommitLogClusters. */
export class Reconciler {
  private readonly now: () => Date;
  private readonly newClusterId: () => string;
  private readonly progressRequeueMs: number;
  /** Consecutive passes per cluster in which the Admin service did not answer. */
  private readonly adminFailures = new Map<string, number>();

  constructor(private readonly d: ReconcilerDeps) {
    this.now = d.now ?? (() => new Date());
    this.newClusterId = d.newClusterId ?? randomUUID;
    this.progressRequeueMs = d.progressRequeueMs ?? 5_000;
  }

  /** One pass over `namespace/name`; `signal` (the queue's) cancels it. */
  async reconcile(namespace: string, name: string, signal: AbortSignal = never): Promise<ProcessResult> {
    const client = abortable(this.d.client, signal);
    const c = await client.get<CommitLogCluster>(RESOURCES.cluster, namespace, name);
    if (!c || c.metadata.deletionTimestamp) {
      this.d.metrics?.forget(namespace, name);
      return {}; // children go with it (owner references)
    }
    const log = this.d.log.child({ cluster: name, namespace, reconcileId: randomUUID().slice(0, 8) });
    const p = newPass(c, { client, events: this.d.events, log, now: this.now }, signal);
    if (c.metadata.annotations?.[ANNOTATIONS.paused] === 'true') return this.paused(p);
    const v = validateCluster(c);
    if (!v.ok) return this.invalid(p, v.errors);
    if (!c.status?.clusterId) return recordIdentity(p, this.newClusterId);
    try {
      return await this.converge(p, v.spec, c.status.clusterId);
    } catch (e) {
      if (e instanceof StepError && !signal.aborted) await this.reportFailure(p, e);
      throw e;
    }
  }

  /** Paused (Strimzi's pause-reconciliation): no child is read or written; status says so. */
  private async paused(p: Pass): Promise<ProcessResult> {
    if (await writeStatus(p, pausedStatus(p.c.status, ANNOTATIONS.paused, generationOf(p), nowIso(p))))
      await p.event(
        'Normal',
        'ReconciliationPaused',
        'Pause',
        `${ANNOTATIONS.paused} is "true": the operator changes nothing`,
      );
    p.log.info({ annotation: ANNOTATIONS.paused }, 'reconciliation paused');
    return {};
  }

  /** An invalid spec: the exact messages in status and a Warning event, and nothing else. */
  private async invalid(p: Pass, errors: readonly string[]): Promise<ProcessResult> {
    const { c } = p;
    const sts = await p.client.get<KubeObj & { spec?: { replicas?: number } }>(
      RESOURCES.statefulSet,
      c.metadata.namespace,
      c.metadata.name,
    );
    const status = computeStatus(
      {
        generation: generationOf(p),
        desiredReplicas: c.spec.replicas ?? 0,
        statefulSetReplicas: sts?.spec?.replicas ?? 0,
        selector: selectorString(c.metadata.name),
        podName: namesOf(c.metadata.name).pod,
        pods: [],
        clusterId: c.status?.clusterId ?? '',
        bootstrapped: c.status?.bootstrapped ?? false,
        invalid: errors,
        tls: { enabled: false },
        external: { type: 'None', addresses: {} },
      },
      c.status,
      nowIso(p),
    );
    this.observed(p, status);
    if (await writeStatus(p, status)) await p.event('Warning', 'InvalidSpec', 'Validate', errors.join('; '));
    p.log.warn({ errors }, 'invalid spec');
    return {};
  }

  /**
   * A failed step is visible on the cluster: Ready=False and Degraded=True with reason
   * `ReconcileFailed`, the step and the API server's message, and a Warning event (the
   * recorder deduplicates repeats). The error still propagates, so the queue retries with
   * backoff; the next successful pass clears both conditions.
   */
  private async reportFailure(p: Pass, e: StepError): Promise<void> {
    const message = e.cause instanceof Error ? e.cause.message : String(e.cause);
    p.log.warn({ step: e.step, err: message }, 'step failed');
    try {
      await writeStatus(p, failedStatus(p.c.status, e.step, message, generationOf(p), nowIso(p)));
    } catch (statusError) {
      p.log.warn({ err: String(statusError) }, 'could not record the failure in status');
    }
    await p.event('Warning', 'ReconcileFailed', e.step, e.message);
  }

  /** The named steps, in order, for a valid spec with a recorded cluster id. */
  private async converge(p: Pass, spec: ResolvedSpec, clusterId: string): Promise<ProcessResult> {
    const world = await step('observe', () => observe(p.client, p.c, spec.ports.rpc));
    const mismatch = identityMismatch(world.volumes, clusterId);
    if (mismatch !== undefined) return this.refuseForeignVolumes(p, mismatch);
    const certs = await this.certificates(p, spec, world);
    if (certs && !certs.ok) return this.certificatesFailed(p, { spec, clusterId, world, certs });
    const admin = this.openAdmin(p, spec, certs);
    try {
      const raft = await this.raftState(p, admin, world);
      const decision = await this.decide(p, spec, world, raft);
      const inputs = await this.modelInputs(p, clusterId, world, decision, certs);
      await this.applyChildren(p, spec, world, desiredObjects(p.c, spec, inputs), certs?.ok ? certs.ca.orphans : []);
      if (certs?.ok) await announceCa(p, certs.ca);
      const storagePlan = planStorage(world.volumes, spec.storage.size);
      await step('storage', () =>
        applyVolumes(p, world.volumes, storagePlan.expand, spec.storage.size, {
          clusterId,
          bootstrapped: raft.bootstrapped,
        }),
      );
      const rolled =
        decision.kind === 'steady' ? await step('rollout', () => rollout(p, world, admin, raft.members)) : undefined;
      if (rolled?.restarted !== undefined) this.d.metrics?.rolloutRestart(p.c.metadata.namespace, p.c.metadata.name);
      const scaling = await this.membershipStep(p, decision, admin, raft);
      const replicas = await this.shrinkAfterRemoval(p, spec, inputs, decision, scaling);
      await this.announce(p, spec, world, decision);
      const storage = storageProgress(storagePlan, spec.storage.size);
      const gathered: Gathered = {
        spec,
        clusterId,
        world,
        ...(certs ? { certs } : {}),
        ...raft,
        replicas,
        ...(scaling ? { scaling } : {}),
        ...(rolled !== undefined ? { rollout: rolled.message } : {}),
        ...(storage !== undefined ? { storage } : {}),
      };
      const status = computeStatus(observationOf(p, gathered), p.c.status, nowIso(p));
      this.observed(p, status);
      await step('status', () => writeStatus(p, status));
      // A rotation that waits only for its dwell has nothing to poll: it is woken when the dwell ends.
      const rotation = certs?.ok === true ? certs.ca.plan : undefined;
      const converging =
        decision.kind !== 'steady' ||
        rolled !== undefined ||
        storage !== undefined ||
        (rotation !== undefined && rotation.state.phase !== RotationPhase.Idle && rotation.dwellLeftMs === undefined) ||
        status.readyReplicas !== spec.replicas;
      const requeue = requeueForDwell(this.requeue(p, converging), rotation);
      return requeueForRenewal(requeue, certs?.ok === true ? certs.renewAt : undefined, p.now());
    } finally {
      admin?.close();
    }
  }

  /** A claim holds another cluster's Raft log: starting pods over it would crash-loop them (or worse). */
  private async refuseForeignVolumes(p: Pass, mismatch: string): Promise<ProcessResult> {
    if (await writeStatus(p, blockedStatus(p.c.status, 'ClusterIdMismatch', mismatch, generationOf(p), nowIso(p))))
      await p.event('Warning', 'ClusterIdMismatch', 'Observe', mismatch);
    return { requeueAfterMs: 60_000 };
  }

  /** Step certificates: keep or issue the CA and leaf certificates (undefined when TLS is off). */
  private async certificates(p: Pass, spec: ResolvedSpec, world: World): Promise<CertificatesOutcome | undefined> {
    if (!spec.tls.enabled) return undefined;
    const podsWithCerts = Math.max(spec.replicas, world.statefulSet?.spec?.replicas ?? 0);
    const externalHosts = Object.fromEntries(
      Object.entries(world.externalAddresses).map(([pod, a]) => [pod, hostOf(a)]),
    );
    return step('certificates', () =>
      certificatesStep(p.client, p.c, spec, podsWithCerts, externalHosts, p.now(), podsSettled(world)),
    );
  }

  /** Certificates could not be issued (e.g. a user CA Secret is missing): say so, retry later. */
  private async certificatesFailed(
    p: Pass,
    g: Pick<Gathered, 'spec' | 'clusterId' | 'world'> & { certs: CertificatesOutcome & { ok: false } },
  ): Promise<ProcessResult> {
    const gathered: Gathered = {
      ...g,
      bootstrapped: p.c.status?.bootstrapped ?? false,
      replicas: g.world.statefulSet?.spec?.replicas ?? 0,
    };
    const status = computeStatus(observationOf(p, gathered), p.c.status, nowIso(p));
    this.observed(p, status);
    if (await writeStatus(p, status))
      await p.event('Warning', 'CertificatesFailed', 'IssueCertificates', g.certs.error);
    return { requeueAfterMs: 30_000 };
  }

  private openAdmin(p: Pass, spec: ResolvedSpec, certs: CertificatesOutcome | undefined): NodeAdmin | undefined {
    if (!this.d.admin) return undefined;
    const c = certs?.ok ? certs.certificates : undefined;
    return this.d.admin({
      namespace: p.c.metadata.namespace,
      headlessService: namesOf(p.c.metadata.name).headlessService,
      rpcPort: spec.ports.rpc,
      ...(c ? { tls: { caPem: c.caCertPem, certPem: c.operator.certPem, keyPem: c.operator.keyPem } } : {}),
    });
  }

  /** Step Raft state: the configuration from the Admin service, and whether the cluster ever formed. */
  private async raftState(p: Pass, admin: NodeAdmin | undefined, world: World): Promise<RaftState> {
    const { members, error } = await queryMembers(p, admin, world);
    const key = `${p.c.metadata.namespace}/${p.c.metadata.name}`;
    if (error !== undefined) {
      this.adminFailures.set(key, (this.adminFailures.get(key) ?? 0) + 1);
      await p.event('Warning', 'AdminUnreachable', 'QueryMembers', error);
    } else {
      this.adminFailures.delete(key);
    }
    const bootstrapped =
      (p.c.status?.bootstrapped ?? false) ||
      world.pods.some((x) => x.ready) ||
      (members?.some((m) => m.isLeader) ?? false);
    return { ...(members ? { members } : {}), ...(error !== undefined ? { adminError: error } : {}), bootstrapped };
  }

  /** Step scale decision (scale.ts), with the events of a refused or forced step. */
  private async decide(p: Pass, spec: ResolvedSpec, world: World, raft: RaftState): Promise<ScaleDecision> {
    const name = p.c.metadata.name;
    const readyPods = new Set(world.pods.filter((x) => x.ready).map((x) => x.name));
    const decision = decideScale({
      desired: spec.replicas,
      current: world.statefulSet?.spec?.replicas,
      readyPods: readyPods.size,
      members: raft.members,
      podName: namesOf(name).pod,
      bootstrapped: raft.bootstrapped,
      isReady: (pod) => readyPods.has(pod),
      override: scaleOverride(p.c),
    });
    if (decision.kind === 'wait' && decision.refused === true)
      await p.event('Warning', 'ForceScaleDownRefused', 'Scale', decision.reason);
    if (decision.kind === 'force-down')
      await p.event(
        'Warning',
        'ForcedScaleDown',
        'Scale',
        `StatefulSet ${name} → ${decision.replicas} replicas without removing ${decision.member} from the Raft configuration (${ANNOTATIONS.forceScaleDown})${decision.quorumLost ? '; quorum may be lost' : ''}`,
      );
    return decision;
  }

  private async modelInputs(
    p: Pass,
    clusterId: string,
    world: World,
    decision: ScaleDecision,
    certs: CertificatesOutcome | undefined,
  ): Promise<ModelInputs> {
    const claimSize = world.statefulSet?.spec?.volumeClaimTemplates?.[0]?.spec?.resources?.requests?.storage;
    const restart = restartValue(
      p.c.metadata.annotations?.[ANNOTATIONS.restart],
      world.statefulSet?.spec?.template?.metadata?.annotations?.[RESTART_ANNOTATION],
    );
    return {
      clusterId,
      bootstrap: p.c.status?.bootstrapped === true ? Bootstrap.forbidden : Bootstrap.allowed,
      statefulSetReplicas: decision.replicas,
      ...(certs?.ok ? { certificates: certs.certificates } : {}),
      gossipKey: await gossipKey(p),
      externalAddresses: world.externalAddresses,
      ...(claimSize !== undefined ? { volumeClaimSize: claimSize } : {}),
      ...(restart !== undefined ? { restart } : {}),
    };
  }

  /** Steps certificates → config → services (and pruning) → statefulset: apply what changed. */
  private async applyChildren(
    p: Pass,
    spec: ResolvedSpec,
    world: World,
    desired: DesiredObjects,
    caOrphans: readonly string[] = [],
  ): Promise<void> {
    await step('certificates', async () => {
      await applyAll(p, desired.secrets);
      await pruneCaSecrets(p, caOrphans);
    });
    await step('config', () => applyAll(p, desired.config));
    await step('services', async () => {
      await applyAll(p, desired.services);
      await pruneServices(p, world.externalServiceNames, desired.services);
      await pruneUserSecrets(p, spec);
    });
    await step('statefulset', () => applyAll(p, desired.statefulSet));
  }

  /** Step membership: the Raft side of the scale decision; the Admin error says why it waits. */
  private async membershipStep(
    p: Pass,
    decision: ScaleDecision,
    admin: NodeAdmin | undefined,
    raft: RaftState,
  ): Promise<Scaling | undefined> {
    const scaled = await step('membership', () => membership(p, decision, admin, raft.members));
    return scaled?.waiting !== undefined && raft.adminError !== undefined
      ? { ...scaled, waiting: `${scaled.waiting}: ${raft.adminError}` }
      : scaled;
  }

  /**
   * Scale-down: shrink in the same pass as the removal committed, not one requeue later. The
   * "removed, don't re-add" memory of the nodes ends when the pod leaves gossip, so the window
   * in which the removed member is alive must be as short as possible. Returns the replicas now.
   */
  private async shrinkAfterRemoval(
    p: Pass,
    spec: ResolvedSpec,
    inputs: ModelInputs,
    decision: ScaleDecision,
    scaling: Scaling | undefined,
  ): Promise<number> {
    if (decision.kind !== 'remove-member' || scaling?.removed !== true) return decision.replicas;
    this.d.metrics?.scaleStep(p.c.metadata.namespace, p.c.metadata.name, 'remove-member');
    const replicas = decision.replicas - 1;
    const shrunk = desiredObjects(p.c, spec, { ...inputs, statefulSetReplicas: replicas });
    await step('statefulset', () => applyAll(p, shrunk.statefulSet));
    return replicas;
  }

  /** The events of the pass: what it changed, a pod the StatefulSet could not create, a scale step. */
  private async announce(p: Pass, spec: ResolvedSpec, world: World, decision: ScaleDecision): Promise<void> {
    if (world.createFailure) await p.event('Warning', 'FailedCreate', 'CreatePod', world.createFailure.message);
    if (p.changed.length > 0) {
      await p.event('Normal', 'Applied', 'Reconcile', p.changed.join(', '));
      p.log.info({ changed: p.changed }, 'applied');
    }
    if (decision.kind === 'up' || decision.kind === 'down' || decision.kind === 'force-down')
      this.d.metrics?.scaleStep(p.c.metadata.namespace, p.c.metadata.name, decision.kind);
    if (decision.kind === 'up' || decision.kind === 'down')
      await p.event(
        'Normal',
        decision.kind === 'up' ? 'ScalingUp' : 'ScalingDown',
        'Scale',
        `StatefulSet ${p.c.metadata.name} → ${decision.replicas} replicas (target ${spec.replicas})`,
      );
  }

  private observed(p: Pass, status: CommitLogClusterStatus): void {
    this.d.metrics?.observeStatus(p.c.metadata.namespace, p.c.metadata.name, status);
  }

  /** When to look again: Admin unreachable backs off exponentially (to 5 minutes); converging polls. */
  private requeue(p: Pass, converging: boolean): ProcessResult {
    const failures = this.adminFailures.get(`${p.c.metadata.namespace}/${p.c.metadata.name}`) ?? 0;
    if (failures > 0)
      return { requeueAfterMs: Math.min(ADMIN_BACKOFF_MAX_MS, this.progressRequeueMs * 2 ** (failures - 1)) };
    return converging ? { requeueAfterMs: this.progressRequeueMs } : {};
  }
}
