/**
 * TypeScript types of the `commitlog.dev/v1alpha1` `CommitLogCluster` custom resource.
 *
 * These types and the OpenAPI schema in `schema.ts` are the one definition of the API: the
 * CRD YAML under `crds/` is synthesized from them (`npm run synth`). Optional fields are the
 * ones a user may omit; the API server fills the schema defaults (`defaults.ts`), and the
 * model resolves them again with `resolveSpec` so objects stored before a default existed
 * behave the same.
 */

/** API group of every commitlog custom resource. */
export const GROUP = 'commitlog.dev';
/** Served and stored version. */
export const VERSION = 'v1alpha1';
/** `apiVersion` string of a CommitLogCluster. */
export const API_VERSION = `${GROUP}/${VERSION}`;
/** Kind, plural and short name, as registered in the CRD. */
export const KIND = 'CommitLogCluster';
export const PLURAL = 'commitlogclusters';
export const SHORT_NAME = 'clc';

/** Kinds of per-pod external Service (`None` creates no external Service). */
export const ExternalType = { LoadBalancer: 'LoadBalancer', NodePort: 'NodePort', None: 'None' } as const;
/** One of {@link ExternalType}. */
export type ExternalType = (typeof ExternalType)[keyof typeof ExternalType];

/** What happens to a pod's volume when the cluster shrinks or is deleted (StatefulSet semantics). */
export const PvcRetention = { Retain: 'Retain', Delete: 'Delete' } as const;
/** One of {@link PvcRetention}. */
export type PvcRetention = (typeof PvcRetention)[keyof typeof PvcRetention];

/** ACL actions the server understands (subject = client certificate CN). */
export const AclAction = { produce: 'produce', consume: 'consume', admin: 'admin' } as const;
/** One of {@link AclAction}. */
export type AclAction = (typeof AclAction)[keyof typeof AclAction];

/** When the log fsyncs: `batch` = group commit before acknowledging; `always` = every append. */
export const FsyncMode = { batch: 'batch', always: 'always' } as const;
/** One of {@link FsyncMode}. */
export type FsyncMode = (typeof FsyncMode)[keyof typeof FsyncMode];

/** Container resource requests/limits as Kubernetes quantities. */
export interface ResourceRequirements {
  readonly requests?: Readonly<Record<string, string>>;
  readonly limits?: Readonly<Record<string, string>>;
}

/** Persistent storage of each node. */
export interface StorageSpec {
  /** PVC size (quantity, default 1Gi). Immutable. */
  readonly size?: string;
  /** StorageClass of the volume claims; absent = cluster default. Immutable. */
  readonly storageClassName?: string;
  /** PVC retention when the StatefulSet shrinks (default Delete) or is deleted (default Retain). */
  readonly pvcRetention?: { readonly whenScaled?: PvcRetention; readonly whenDeleted?: PvcRetention };
}

/** Container ports (defaults 8400 RPC, 8401 gossip, 8402 HTTP, as in the book). */
export interface PortsSpec {
  readonly rpc?: number;
  readonly gossip?: number;
  readonly http?: number;
}

/** TLS settings. On by default with an operator-generated CA. */
export interface TlsSpec {
  readonly enabled?: boolean;
  /** Secret (type kubernetes.io/tls: tls.crt, tls.key) holding a user-supplied CA; absent = generated. */
  readonly caSecretName?: string;
  /** Lifetime of issued leaf certificates in days (default 365). */
  readonly validityDays?: number;
  /** Renew a certificate when it expires within this many days (default 30). */
  readonly renewBeforeDays?: number;
  /**
   * Lifetime of issued leaf certificates as a duration (`24h`, `90m`; at least 10m); overrides
   * `validityDays`. Set together with `leafRenewBefore`.
   */
  readonly leafValidity?: string;
  /**
   * Renew a leaf certificate this long before it expires, as a duration (at least 5m, less than
   * `leafValidity`); overrides `renewBeforeDays` for leaves (the generated CA keeps `renewBeforeDays`).
   */
  readonly leafRenewBefore?: string;
  /**
   * How long each phase of a CA rotation lasts at least after it began (its Secrets were
   * written), in seconds (default 120): clients that read their certificates from a Secret
   * volume must load the phase's files before the next phase relies on them.
   */
  readonly rotationDwellSeconds?: number;
}

/** One ACL user: gets a client certificate Secret `<cluster>-user-<name>`. */
export interface AclUser {
  readonly name: string;
}

/** One ACL rule: `user` may perform `actions`. */
export interface AclRule {
  readonly user: string;
  readonly actions: readonly AclAction[];
}

/** Access control (Casbin). Default: user `root` may produce and consume. */
export interface AclSpec {
  readonly users?: readonly AclUser[];
  readonly rules?: readonly AclRule[];
}

/** One external Service per pod, so clients outside the cluster can reach each node. */
export interface ExternalSpec {
  readonly type?: ExternalType;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly loadBalancerSourceRanges?: readonly string[];
}

/** Log settings passed to the node configuration. */
export interface LogSpec {
  /** Roll a segment when its store reaches this many bytes (default 64 MiB). */
  readonly segmentBytes?: number;
  /** Delete oldest segments past this total size; absent = keep everything. */
  readonly retentionBytes?: number;
  /** Delete segments older than this many hours; absent = keep everything. */
  readonly retentionHours?: number;
  readonly fsync?: FsyncMode;
}

/** Pod scheduling overrides, passed through to the StatefulSet pod template. */
export interface PodOverrides {
  readonly nodeSelector?: Readonly<Record<string, string>>;
  readonly tolerations?: readonly Readonly<Record<string, unknown>>[];
  /** Replaces the operator's preferred anti-affinity when set. */
  readonly affinity?: Readonly<Record<string, unknown>>;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly labels?: Readonly<Record<string, string>>;
  readonly priorityClassName?: string;
}

/** Desired state of a CommitLogCluster. */
export interface CommitLogClusterSpec {
  readonly replicas?: number;
  readonly image?: string;
  readonly imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  readonly resources?: ResourceRequirements;
  readonly storage?: StorageSpec;
  readonly ports?: PortsSpec;
  readonly tls?: TlsSpec;
  readonly acl?: AclSpec;
  readonly external?: ExternalSpec;
  readonly log?: LogSpec;
  readonly pod?: PodOverrides;
}

/** Raft role of a member. */
export type MemberRole = 'voter' | 'learner';

/** One member as last observed. */
export interface MemberStatus {
  readonly name: string;
  /** Raft role; absent while the node's Admin service has not answered. */
  readonly role?: MemberRole;
  readonly ready: boolean;
  /** Entries behind the leader's last index; absent when unknown. */
  readonly lag?: number;
  readonly internalAddress: string;
  readonly externalAddress?: string;
}

/** A condition per the Kubernetes API conventions. */
export interface Condition {
  readonly type: string;
  readonly status: 'True' | 'False' | 'Unknown';
  readonly reason: string;
  readonly message: string;
  readonly observedGeneration?: number;
  readonly lastTransitionTime: string;
}

/**
 * Annotations a user sets on a CommitLogCluster to override the operator (docs/operator.md,
 * "Overrides"). Each is read on every pass; removing it ends its effect.
 */
export const ANNOTATIONS = {
  /** Value: the pod a blocked scale-down step would remove; shrinks without the Raft removal. */
  forceScaleDown: 'commitlog.dev/force-scale-down',
  /** `"true"`: a forced scale-down may proceed although it leaves fewer ready members than a quorum. */
  allowQuorumLoss: 'commitlog.dev/allow-quorum-loss',
  /** `"true"`: the operator changes nothing for this cluster (status says so) until removed. */
  paused: 'commitlog.dev/paused',
  /**
   * Any value: rotate the generated CA (in phases, docs/operator.md "CA rotation") once for
   * each new value; the value acted on is recorded, so the annotation may stay.
   */
  renewCa: 'commitlog.dev/renew-ca',
  /**
   * Any value: restart every pod once for each new value (a manual rolling restart, as
   * `kubectl rollout restart` does for a Deployment), through the operator's rolling update:
   * one pod at a time, the leader last. The value acted on stays in the pod template
   * (annotation of the same name), so the annotation may stay, and removing it restarts nothing.
   */
  restart: 'commitlog.dev/restart',
} as const;

/** Condition types the operator maintains. */
export const ConditionType = {
  Ready: 'Ready',
  Available: 'Available',
  Progressing: 'Progressing',
  Degraded: 'Degraded',
  CertificatesReady: 'CertificatesReady',
  ExternalAccessReady: 'ExternalAccessReady',
  /** Present (True) only while the cluster has annotation `commitlog.dev/paused: "true"`. */
  ReconciliationPaused: 'ReconciliationPaused',
  /** Present (True) only while a CA rotation runs; its reason is the phase. */
  CaRotating: 'CaRotating',
} as const;
/** One of {@link ConditionType}. */
export type ConditionType = (typeof ConditionType)[keyof typeof ConditionType];

/** Coarse lifecycle phase shown in `kubectl get clc`. */
export const Phase = {
  Pending: 'Pending',
  Bootstrapping: 'Bootstrapping',
  Running: 'Running',
  Scaling: 'Scaling',
  Degraded: 'Degraded',
  Failed: 'Failed',
} as const;
/** One of {@link Phase}. */
export type Phase = (typeof Phase)[keyof typeof Phase];

/** The cluster CA as the last pass saw it (status.ca). CAs are named by SHA-256 fingerprint. */
export interface CaStatus {
  /** Idle, or the phase of a rotation in progress: TrustBoth, ReissueLeaves, DropOld. */
  readonly rotationPhase: string;
  /** Fingerprint of the CA leaves are issued by (the old one during a rotation). */
  readonly current: string;
  /** Fingerprint of the CA being rotated to. */
  readonly next?: string;
  /** notAfter of the current CA (RFC 3339). */
  readonly expiry?: string;
  /** Why the rotation does not advance yet. */
  readonly waiting?: string;
  /** When the phase in progress began (RFC 3339); it lasts at least `spec.tls.rotationDwellSeconds` from then. */
  readonly phaseSince?: string;
}

/** Observed state of a CommitLogCluster, written only through the status subresource. */
export interface CommitLogClusterStatus {
  readonly observedGeneration?: number;
  readonly phase?: Phase;
  readonly replicas?: number;
  readonly readyReplicas?: number;
  /** Label selector of the pods, for the scale subresource (HPA, `kubectl scale`). */
  readonly selector?: string;
  readonly leader?: string;
  readonly members?: readonly MemberStatus[];
  readonly clusterId?: string;
  readonly bootstrapped?: boolean;
  /** Earliest notAfter of the certificates the operator manages (RFC 3339). */
  readonly certificateExpiry?: string;
  /** The CA and its rotation (mirrors the CA Secret `<name>-ca`, which is authoritative). */
  readonly ca?: CaStatus;
  readonly conditions?: readonly Condition[];
}

/** Minimal object metadata the operator reads. */
export interface ObjectMeta {
  readonly name: string;
  readonly namespace: string;
  readonly uid?: string;
  readonly generation?: number;
  readonly resourceVersion?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly creationTimestamp?: string;
  readonly deletionTimestamp?: string;
}

/** A CommitLogCluster as read from the API server. */
export interface CommitLogCluster {
  readonly apiVersion: typeof API_VERSION;
  readonly kind: typeof KIND;
  readonly metadata: ObjectMeta;
  readonly spec: CommitLogClusterSpec;
  readonly status?: CommitLogClusterStatus;
}
