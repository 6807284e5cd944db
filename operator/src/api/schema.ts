/**
 * OpenAPI v3 schema of CommitLogCluster, with defaults (from `defaults.ts`) and CEL
 * validations (`x-kubernetes-validations`). Every CEL rule carries the exact message a user
 * sees from `kubectl apply`; `RULES` lists them so tests and docs refer to the same text.
 */
import { DEFAULTS } from './defaults.js';
import { DURATION_PATTERN } from './duration.js';

/** A JSON schema node (the subset of JSONSchemaProps we use). */
export type Schema = Readonly<Record<string, unknown>>;

/** The user-facing message of every CEL rule, keyed by a stable name. */
export const RULES = {
  nameLength: 'metadata.name must be at most 40 characters: pod, Service and certificate names are derived from it',
  replicasMin: 'spec.replicas must be at least 1',
  replicasMax: 'spec.replicas must be at most 15: larger Raft groups commit slowly; run several clusters instead',
  storageClassImmutable: 'spec.storage.storageClassName is immutable',
  storageSizeQuantity:
    'spec.storage.size must be a quantity such as 1Gi, 500Mi or 10G (binary suffixes Ki, Mi, Gi, Ti; decimal k, M, G, T)',
  storageSizePositive: 'spec.storage.size must be greater than zero',
  storageSizeNoShrink:
    'spec.storage.size cannot decrease: volumes can only grow (the operator expands each PVC when the storage class allows it)',
  portsDistinct: 'spec.ports.rpc, spec.ports.gossip and spec.ports.http must all differ',
  renewBeforeValidity: 'spec.tls.renewBeforeDays must be less than spec.tls.validityDays',
  leafTogether: 'spec.tls.leafValidity and spec.tls.leafRenewBefore must be set together',
  leafValidityMin:
    'spec.tls.leafValidity must be at least 10m and at most 87600h (10 years): a duration such as 24h, 90m or 1h30m',
  leafRenewBeforeMin:
    'spec.tls.leafRenewBefore must be at least 5m: a renewed certificate needs time to reach every pod through its Secret volume',
  leafRenewBeforeValidity: 'spec.tls.leafRenewBefore must be less than spec.tls.leafValidity',
  tlsRequired:
    'spec.tls.enabled must be true: commitlog nodes authenticate each other and their clients with mutual TLS, and a cluster without TLS is not supported',
  aclRuleUser: 'every spec.acl.rules[].user must be listed in spec.acl.users',
  aclReservedUser: 'the user name commitlog-operator is reserved for the operator',
  sourceRangesNeedLb: 'spec.external.loadBalancerSourceRanges applies only to type LoadBalancer',
  segmentMin: 'spec.log.segmentBytes must be at least 1024',
  retentionBelowSegment:
    'spec.log.retentionBytes must be at least spec.log.segmentBytes: retention deletes whole segments, so a smaller limit would keep deleting the segment being written',
} as const;

const str = (extra: Schema = {}): Schema => ({ type: 'string', ...extra });
const int = (extra: Schema = {}): Schema => ({ type: 'integer', ...extra });
const bool = (extra: Schema = {}): Schema => ({ type: 'boolean', ...extra });
const obj = (properties: Record<string, Schema>, extra: Schema = {}): Schema => ({
  type: 'object',
  properties,
  ...extra,
});
const stringMap = (extra: Schema = {}): Schema => ({
  type: 'object',
  additionalProperties: { type: 'string' },
  ...extra,
});
const rule = (r: string, message: string, extra: Schema = {}): Schema => ({ rule: r, message, ...extra });
const quantityMap: Schema = {
  type: 'object',
  additionalProperties: { anyOf: [{ type: 'integer' }, { type: 'string' }], 'x-kubernetes-int-or-string': true },
};
const port = (def: number): Schema => int({ minimum: 1, maximum: 65535, default: def });
const DNS_LABEL = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';

const specSchema: Schema = obj({
  replicas: int({
    default: DEFAULTS.replicas,
    description:
      'Number of Raft members (pods). Scale one member at a time with `kubectl scale clc NAME --replicas=N`.',
    'x-kubernetes-validations': [rule('self >= 1', RULES.replicasMin), rule('self <= 15', RULES.replicasMax)],
  }),
  image: str({ default: DEFAULTS.image, minLength: 1, maxLength: 512, description: 'Node container image.' }),
  imagePullPolicy: str({
    default: DEFAULTS.imagePullPolicy,
    enum: ['Always', 'IfNotPresent', 'Never'],
    description: 'Pull policy of the node image.',
  }),
  resources: obj(
    {
      requests: {
        ...quantityMap,
        description:
          'Resources each node container is guaranteed (cpu: 500m, memory: 256Mi). Changing them rolls the pods one at a time.',
      },
      limits: {
        ...quantityMap,
        description: 'Upper limits of each node container; a request may not exceed its limit.',
      },
    },
    { description: 'Container resources of each node.' },
  ),
  storage: obj(
    {
      size: str({
        default: DEFAULTS.storageSize,
        maxLength: 32,
        description:
          'Volume size per node (a quantity, e.g. 10Gi). May grow: the operator then expands each PersistentVolumeClaim, which needs a StorageClass with allowVolumeExpansion; it can never shrink.',
        'x-kubernetes-validations': [
          rule('isQuantity(self)', RULES.storageSizeQuantity),
          rule("!isQuantity(self) || quantity(self).isGreaterThan(quantity('0'))", RULES.storageSizePositive),
          rule(
            '!isQuantity(self) || !isQuantity(oldSelf) || quantity(self).compareTo(quantity(oldSelf)) >= 0',
            RULES.storageSizeNoShrink,
          ),
        ],
      }),
      storageClassName: str({
        maxLength: 253,
        description: 'StorageClass of the volumes; absent = the default class.',
      }),
      pvcRetention: obj(
        {
          whenScaled: str({
            enum: ['Retain', 'Delete'],
            default: DEFAULTS.pvcWhenScaled,
            description:
              'Volume of a member removed by a scale-down: Delete (default: the member left the Raft configuration, its log must not come back) or Retain.',
          }),
          whenDeleted: str({
            enum: ['Retain', 'Delete'],
            default: DEFAULTS.pvcWhenDeleted,
            description: 'Volumes when the CommitLogCluster is deleted: Retain (default: keep the data) or Delete.',
          }),
        },
        { default: {}, description: 'What happens to volumes on scale-down and on delete.' },
      ),
    },
    {
      default: {},
      description: 'Persistent volume of each node (one PersistentVolumeClaim data-<pod> per pod).',
      'x-kubernetes-validations': [
        rule(
          'has(self.storageClassName) == has(oldSelf.storageClassName) && (!has(self.storageClassName) || self.storageClassName == oldSelf.storageClassName)',
          RULES.storageClassImmutable,
        ),
      ],
    },
  ),
  ports: obj(
    {
      rpc: {
        ...port(DEFAULTS.rpcPort),
        description: 'gRPC port (Log and Admin services, Raft traffic, gRPC health probes).',
      },
      gossip: { ...port(DEFAULTS.gossipPort), description: 'Gossip (SWIM membership) port, UDP and TCP.' },
      http: { ...port(DEFAULTS.httpPort), description: 'HTTP port for /metrics, /healthz and /readyz.' },
    },
    {
      description: 'Container ports of each node; all three must differ.',
      // Parent defaults are complete: the API server checks CEL rules against them as written.
      default: { rpc: DEFAULTS.rpcPort, gossip: DEFAULTS.gossipPort, http: DEFAULTS.httpPort },
      'x-kubernetes-validations': [
        rule('self.rpc != self.gossip && self.rpc != self.http && self.gossip != self.http', RULES.portsDistinct),
      ],
    },
  ),
  tls: obj(
    {
      enabled: bool({
        default: DEFAULTS.tlsEnabled,
        description: 'Mutual TLS for clients and peers. Must be true: nodes require mutual TLS.',
      }),
      caSecretName: str({
        maxLength: 253,
        description:
          'Secret with tls.crt and tls.key of a CA to issue from; absent = operator-generated CA. Replacing its contents rotates to the new CA in phases (TrustBoth, ReissueLeaves, DropOld; status.ca): edit it again only once status.ca.rotationPhase is Idle.',
      }),
      validityDays: int({
        minimum: 1,
        maximum: 3650,
        default: DEFAULTS.validityDays,
        description: 'Validity of each issued leaf certificate, in days.',
      }),
      renewBeforeDays: int({
        minimum: 1,
        maximum: 3649,
        default: DEFAULTS.renewBeforeDays,
        description:
          'Renew a certificate (and the generated CA) this many days before it expires; less than validityDays.',
      }),
      leafValidity: str({
        pattern: DURATION_PATTERN,
        minLength: 2,
        maxLength: 24,
        description:
          'Lifetime of each issued leaf certificate (servers, operator, users) as a duration: whole hours, minutes, seconds such as 24h, 90m or 1h30m; at least 10m. Overrides validityDays; set together with leafRenewBefore. Short-lived leaves are renewed and picked up by the nodes from their Secret without a restart; clients must re-read their Secret too. Shortening it re-issues longer-lived leaves at once.',
        'x-kubernetes-validations': [
          rule("duration(self) >= duration('10m') && duration(self) <= duration('87600h')", RULES.leafValidityMin),
        ],
      }),
      leafRenewBefore: str({
        pattern: DURATION_PATTERN,
        minLength: 2,
        maxLength: 24,
        description:
          'Renew a leaf certificate this long before it expires, as a duration (e.g. 8h); at least 5m and less than leafValidity. Overrides renewBeforeDays for leaves; the generated CA is still renewed renewBeforeDays before it expires.',
        'x-kubernetes-validations': [rule("duration(self) >= duration('5m')", RULES.leafRenewBeforeMin)],
      }),
      rotationDwellSeconds: int({
        minimum: 0,
        maximum: 3600,
        default: DEFAULTS.rotationDwellSeconds,
        description: `How long each phase of a CA rotation (TrustBoth, ReissueLeaves, DropOld) lasts at least after it began, in seconds, on top of every pod running the phase's certificates and being Ready. Clients read their certificates from the Secret (<name>-user-<user>) through a Secret volume, which the kubelet refreshes only at its sync period: with kubelet defaults (syncFrequency 1m, up to 50% jitter, Watch propagation) a client has the phase's files within about 90 s, hence the default ${DEFAULTS.rotationDwellSeconds}. Raise it for clients that read their Secret less often (a longer kubelet syncFrequency, a TTL cache, an application that reloads its files on a timer); 0 advances as soon as the pods are ready. status.ca.phaseSince says when the phase began.`,
      }),
    },
    {
      description:
        'Certificates: the operator issues server certificates for every pod and one client certificate per ACL user (Secret <name>-user-<user>).',
      default: {
        enabled: DEFAULTS.tlsEnabled,
        validityDays: DEFAULTS.validityDays,
        renewBeforeDays: DEFAULTS.renewBeforeDays,
        rotationDwellSeconds: DEFAULTS.rotationDwellSeconds,
      },
      'x-kubernetes-validations': [
        rule('self.renewBeforeDays < self.validityDays', RULES.renewBeforeValidity),
        rule('has(self.leafValidity) == has(self.leafRenewBefore)', RULES.leafTogether),
        rule(
          '!has(self.leafValidity) || !has(self.leafRenewBefore) || duration(self.leafRenewBefore) < duration(self.leafValidity)',
          RULES.leafRenewBeforeValidity,
        ),
        rule('self.enabled', RULES.tlsRequired),
      ],
    },
  ),
  acl: obj(
    {
      users: {
        type: 'array',
        maxItems: 64,
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['name'],
        default: DEFAULTS.aclUsers,
        description: 'Client identities: each gets a certificate with this common name in Secret <name>-user-<user>.',
        items: obj(
          {
            name: str({
              minLength: 1,
              maxLength: 40,
              pattern: DNS_LABEL,
              description: 'User name (a DNS label): the certificate common name the ACL matches.',
              'x-kubernetes-validations': [rule("self != 'commitlog-operator'", RULES.aclReservedUser)],
            }),
          },
          { required: ['name'] },
        ),
      },
      rules: {
        type: 'array',
        maxItems: 256,
        default: DEFAULTS.aclRules,
        description: 'What each user may do; a user without a rule may do nothing.',
        items: obj(
          {
            user: str({ minLength: 1, maxLength: 40, description: 'A name listed in spec.acl.users.' }),
            actions: {
              type: 'array',
              minItems: 1,
              maxItems: 3,
              'x-kubernetes-list-type': 'set',
              items: str({ enum: ['produce', 'consume', 'admin'] }),
              description:
                'Allowed actions: produce (write records), consume (read records), admin (membership changes).',
            },
          },
          { required: ['user', 'actions'] },
        ),
      },
    },
    {
      default: { users: DEFAULTS.aclUsers, rules: DEFAULTS.aclRules },
      description: 'Users (one client certificate each) and what they may do.',
      'x-kubernetes-validations': [
        rule('self.rules.all(r, self.users.exists(u, u.name == r.user))', RULES.aclRuleUser),
      ],
    },
  ),
  external: obj(
    {
      type: str({
        enum: ['LoadBalancer', 'NodePort', 'None'],
        default: DEFAULTS.externalType,
        description:
          'How clients outside the cluster reach each pod: LoadBalancer, NodePort, or None (no external Services).',
      }),
      annotations: stringMap({ description: 'Annotations of every external Service (cloud load balancer settings).' }),
      loadBalancerSourceRanges: {
        type: 'array',
        maxItems: 64,
        items: str({ maxLength: 64 }),
        description: 'CIDRs allowed to reach the LoadBalancer Services (type LoadBalancer only).',
      },
    },
    {
      default: { type: DEFAULTS.externalType },
      description: 'One external Service per pod, selected by statefulset.kubernetes.io/pod-name.',
      'x-kubernetes-validations': [
        rule(
          "self.type == 'LoadBalancer' || !has(self.loadBalancerSourceRanges) || size(self.loadBalancerSourceRanges) == 0",
          RULES.sourceRangesNeedLb,
        ),
      ],
    },
  ),
  log: obj(
    {
      segmentBytes: int({
        default: DEFAULTS.segmentBytes,
        format: 'int64',
        description: 'Size at which the log rolls to a new segment file, in bytes (at least 1024).',
        'x-kubernetes-validations': [rule('self >= 1024', RULES.segmentMin)],
      }),
      retentionBytes: int({
        format: 'int64',
        minimum: 1,
        description:
          'Delete the oldest whole segments once the log is larger than this, in bytes; absent = keep everything.',
      }),
      retentionHours: int({
        minimum: 1,
        description: 'Delete whole segments older than this many hours; absent = keep everything.',
      }),
      fsync: str({
        enum: ['batch', 'always'],
        default: DEFAULTS.fsync,
        description:
          'batch: group commit, every acknowledged record is on disk on a quorum; always: accepted for compatibility, the node always group-commits.',
      }),
    },
    {
      default: {},
      description: 'The on-disk commit log of each node.',
      // segmentBytes has a default, so it is set when the rule runs.
      'x-kubernetes-validations': [
        rule('!has(self.retentionBytes) || self.retentionBytes >= self.segmentBytes', RULES.retentionBelowSegment),
      ],
    },
  ),
  pod: obj(
    {
      nodeSelector: stringMap({ description: 'Node labels the pods must be scheduled on (pod spec nodeSelector).' }),
      tolerations: {
        type: 'array',
        items: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
        description: 'Pod tolerations, as in a pod spec.',
      },
      affinity: {
        type: 'object',
        'x-kubernetes-preserve-unknown-fields': true,
        description: 'Pod affinity, as in a pod spec; absent = spread pods over nodes (preferred anti-affinity).',
      },
      annotations: stringMap({ description: 'Extra annotations of the node pods.' }),
      labels: stringMap({ description: 'Extra labels of the node pods (the selector labels cannot be overridden).' }),
      priorityClassName: str({ maxLength: 253, description: 'PriorityClass of the node pods; it must exist.' }),
    },
    { description: 'Pod scheduling overrides.' },
  ),
});

const conditionSchema: Schema = obj(
  {
    type: str({
      maxLength: 316,
      description:
        'Ready, Available, Progressing, Degraded, CertificatesReady, ExternalAccessReady, or ReconciliationPaused (only while paused).',
    }),
    status: str({ enum: ['True', 'False', 'Unknown'], description: 'True, False or Unknown.' }),
    reason: str({
      maxLength: 1024,
      description: 'Machine-readable reason (CamelCase); docs/operator.md, "Troubleshooting", lists each.',
    }),
    message: str({ maxLength: 32768, description: 'What happened, for humans.' }),
    observedGeneration: int({
      format: 'int64',
      minimum: 0,
      description: 'metadata.generation of the spec this condition describes.',
    }),
    lastTransitionTime: str({ format: 'date-time', description: 'When status last changed.' }),
  },
  {
    required: ['type', 'status', 'lastTransitionTime'],
    description: 'One condition, per the Kubernetes API conventions.',
  },
);

const statusSchema: Schema = obj(
  {
    observedGeneration: int({
      format: 'int64',
      description: 'metadata.generation of the spec the last pass acted on.',
    }),
    phase: str({
      description: 'Pending, Bootstrapping, Running, Scaling, Degraded or Failed (conditions have the detail).',
    }),
    replicas: int({ description: 'Pods the StatefulSet runs now (scaling moves one member at a time).' }),
    readyReplicas: int({ description: 'Ready pods (a Ready pod is a caught-up Raft member).' }),
    selector: str({ description: 'Label selector of the pods (for the scale subresource and HPA).' }),
    leader: str({ description: 'Pod of the Raft leader, as the Admin service reports it.' }),
    members: {
      type: 'array',
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['name'],
      description: 'Raft members (from the Admin service; without it, the pods as observed).',
      items: obj(
        {
          name: str({ description: 'Member id = pod name.' }),
          role: str({ enum: ['voter', 'learner'], description: 'voter, or learner (catching up before promotion).' }),
          ready: bool({ description: 'Whether its pod is Ready.' }),
          lag: int({ format: 'int64', description: 'Log entries behind the leader.' }),
          internalAddress: str({ description: 'host:port peers and in-cluster clients dial.' }),
          externalAddress: str({ description: 'host:port outside clients dial (external Service), once assigned.' }),
        },
        { required: ['name'] },
      ),
    },
    clusterId: str({
      description: 'Cluster id recorded before bootstrap; nodes refuse to join a cluster with another id.',
    }),
    bootstrapped: bool({ description: 'Whether the cluster was seen formed; from then on no node may bootstrap.' }),
    certificateExpiry: str({
      format: 'date-time',
      description: 'Earliest expiry of the certificates the operator manages.',
    }),
    ca: obj(
      {
        rotationPhase: str({
          description: 'Idle, or the phase of a CA rotation in progress: TrustBoth, ReissueLeaves, DropOld.',
        }),
        current: str({
          description: 'SHA-256 fingerprint of the CA leaves are issued by (the old one while rotating).',
        }),
        next: str({ description: 'SHA-256 fingerprint of the CA being rotated to.' }),
        expiry: str({ format: 'date-time', description: 'notAfter of the current CA.' }),
        waiting: str({ description: 'What the rotation waits for before its next phase.' }),
        phaseSince: str({
          format: 'date-time',
          description:
            'When the phase in progress began (its Secrets were written); it lasts at least spec.tls.rotationDwellSeconds from then.',
        }),
      },
      { description: 'The cluster CA and its rotation (the CA Secret NAME-ca is authoritative; this mirrors it).' },
    ),
    conditions: {
      type: 'array',
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['type'],
      items: conditionSchema,
      description:
        'Current state: Ready, Available, Progressing, Degraded, CertificatesReady, ExternalAccessReady (and ReconciliationPaused while annotation commitlog.dev/paused is "true", CaRotating while a CA rotation runs).',
    },
  },
  { description: 'What the operator observed; written only by the operator.' },
);

/** Paths of every field under `s` without a description (what `kubectl explain` would show empty). */
export function undescribed(s: Schema, path = ''): string[] {
  const props = (s['properties'] ?? {}) as Record<string, Schema>;
  return Object.entries(props).flatMap(([k, v]) => {
    const here = `${path}.${k}`;
    const own = typeof v['description'] === 'string' && v['description'] !== '' ? [] : [here];
    const items = v['items'] as Schema | undefined;
    return [...own, ...undescribed(v, here), ...(items ? undescribed(items, `${here}[]`) : [])];
  });
}

/** The `openAPIV3Schema` of the served version. */
export const openApiSchema: Schema = obj(
  {
    apiVersion: str({ description: 'commitlog.dev/v1alpha1' }),
    kind: str({ description: 'CommitLogCluster' }),
    // The API server forbids anything but type on metadata (it documents ObjectMeta itself).
    metadata: { type: 'object' },
    spec: { ...specSchema, default: {}, description: 'The desired cluster.' },
    status: statusSchema,
  },
  {
    required: ['spec'],
    description: 'CommitLogCluster is a Raft-replicated commitlog cluster run by the commitlog operator.',
    'x-kubernetes-validations': [rule('size(self.metadata.name) <= 40', RULES.nameLength)],
  },
);
