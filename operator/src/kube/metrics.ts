/**
 * Prometheus metrics of the operator (prom-client) on a registry of its own: the work queue
 * and its passes, and one series set per cluster (phase, members by role, certificate and CA
 * expiry, CA rotation phase) plus counters of the steps that change a running cluster (scale steps, rolling
 * restarts). Per-cluster series are dropped when the cluster is deleted.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { Phase, type CommitLogClusterStatus } from '../api/types.js';

/** Outcome of one reconcile pass: done (whether or not it asked to be requeued), failed, or cancelled by shutdown. */
export type ReconcileResult = 'success' | 'error' | 'cancelled';

/** What the reconciler reports about the clusters it reconciles (implemented by {@link createMetrics}). */
export interface ClusterMetrics {
  /** The status a pass computed for `namespace/name` (written or unchanged). */
  observeStatus(namespace: string, name: string, status: CommitLogClusterStatus): void;
  /** The cluster is gone: drop its series. */
  forget(namespace: string, name: string): void;
  /** A scale step was taken: `up`, `down`, `remove-member` (Raft removal) or `force-down`. */
  scaleStep(namespace: string, name: string, kind: 'up' | 'down' | 'remove-member' | 'force-down'): void;
  /** A pod was restarted onto a new template (rolling update). */
  rolloutRestart(namespace: string, name: string): void;
}

/** The operator's metrics. */
export interface OperatorMetrics extends ClusterMetrics {
  readonly registry: Registry;
  readonly reconciles: Counter<'result'>;
  readonly errors: Counter<'step'>;
  readonly requeues: Counter;
  readonly duration: Histogram<'result'>;
  readonly queueDepth: Gauge;
  readonly isLeader: Gauge;
  readonly phase: Gauge<'namespace' | 'cluster' | 'phase'>;
  readonly members: Gauge<'namespace' | 'cluster' | 'role'>;
  readonly readyMembers: Gauge<'namespace' | 'cluster'>;
  readonly certificateExpiry: Gauge<'namespace' | 'cluster'>;
  readonly caExpiry: Gauge<'namespace' | 'cluster'>;
  readonly caRotationPhase: Gauge<'namespace' | 'cluster' | 'phase'>;
  readonly scaleSteps: Counter<'namespace' | 'cluster' | 'kind'>;
  readonly rolloutRestarts: Counter<'namespace' | 'cluster'>;
}

const PHASES = Object.values(Phase);
/** Phases of a CA rotation (certs/rotation.ts), Idle = none running. */
const CA_PHASES = ['Idle', 'TrustBoth', 'ReissueLeaves', 'DropOld'] as const;
/** Member roles as counted: the leader apart from the other voters; `unknown` without the Admin service. */
const ROLES = ['leader', 'voter', 'learner', 'unknown'] as const;

/** Creates the metrics; `defaults` adds process metrics (off in tests). */
export function createMetrics(defaults = false): OperatorMetrics {
  const registry = new Registry();
  if (defaults) collectDefaultMetrics({ register: registry, prefix: 'commitlog_operator_' });
  const registers = [registry];
  const perCluster = ['namespace', 'cluster'] as const;
  const phase = new Gauge({
    name: 'commitlog_operator_cluster_phase',
    help: 'Phase of each cluster: 1 for its current phase, 0 for the others (kube-state-metrics style).',
    labelNames: [...perCluster, 'phase'],
    registers,
  });
  const members = new Gauge({
    name: 'commitlog_operator_cluster_members',
    help: 'Raft members of each cluster by role (leader, voter = other voters, learner; unknown without the Admin service).',
    labelNames: [...perCluster, 'role'],
    registers,
  });
  const readyMembers = new Gauge({
    name: 'commitlog_operator_cluster_ready_members',
    help: 'Ready members (pods) of each cluster.',
    labelNames: perCluster,
    registers,
  });
  const certificateExpiry = new Gauge({
    name: 'commitlog_operator_certificate_expiry_timestamp_seconds',
    help: 'Earliest notAfter of the certificates the operator manages for each cluster (Unix seconds).',
    labelNames: perCluster,
    registers,
  });
  const caExpiry = new Gauge({
    name: 'commitlog_operator_ca_expiry_timestamp_seconds',
    help: "notAfter of the CA that issues each cluster's certificates (the old one while a rotation runs; Unix seconds).",
    labelNames: perCluster,
    registers,
  });
  const caRotationPhase = new Gauge({
    name: 'commitlog_operator_ca_rotation_phase',
    help: 'CA rotation phase of each cluster: 1 for its current phase (Idle = no rotation), 0 for the others.',
    labelNames: [...perCluster, 'phase'],
    registers,
  });
  const scaleSteps = new Counter({
    name: 'commitlog_operator_scale_steps_total',
    help: 'Scale steps taken by kind (up, down, remove-member, force-down).',
    labelNames: [...perCluster, 'kind'],
    registers,
  });
  const rolloutRestarts = new Counter({
    name: 'commitlog_operator_rollout_restarts_total',
    help: 'Pods restarted onto a new pod template by rolling updates.',
    labelNames: perCluster,
    registers,
  });
  return {
    registry,
    reconciles: new Counter({
      name: 'commitlog_operator_reconciles_total',
      help: 'Reconcile passes by result (success, error, cancelled by shutdown).',
      labelNames: ['result'],
      registers,
    }),
    requeues: new Counter({
      name: 'commitlog_operator_reconcile_requeues_total',
      help: 'Successful passes that asked to run again later (the cluster is still converging or polling).',
      registers,
    }),
    errors: new Counter({
      name: 'commitlog_operator_reconcile_errors_total',
      help: 'Failed reconcile passes by the step that failed.',
      labelNames: ['step'],
      registers,
    }),
    duration: new Histogram({
      name: 'commitlog_operator_reconcile_duration_seconds',
      help: 'Duration of reconcile passes by result.',
      labelNames: ['result'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    queueDepth: new Gauge({
      name: 'commitlog_operator_queue_depth',
      help: 'Keys waiting in the work queue.',
      registers,
    }),
    isLeader: new Gauge({
      name: 'commitlog_operator_is_leader',
      help: '1 while this instance holds the leader Lease.',
      registers,
    }),
    phase,
    members,
    readyMembers,
    certificateExpiry,
    caExpiry,
    caRotationPhase,
    scaleSteps,
    rolloutRestarts,
    observeStatus(namespace, cluster, status) {
      for (const p of PHASES) phase.set({ namespace, cluster, phase: p }, status.phase === p ? 1 : 0);
      const counts = Object.fromEntries(ROLES.map((r) => [r, 0])) as Record<(typeof ROLES)[number], number>;
      for (const m of status.members ?? []) {
        const role = m.role === undefined ? 'unknown' : m.name === status.leader ? 'leader' : m.role;
        counts[role] += 1;
      }
      for (const r of ROLES) members.set({ namespace, cluster, role: r }, counts[r]);
      readyMembers.set({ namespace, cluster }, status.readyReplicas ?? 0);
      const expiry = status.certificateExpiry ? Date.parse(status.certificateExpiry) : NaN;
      if (Number.isFinite(expiry)) certificateExpiry.set({ namespace, cluster }, expiry / 1000);
      else certificateExpiry.remove({ namespace, cluster });
      const caNotAfter = status.ca?.expiry ? Date.parse(status.ca.expiry) : NaN;
      if (Number.isFinite(caNotAfter)) caExpiry.set({ namespace, cluster }, caNotAfter / 1000);
      else caExpiry.remove({ namespace, cluster });
      for (const p of CA_PHASES)
        if (status.ca) caRotationPhase.set({ namespace, cluster, phase: p }, status.ca.rotationPhase === p ? 1 : 0);
        else caRotationPhase.remove({ namespace, cluster, phase: p });
    },
    forget(namespace, cluster) {
      readyMembers.remove({ namespace, cluster });
      certificateExpiry.remove({ namespace, cluster });
      caExpiry.remove({ namespace, cluster });
      for (const p of CA_PHASES) caRotationPhase.remove({ namespace, cluster, phase: p });
      rolloutRestarts.remove({ namespace, cluster });
      for (const p of PHASES) phase.remove({ namespace, cluster, phase: p });
      for (const r of ROLES) members.remove({ namespace, cluster, role: r });
      for (const k of ['up', 'down', 'remove-member', 'force-down']) scaleSteps.remove({ namespace, cluster, kind: k });
    },
    scaleStep(namespace, cluster, kind) {
      scaleSteps.inc({ namespace, cluster, kind });
    },
    rolloutRestart(namespace, cluster) {
      rolloutRestarts.inc({ namespace, cluster });
    },
  };
}
