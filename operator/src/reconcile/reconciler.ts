/**
 * The reconcile of one CommitLogCluster (controller-runtime's contract): level-triggered —
 * every pass re-reads the world and never trusts the event that caused it; named steps run
 * in order (certificates → config → services → statefulset → membership → status); an object
 * is applied only when its desired form changed since the last apply or the live one drifted
 * (applied.ts), so removed fields go and a pass over an unchanged cluster makes no writes;
 * status is written once, at the end, and only when it changed; a thrown error requeues the
 * key with backoff.
 *
 * Bootstrap happens exactly once. The first pass only records a new cluster id and
 * `bootstrapped: false` in status; only when that write has succeeded does a later pass
 * render a node config that allows node 0 to bootstrap. Once the cluster is seen formed (a
 * Ready member, or a leader reported by the Admin service) status records
 * `bootstrapped: true` and the config forbids bootstrap from then on, so a pod that lost its
 * disk can never start a second cluster.
 */
import { randomUUID } from 'node:crypto';
import { validateCluster } from '../model/validate.js';
import type { ResolvedSpec } from '../api/defaults.js';
import {
  ANNOTATIONS,
  API_VERSION,
  KIND,
  Phase,
  type CommitLogCluster,
  type CommitLogClusterStatus,
} from '../api/types.js';
import { gossipKey as newGossipKey } from '../certs/pki.js';
import type { KubeClient, KubeObj } from '../kube/client.js';
import type { EventRecorder } from '../kube/events.js';
import type { Logger } from '../kube/logger.js';
import type { ProcessResult } from '../kube/queue.js';
import { resourceOf, RESOURCES } from '../kube/resources.js';
import { desiredObjects, type KubeObject } from '../model/index.js';
import { Bootstrap, type ModelInputs } from '../model/inputs.js';
import { LABELS, namesOf, selectorString } from '../model/names.js';
import type { AdminMember, NodeAdmin, NodeAdminFactory } from './admin.js';
import { certificatesStep } from './certificates.js';
import { applyReason, stamped } from './applied.js';
import { contains, differences } from './compare.js';
import { identityForNewCluster, identityMismatch, VOLUME_ANNOTATIONS, volumesToStamp } from './identity.js';
import { hostOf, observe, volumeIdentity, type World } from './observe.js';
import { decideRollout } from './rollout.js';
import { decideScale, type ScaleDecision, type ScaleOverride } from './scale.js';
import { blockedStatus, computeStatus, failedStatus, pausedStatus } from './status.js';
import { planStorage, storageProgress, type ObservedVolume } from './storage.js';

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
}

/** A step failed; `step` names it for metrics and the Degraded message. */
export class StepError extends Error {
  readonly code = 'RECONCILE_STEP_FAILED';
  constructor(
    readonly step: string,
    override readonly cause: unknown,
  ) {
    super(`step ${step} failed: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'StepError';
  }
}

const ADMIN_BACKOFF_MAX_MS = 5 * 60_000;

/** The scale overrides set as annotations on the cluster (see scale.ts). */
function scaleOverride(c: CommitLogCluster): ScaleOverride {
  const a = c.metadata.annotations ?? {};
  const pod = a[ANNOTATIONS.forceScaleDown];
  return { ...(pod ? { forceScaleDown: pod } : {}), allowQuorumLoss: a[ANNOTATIONS.allowQuorumLoss] === 'true' };
}

/**
 * An Admin error without the parts that change on every attempt (grpc-js appends elapsed
 * times to DEADLINE_EXCEEDED and timestamps to connection errors), so a persisting failure
 * is one unchanged status and one deduplicated event, not a write per pass.
 */
function stableError(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.replace(/ after [\d.]+m?s\b.*$/s, '').replace(/\s*\(?\d{4}-\d{2}-\d{2}T[\d:.]+Z\)?/g, '');
}

interface SecretObj extends KubeObj {
  readonly data?: Readonly<Record<string, string>>;
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

  /** One pass over `namespace/name`. */
  async reconcile(namespace: string, name: string): Promise<ProcessResult> {
    const client = this.d.client;
    const c = await client.get<CommitLogCluster>(RESOURCES.cluster, namespace, name);
    if (!c || c.metadata.deletionTimestamp) return {}; // children go with it (owner references)
    const log = this.d.log.child({ cluster: name, namespace, reconcileId: randomUUID().slice(0, 8) });
    const generation = c.metadata.generation ?? 0;
    const nowIso = (): string =>
      this.now()
        .toISOString()
        .replace(/\.\d{3}Z$/, 'Z');

    if (c.metadata.annotations?.[ANNOTATIONS.paused] === 'true') {
      // Paused (Strimzi's pause-reconciliation): no child is read or written; status says so.
      if (await this.writeStatus(c, pausedStatus(c.status, ANNOTATIONS.paused, generation, nowIso()), log)) {
        await this.d.events.record(
          c,
          'Normal',
          'ReconciliationPaused',
          'Pause',
          `${ANNOTATIONS.paused} is "true": the operator changes nothing`,
        );
      }
      log.info({ annotation: ANNOTATIONS.paused }, 'reconciliation paused');
      return {};
    }

    const v = validateCluster(c);
    if (!v.ok) {
      const sts = await client.get<{ spec?: { replicas?: number } } & KubeObj>(RESOURCES.statefulSet, namespace, name);
      const status = computeStatus(
        {
          generation,
          desiredReplicas: c.spec.replicas ?? 0,
          statefulSetReplicas: sts?.spec?.replicas ?? 0,
          selector: selectorString(name),
          podName: namesOf(name).pod,
          pods: [],
          clusterId: c.status?.clusterId ?? '',
          bootstrapped: c.status?.bootstrapped ?? false,
          invalid: v.errors,
          tls: { enabled: false },
          external: { type: 'None', addresses: {} },
        },
        c.status,
        nowIso(),
      );
      if (await this.writeStatus(c, status, log)) {
        await this.d.events.record(c, 'Warning', 'InvalidSpec', 'Validate', v.errors.join('; '));
      }
      log.warn({ errors: v.errors }, 'invalid spec');
      return {};
    }
    const spec = v.spec;

    // Bootstrap step 1: record the cluster id before any config may allow bootstrap.
    if (!c.status?.clusterId) return this.recordIdentity(c, log, nowIso());
    const clusterId = c.status.clusterId;

    try {
      return await this.converge(c, spec, clusterId, log, nowIso);
    } catch (e) {
      if (e instanceof StepError) await this.reportFailure(c, e, nowIso(), log);
      throw e;
    }
  }

  /**
   * The first pass of a cluster: record its id. Retained PersistentVolumeClaims of a deleted
   * cluster of the same name carry that cluster's id (identity.ts): it is adopted, with its
   * `bootstrapped` flag, so the nodes resume their data; claims of different clusters are
   * refused with a condition and nothing is recorded. Otherwise a new id, `bootstrapped: false`.
   */
  private async recordIdentity(c: CommitLogCluster, log: Logger, now: string): Promise<ProcessResult> {
    const { name, namespace } = c.metadata;
    const generation = c.metadata.generation ?? 0;
    const claims = await this.d.client.list(RESOURCES.pvc, namespace, selectorString(name));
    const identity = identityForNewCluster(
      claims.items
        .filter((p) => !p.metadata?.deletionTimestamp)
        .map((p) => ({ name: p.metadata?.name ?? '', ...volumeIdentity(p) })),
    );
    if (identity.kind === 'conflict') {
      if (
        await this.writeStatus(c, blockedStatus(c.status, 'ClusterIdConflict', identity.message, generation, now), log)
      )
        await this.d.events.record(c, 'Warning', 'ClusterIdConflict', 'Bootstrap', identity.message);
      log.warn({ reason: identity.message }, 'retained volumes of different clusters');
      return { requeueAfterMs: 60_000 };
    }
    const clusterId = identity.kind === 'adopt' ? identity.clusterId : this.newClusterId();
    const bootstrapped = identity.kind === 'adopt' && identity.bootstrapped;
    await this.writeStatus(
      c,
      {
        ...(c.status ?? {}),
        observedGeneration: generation,
        phase: bootstrapped ? Phase.Pending : Phase.Bootstrapping,
        clusterId,
        bootstrapped,
        selector: selectorString(name),
        replicas: 0,
        readyReplicas: 0,
      },
      log,
    );
    const mayBootstrap = bootstrapped ? '' : `; node ${namesOf(name).pod(0)} may bootstrap once`;
    if (identity.kind === 'adopt')
      await this.d.events.record(
        c,
        'Normal',
        'ClusterIdAdopted',
        'Bootstrap',
        `re-created over retained PersistentVolumeClaims (${identity.volumes.join(', ')}): resuming cluster ${clusterId}${mayBootstrap}`,
      );
    else
      await this.d.events.record(
        c,
        'Normal',
        'ClusterIdRecorded',
        'Bootstrap',
        `cluster id ${clusterId} recorded${mayBootstrap}`,
      );
    log.info({ clusterId, adopted: identity.kind === 'adopt' }, 'recorded cluster id');
    return { requeueAfterMs: 1 };
  }

  /**
   * A failed step is visible on the cluster: Ready=False and Degraded=True with reason
   * `ReconcileFailed`, the step and the API server's message, and a Warning event (the
   * recorder deduplicates repeats). The error still propagates, so the queue retries with
   * backoff; the next successful pass clears both conditions.
   */
  private async reportFailure(c: CommitLogCluster, e: StepError, now: string, log: Logger): Promise<void> {
    const message = e.cause instanceof Error ? e.cause.message : String(e.cause);
    log.warn({ step: e.step, err: message }, 'step failed');
    try {
      await this.writeStatus(c, failedStatus(c.status, e.step, message, c.metadata.generation ?? 0, now), log);
    } catch (statusError) {
      log.warn({ err: String(statusError) }, 'could not record the failure in status');
    }
    await this.d.events.record(c, 'Warning', 'ReconcileFailed', e.step, e.message);
  }

  /** Observe → apply → scale → roll → status, for a valid spec with a recorded cluster id. */
  private async converge(
    c: CommitLogCluster,
    spec: ResolvedSpec,
    clusterId: string,
    log: Logger,
    nowIso: () => string,
  ): Promise<ProcessResult> {
    const client = this.d.client;
    const namespace = c.metadata.namespace;
    const name = c.metadata.name;
    const world = await this.step('observe', () => observe(client, c, spec.ports.rpc));
    const mismatch = identityMismatch(world.volumes, clusterId);
    if (mismatch !== undefined) {
      // Starting pods over another cluster's Raft log would crash-loop them (or worse): refuse.
      const generation = c.metadata.generation ?? 0;
      if (await this.writeStatus(c, blockedStatus(c.status, 'ClusterIdMismatch', mismatch, generation, nowIso()), log))
        await this.d.events.record(c, 'Warning', 'ClusterIdMismatch', 'Observe', mismatch);
      return { requeueAfterMs: 60_000 };
    }
    const current = world.statefulSet?.spec?.replicas;
    const podsWithCerts = Math.max(spec.replicas, current ?? 0);
    const externalHosts = Object.fromEntries(Object.entries(world.externalAddresses).map(([p, a]) => [p, hostOf(a)]));

    const certs = spec.tls.enabled
      ? await this.step('certificates', () =>
          certificatesStep(client, c, spec, podsWithCerts, externalHosts, this.now()),
        )
      : undefined;
    if (certs && !certs.ok) {
      const status = computeStatus(
        this.observation(c, spec, world, clusterId, undefined, undefined, { enabled: true, error: certs.error }),
        c.status,
        nowIso(),
      );
      if (await this.writeStatus(c, status, log))
        await this.d.events.record(c, 'Warning', 'CertificatesFailed', 'IssueCertificates', certs.error);
      return { requeueAfterMs: 30_000 };
    }

    const admin = this.openAdmin(c, spec, certs?.ok ? certs.certificates : undefined);
    try {
      const { members, error: adminError } = await this.members(admin, world, log);
      const key = `${namespace}/${name}`;
      if (adminError !== undefined) {
        this.adminFailures.set(key, (this.adminFailures.get(key) ?? 0) + 1);
        await this.d.events.record(c, 'Warning', 'AdminUnreachable', 'QueryMembers', adminError);
      } else {
        this.adminFailures.delete(key);
      }
      const bootstrapped =
        (c.status?.bootstrapped ?? false) ||
        world.pods.some((p) => p.ready) ||
        (members?.some((m) => m.isLeader) ?? false);
      const readyPods = new Set(world.pods.filter((p) => p.ready).map((p) => p.name));
      const decision = decideScale({
        desired: spec.replicas,
        current,
        readyPods: readyPods.size,
        members,
        podName: namesOf(name).pod,
        bootstrapped,
        isReady: (p) => readyPods.has(p),
        override: scaleOverride(c),
      });
      if (decision.kind === 'wait' && decision.refused === true)
        await this.d.events.record(c, 'Warning', 'ForceScaleDownRefused', 'Scale', decision.reason);
      if (decision.kind === 'force-down') {
        await this.d.events.record(
          c,
          'Warning',
          'ForcedScaleDown',
          'Scale',
          `StatefulSet ${name} → ${decision.replicas} replicas without removing ${decision.member} from the Raft configuration (${ANNOTATIONS.forceScaleDown})${decision.quorumLost ? '; quorum may be lost' : ''}`,
        );
      }
      const claimSize = world.statefulSet?.spec?.volumeClaimTemplates?.[0]?.spec?.resources?.requests?.storage;
      const inputs: ModelInputs = {
        clusterId,
        bootstrap: c.status?.bootstrapped === true ? Bootstrap.forbidden : Bootstrap.allowed,
        statefulSetReplicas: decision.replicas,
        ...(certs?.ok ? { certificates: certs.certificates } : {}),
        gossipKey: await this.gossipKey(c),
        externalAddresses: world.externalAddresses,
        ...(claimSize !== undefined ? { volumeClaimSize: claimSize } : {}),
      };
      const desired = desiredObjects(c, spec, inputs);
      const changed: string[] = [];
      await this.step('certificates', () => this.applyAll(desired.secrets, changed, log));
      await this.step('config', () => this.applyAll(desired.config, changed, log));
      await this.step('services', async () => {
        await this.applyAll(desired.services, changed, log);
        const keep = new Set(desired.services.map((s) => s.metadata?.name));
        for (const svc of world.externalServiceNames) {
          if (!keep.has(svc)) {
            await client.delete(RESOURCES.service, namespace, svc);
            changed.push(`deleted Service ${svc}`);
          }
        }
        await this.pruneUserSecrets(c, spec, changed);
      });
      await this.step('statefulset', () => this.applyAll(desired.statefulSet, changed, log));
      const storage = planStorage(world.volumes, spec.storage.size);
      await this.step('storage', () =>
        this.applyVolumes(c, world.volumes, storage.expand, spec.storage.size, { clusterId, bootstrapped }, changed),
      );
      const rollout =
        decision.kind === 'steady'
          ? await this.step('rollout', () => this.rollout(c, world, admin, members, log))
          : undefined;
      const scaled = await this.step('membership', () => this.membership(decision, admin, members, log));
      const scaling =
        scaled?.waiting !== undefined && adminError !== undefined
          ? { ...scaled, waiting: `${scaled.waiting}: ${adminError}` }
          : scaled;
      // Scale-down: shrink in the same pass as the removal committed, not one requeue later.
      // The "removed, don't re-add" memory of the nodes ends when the pod leaves gossip, so
      // the window in which the removed member is alive must be as short as possible.
      let replicasNow = decision.replicas;
      if (decision.kind === 'remove-member' && scaling?.removed === true) {
        replicasNow = decision.replicas - 1;
        const shrunk = desiredObjects(c, spec, { ...inputs, statefulSetReplicas: replicasNow });
        await this.step('statefulset', () => this.applyAll(shrunk.statefulSet, changed, log));
      }
      if (world.createFailure)
        await this.d.events.record(c, 'Warning', 'FailedCreate', 'CreatePod', world.createFailure.message);
      if (changed.length > 0) {
        await this.d.events.record(c, 'Normal', 'Applied', 'Reconcile', changed.join(', '));
        log.info({ changed }, 'applied');
      }
      if (decision.kind === 'up' || decision.kind === 'down') {
        await this.d.events.record(
          c,
          'Normal',
          decision.kind === 'up' ? 'ScalingUp' : 'ScalingDown',
          'Scale',
          `StatefulSet ${name} → ${decision.replicas} replicas (target ${spec.replicas})`,
        );
      }

      const obs = this.observation(
        c,
        spec,
        { ...world },
        clusterId,
        members,
        scaling,
        { enabled: spec.tls.enabled, ...(certs?.ok ? { expiry: certs.expiry } : {}) },
        replicasNow,
        bootstrapped,
      );
      const growing = storageProgress(storage, spec.storage.size);
      const status = computeStatus(
        {
          ...obs,
          ...(rollout ? { rollout } : {}),
          ...(adminError !== undefined ? { adminError } : {}),
          ...(growing !== undefined ? { storage: growing } : {}),
        },
        c.status,
        nowIso(),
      );
      await this.step('status', () => this.writeStatus(c, status, log));
      // Admin unreachable: retry with exponential backoff (to 5 minutes), not every few seconds.
      const failures = this.adminFailures.get(key) ?? 0;
      if (failures > 0)
        return { requeueAfterMs: Math.min(ADMIN_BACKOFF_MAX_MS, this.progressRequeueMs * 2 ** (failures - 1)) };
      const converging =
        decision.kind !== 'steady' ||
        rollout !== undefined ||
        growing !== undefined ||
        status.readyReplicas !== spec.replicas;
      return converging ? { requeueAfterMs: this.progressRequeueMs } : {};
    } finally {
      admin?.close();
    }
  }

  private async step<T>(name: string, f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (e) {
      throw e instanceof StepError ? e : new StepError(name, e);
    }
  }

  private observation(
    c: CommitLogCluster,
    spec: ResolvedSpec,
    world: World,
    clusterId: string,
    members: readonly AdminMember[] | undefined,
    scaling: { direction: 'up' | 'down'; waiting?: string } | undefined,
    tls: { enabled: boolean; expiry?: string; error?: string },
    stsReplicas?: number,
    bootstrapped?: boolean,
  ) {
    return {
      generation: c.metadata.generation ?? 0,
      desiredReplicas: spec.replicas,
      statefulSetReplicas: stsReplicas ?? world.statefulSet?.spec?.replicas ?? 0,
      selector: selectorString(c.metadata.name),
      podName: namesOf(c.metadata.name).pod,
      pods: world.pods,
      ...(members ? { members } : {}),
      clusterId,
      bootstrapped: bootstrapped ?? c.status?.bootstrapped ?? false,
      tls,
      external: { type: spec.external.type, addresses: world.externalAddresses },
      ...(scaling ? { scaling } : {}),
      ...(world.createFailure ? { createFailure: world.createFailure } : {}),
    };
  }

  private openAdmin(
    c: CommitLogCluster,
    spec: ResolvedSpec,
    certs: ModelInputs['certificates'],
  ): NodeAdmin | undefined {
    if (!this.d.admin) return undefined;
    return this.d.admin({
      namespace: c.metadata.namespace,
      headlessService: namesOf(c.metadata.name).headlessService,
      rpcPort: spec.ports.rpc,
      ...(certs
        ? { tls: { caPem: certs.caCertPem, certPem: certs.operator.certPem, keyPem: certs.operator.keyPem } }
        : {}),
    });
  }

  /**
   * The Raft configuration, asked of ready pods in turn; undefined when none answers, with
   * `error` (each pod's error) when some ready pod was asked and none answered.
   */
  private async members(
    admin: NodeAdmin | undefined,
    world: World,
    log: Logger,
  ): Promise<{ members?: readonly AdminMember[]; error?: string }> {
    if (!admin) return {};
    const errors: string[] = [];
    for (const p of world.pods.filter((x) => x.ready)) {
      try {
        return { members: await admin.members(p.name) };
      } catch (e) {
        log.debug({ pod: p.name, err: String(e) }, 'admin members failed');
        errors.push(`${p.name}: ${stableError(e)}`);
      }
    }
    return errors.length > 0 ? { error: `Admin service unreachable (${errors.join('; ')})` } : {};
  }

  private async membership(
    decision: ScaleDecision,
    admin: NodeAdmin | undefined,
    members: readonly AdminMember[] | undefined,
    log: Logger,
  ): Promise<{ direction: 'up' | 'down'; waiting?: string; removed?: boolean } | undefined> {
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
          log.info({ from: decision.member, to: leader }, 'transferred leadership before removal');
        }
        // RemoveMember resolves once the new configuration has committed (admin.proto).
        await admin.removeMember(leader, decision.member);
        log.info({ member: decision.member }, 'removed Raft member');
        return { direction: 'down', removed: true };
      }
    }
  }

  /** Restarts at most one outdated pod (OnDelete update strategy); returns what it did or awaits. */
  private async rollout(
    c: CommitLogCluster,
    world: World,
    admin: NodeAdmin | undefined,
    members: readonly AdminMember[] | undefined,
    log: Logger,
  ): Promise<string | undefined> {
    const d = decideRollout(world.pods, world.statefulSet?.status?.updateRevision, members);
    if (d.kind === 'none') return undefined;
    if (d.kind === 'wait') return d.reason;
    if (d.transferLeadershipFirst && admin) {
      const to = await admin.transferLeadership(d.pod);
      log.info({ from: d.pod, to }, 'transferred leadership before restarting the leader');
    }
    await this.d.client.delete(RESOURCES.pod, c.metadata.namespace, d.pod);
    await this.d.events.record(
      c,
      'Normal',
      'RollingUpdate',
      'RestartPod',
      `restarted ${d.pod} onto the new pod template`,
    );
    return `rolling update: restarted ${d.pod}`;
  }

  /**
   * Applies (server-side) each object whose desired form changed since the operator last
   * applied it, or whose live form drifted from it (see applied.ts); skips the rest.
   */
  private async applyAll(objs: readonly KubeObject[], changed: string[], log: Logger): Promise<void> {
    for (const o of objs) {
      const res = resourceOf(o.apiVersion, o.kind);
      if (!res) throw new Error(`model produced an object of unknown kind ${o.apiVersion ?? '?'}/${o.kind ?? '?'}`);
      const live = await this.d.client.get(res, o.metadata?.namespace, o.metadata?.name ?? '');
      const reason = applyReason(live, o);
      if (reason === undefined) continue;
      const diff = reason === 'drifted' && live ? differences(live, o) : [reason];
      log.debug({ kind: o.kind, name: o.metadata?.name, reason, diff: diff.slice(0, 10) }, 'apply');
      await this.d.client.apply(res, stamped(o) as KubeObj);
      changed.push(`${live ? 'updated' : 'created'} ${o.kind ?? ''} ${o.metadata?.name ?? ''}`);
    }
  }

  /**
   * Raises the storage request of each claim in `expand` to `size`, and records the cluster
   * id (and `bootstrapped`) on each claim that lacks it (identity.ts). One server-side apply
   * per claim carries both the annotations and the request, so the operator never drops a
   * field it owns by applying the other alone.
   */
  private async applyVolumes(
    c: CommitLogCluster,
    volumes: readonly ObservedVolume[],
    expand: readonly string[],
    size: string,
    identity: { readonly clusterId: string; readonly bootstrapped: boolean },
    changed: string[],
  ): Promise<void> {
    const stamp = new Set(volumesToStamp(volumes, identity.clusterId, identity.bootstrapped));
    for (const v of volumes) {
      const grow = expand.includes(v.name);
      if (!grow && !stamp.has(v.name)) continue;
      const storage = grow ? size : v.requested;
      await this.d.client.apply(RESOURCES.pvc, {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: {
          name: v.name,
          namespace: c.metadata.namespace,
          annotations: {
            [VOLUME_ANNOTATIONS.clusterId]: identity.clusterId,
            ...(identity.bootstrapped || v.bootstrapped === true ? { [VOLUME_ANNOTATIONS.bootstrapped]: 'true' } : {}),
          },
        },
        ...(storage !== undefined ? { spec: { resources: { requests: { storage } } } } : {}),
      } as KubeObj);
      if (grow) changed.push(`expanded PersistentVolumeClaim ${v.name} to ${size}`);
      if (stamp.has(v.name)) changed.push(`recorded cluster id on PersistentVolumeClaim ${v.name}`);
    }
  }

  /** Deletes client certificate Secrets of users no longer in the ACL. */
  private async pruneUserSecrets(c: CommitLogCluster, spec: ResolvedSpec, changed: string[]): Promise<void> {
    const n = c.metadata.name;
    const list = await this.d.client.list<SecretObj>(
      RESOURCES.secret,
      c.metadata.namespace,
      `${LABELS.instance}=${n},${LABELS.component}=client-tls`,
    );
    const keep = new Set(spec.tls.enabled ? spec.acl.users.map((u) => namesOf(n).userSecret(u.name)) : []);
    for (const s of list.items) {
      const sName = s.metadata?.name ?? '';
      if (!keep.has(sName)) {
        await this.d.client.delete(RESOURCES.secret, c.metadata.namespace, sName);
        changed.push(`deleted Secret ${sName}`);
      }
    }
  }

  private async gossipKey(c: CommitLogCluster): Promise<string> {
    const s = await this.d.client.get<SecretObj>(
      RESOURCES.secret,
      c.metadata.namespace,
      namesOf(c.metadata.name).gossipSecret,
    );
    const k = s?.data?.key;
    return k ? Buffer.from(k, 'base64').toString('utf8') : newGossipKey();
  }

  /**
   * Writes status through the subresource when it differs; returns whether it wrote. The
   * paths that differ are logged (debug), so a write over an unchanged cluster says why.
   */
  private async writeStatus(c: CommitLogCluster, status: CommitLogClusterStatus, log: Logger): Promise<boolean> {
    if (c.status && contains(c.status, status) && contains(status, c.status)) return false;
    const diff = c.status
      ? [...new Set([...differences(c.status, status), ...differences(status, c.status)])]
      : ['(new)'];
    log.debug({ diff: diff.slice(0, 20) }, 'status changed');
    await this.d.client.apply(
      RESOURCES.cluster,
      {
        apiVersion: API_VERSION,
        kind: KIND,
        metadata: { name: c.metadata.name, namespace: c.metadata.namespace },
        status,
      },
      'status',
    );
    return true;
  }
}
