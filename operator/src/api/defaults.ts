/**
 * Defaults of the CommitLogCluster spec, defined once: the OpenAPI schema (`schema.ts`) embeds
 * them as `default:` values so the API server fills them, and {@link resolveSpec} applies them
 * again so the model never sees an absent field.
 */
import { parseDuration } from './duration.js';
import type { AclRule, AclUser, CommitLogClusterSpec, ExternalType, FsyncMode, PvcRetention } from './types.js';

/** Every default of the spec. */
export const DEFAULTS = {
  replicas: 3,
  image: 'ghcr.io/commitlog/commitlog-node:0.1.0',
  imagePullPolicy: 'IfNotPresent',
  storageSize: '1Gi',
  // A member removed on scale-down was removed from the Raft configuration; its data must
  // not come back under the same name with a stale log, so its volume goes with it.
  pvcWhenScaled: 'Delete',
  // Deleting the custom resource keeps the data unless the user asks otherwise.
  pvcWhenDeleted: 'Retain',
  rpcPort: 8400,
  gossipPort: 8401,
  httpPort: 8402,
  tlsEnabled: true,
  validityDays: 365,
  renewBeforeDays: 30,
  // A phase of a CA rotation lasts at least this long after its Secrets were written. The
  // kubelet refreshes a mounted Secret at its pod sync: syncFrequency (default 1m) with up to
  // +50% jitter = 90 s, plus the Watch cache's propagation (seconds) and the client's reload;
  // 120 s covers a client that follows its Secret volume on a kubelet with default settings.
  rotationDwellSeconds: 120,
  externalType: 'LoadBalancer',
  segmentBytes: 64 * 1024 * 1024,
  fsync: 'batch',
  aclUsers: [{ name: 'root' }],
  aclRules: [{ user: 'root', actions: ['produce', 'consume'] }],
} as const;

/** The spec with every default applied: what the model computes from. */
export interface ResolvedSpec {
  readonly replicas: number;
  readonly image: string;
  readonly imagePullPolicy: 'Always' | 'IfNotPresent' | 'Never';
  readonly resources: {
    readonly requests?: Readonly<Record<string, string>>;
    readonly limits?: Readonly<Record<string, string>>;
  };
  readonly storage: {
    readonly size: string;
    readonly storageClassName?: string;
    readonly whenScaled: PvcRetention;
    readonly whenDeleted: PvcRetention;
  };
  readonly ports: { readonly rpc: number; readonly gossip: number; readonly http: number };
  readonly tls: {
    readonly enabled: boolean;
    readonly caSecretName?: string;
    readonly validityDays: number;
    readonly renewBeforeDays: number;
    /** Lifetime of a leaf certificate: `leafValidity`, else `validityDays` (ms). */
    readonly leafValidityMs: number;
    /** Renewal window of a leaf certificate: `leafRenewBefore`, else `renewBeforeDays` (ms). */
    readonly leafRenewBeforeMs: number;
    /** The least duration of a CA rotation phase (`rotationDwellSeconds`, ms). */
    readonly rotationDwellMs: number;
  };
  readonly acl: { readonly users: readonly AclUser[]; readonly rules: readonly AclRule[] };
  readonly external: {
    readonly type: ExternalType;
    readonly annotations: Readonly<Record<string, string>>;
    readonly loadBalancerSourceRanges: readonly string[];
  };
  readonly log: {
    readonly segmentBytes: number;
    readonly retentionBytes?: number;
    readonly retentionHours?: number;
    readonly fsync: FsyncMode;
  };
  readonly pod: NonNullable<CommitLogClusterSpec['pod']>;
}

const DAY_MS = 86_400_000;

/** A spec duration in ms, else `days` in ms (an unparsable duration is refused by validation first). */
const durationOr = (duration: string | undefined, days: number): number =>
  (duration === undefined ? undefined : parseDuration(duration)) ?? days * DAY_MS;

/** Applies {@link DEFAULTS} to a spec as stored; pure. Absent optional fields stay absent. */
export function resolveSpec(spec: CommitLogClusterSpec): ResolvedSpec {
  const s = spec.storage ?? {};
  const tls = spec.tls ?? {};
  const acl = spec.acl ?? {};
  const ext = spec.external ?? {};
  const log = spec.log ?? {};
  return {
    replicas: spec.replicas ?? DEFAULTS.replicas,
    image: spec.image ?? DEFAULTS.image,
    imagePullPolicy: spec.imagePullPolicy ?? DEFAULTS.imagePullPolicy,
    resources: spec.resources ?? {},
    storage: {
      size: s.size ?? DEFAULTS.storageSize,
      ...(s.storageClassName !== undefined ? { storageClassName: s.storageClassName } : {}),
      whenScaled: s.pvcRetention?.whenScaled ?? DEFAULTS.pvcWhenScaled,
      whenDeleted: s.pvcRetention?.whenDeleted ?? DEFAULTS.pvcWhenDeleted,
    },
    ports: {
      rpc: spec.ports?.rpc ?? DEFAULTS.rpcPort,
      gossip: spec.ports?.gossip ?? DEFAULTS.gossipPort,
      http: spec.ports?.http ?? DEFAULTS.httpPort,
    },
    tls: {
      enabled: tls.enabled ?? DEFAULTS.tlsEnabled,
      ...(tls.caSecretName !== undefined ? { caSecretName: tls.caSecretName } : {}),
      validityDays: tls.validityDays ?? DEFAULTS.validityDays,
      renewBeforeDays: tls.renewBeforeDays ?? DEFAULTS.renewBeforeDays,
      leafValidityMs: durationOr(tls.leafValidity, tls.validityDays ?? DEFAULTS.validityDays),
      leafRenewBeforeMs: durationOr(tls.leafRenewBefore, tls.renewBeforeDays ?? DEFAULTS.renewBeforeDays),
      rotationDwellMs: (tls.rotationDwellSeconds ?? DEFAULTS.rotationDwellSeconds) * 1000,
    },
    acl: {
      users: acl.users ?? DEFAULTS.aclUsers,
      rules: acl.rules ?? DEFAULTS.aclRules,
    },
    external: {
      type: ext.type ?? DEFAULTS.externalType,
      annotations: ext.annotations ?? {},
      loadBalancerSourceRanges: ext.loadBalancerSourceRanges ?? [],
    },
    log: {
      segmentBytes: log.segmentBytes ?? DEFAULTS.segmentBytes,
      ...(log.retentionBytes !== undefined ? { retentionBytes: log.retentionBytes } : {}),
      ...(log.retentionHours !== undefined ? { retentionHours: log.retentionHours } : {}),
      fsync: log.fsync ?? DEFAULTS.fsync,
    },
    pod: spec.pod ?? {},
  };
}
