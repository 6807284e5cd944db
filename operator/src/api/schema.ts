/**
 * OpenAPI v3 schema of CommitLogCluster, with defaults (from `defaults.ts`) and CEL
 * validations (`x-kubernetes-validations`). Every CEL rule carries the exact message a user
 * sees from `kubectl apply`; `RULES` lists them so tests and docs refer to the same text.
 */
import { DEFAULTS } from './defaults.js';

/** A JSON schema node (the subset of JSONSchemaProps we use). */
export type Schema = Readonly<Record<string, unknown>>;

/** The user-facing message of every CEL rule, keyed by a stable name. */
export const RULES = {
  nameLength: 'metadata.name must be at most 40 characters: pod, Service and certificate names are derived from it',
  replicasMin: 'spec.replicas must be at least 1',
  replicasMax: 'spec.replicas must be at most 15: larger Raft groups commit slowly; run several clusters instead',
  storageClassImmutable: 'spec.storage.storageClassName is immutable',
  storageSizeQuantity: 'spec.storage.size must be a quantity such as 1Gi, 500Mi or 10G (binary suffixes Ki, Mi, Gi, Ti; decimal k, M, G, T)',
  storageSizePositive: 'spec.storage.size must be greater than zero',
  storageSizeNoShrink: 'spec.storage.size cannot decrease: volumes can only grow (the operator expands each PVC when the storage class allows it)',
  portsDistinct: 'spec.ports.rpc, spec.ports.gossip and spec.ports.http must all differ',
  renewBeforeValidity: 'spec.tls.renewBeforeDays must be less than spec.tls.validityDays',
  tlsRequired: 'spec.tls.enabled must be true: commitlog nodes authenticate each other and their clients with mutual TLS, and a cluster without TLS is not supported',
  aclRuleUser: 'every spec.acl.rules[].user must be listed in spec.acl.users',
  aclReservedUser: 'the user name commitlog-operator is reserved for the operator',
  sourceRangesNeedLb: 'spec.external.loadBalancerSourceRanges applies only to type LoadBalancer',
  segmentMin: 'spec.log.segmentBytes must be at least 1024',
} as const;

const str = (extra: Schema = {}): Schema => ({ type: 'string', ...extra });
const int = (extra: Schema = {}): Schema => ({ type: 'integer', ...extra });
const bool = (extra: Schema = {}): Schema => ({ type: 'boolean', ...extra });
const obj = (properties: Record<string, Schema>, extra: Schema = {}): Schema => ({ type: 'object', properties, ...extra });
const stringMap = (extra: Schema = {}): Schema => ({ type: 'object', additionalProperties: { type: 'string' }, ...extra });
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
    description: 'Number of Raft members (pods). Scale one member at a time with `kubectl scale clc NAME --replicas=N`.',
    'x-kubernetes-validations': [rule('self >= 1', RULES.replicasMin), rule('self <= 15', RULES.replicasMax)],
  }),
  image: str({ default: DEFAULTS.image, minLength: 1, maxLength: 512, description: 'Node container image.' }),
  imagePullPolicy: str({ default: DEFAULTS.imagePullPolicy, enum: ['Always', 'IfNotPresent', 'Never'] }),
  resources: obj({ requests: quantityMap, limits: quantityMap }, { description: 'Container resources of each node.' }),
  storage: obj({
    size: str({
      default: DEFAULTS.storageSize, maxLength: 32,
      description: 'Volume size per node (a quantity, e.g. 10Gi). May grow: the operator then expands each PersistentVolumeClaim, which needs a StorageClass with allowVolumeExpansion; it can never shrink.',
      'x-kubernetes-validations': [
        rule('isQuantity(self)', RULES.storageSizeQuantity),
        rule("!isQuantity(self) || quantity(self).isGreaterThan(quantity('0'))", RULES.storageSizePositive),
        rule('!isQuantity(self) || !isQuantity(oldSelf) || quantity(self).compareTo(quantity(oldSelf)) >= 0', RULES.storageSizeNoShrink),
      ],
    }),
    storageClassName: str({ maxLength: 253, description: 'StorageClass of the volumes; absent = the default class.' }),
    pvcRetention: obj({
      whenScaled: str({ enum: ['Retain', 'Delete'], default: DEFAULTS.pvcWhenScaled }),
      whenDeleted: str({ enum: ['Retain', 'Delete'], default: DEFAULTS.pvcWhenDeleted }),
    }, { default: {}, description: 'What happens to volumes on scale-down and on delete.' }),
  }, {
    default: {},
    'x-kubernetes-validations': [rule(
      'has(self.storageClassName) == has(oldSelf.storageClassName) && (!has(self.storageClassName) || self.storageClassName == oldSelf.storageClassName)',
      RULES.storageClassImmutable)],
  }),
  ports: obj({ rpc: port(DEFAULTS.rpcPort), gossip: port(DEFAULTS.gossipPort), http: port(DEFAULTS.httpPort) }, {
    // Parent defaults are complete: the API server checks CEL rules against them as written.
    default: { rpc: DEFAULTS.rpcPort, gossip: DEFAULTS.gossipPort, http: DEFAULTS.httpPort },
    'x-kubernetes-validations': [rule('self.rpc != self.gossip && self.rpc != self.http && self.gossip != self.http', RULES.portsDistinct)],
  }),
  tls: obj({
    enabled: bool({ default: DEFAULTS.tlsEnabled, description: 'Mutual TLS for clients and peers. Must be true: nodes require mutual TLS.' }),
    caSecretName: str({ maxLength: 253, description: 'Secret with tls.crt and tls.key of a CA to issue from; absent = operator-generated CA.' }),
    validityDays: int({ minimum: 1, maximum: 3650, default: DEFAULTS.validityDays }),
    renewBeforeDays: int({ minimum: 1, maximum: 3649, default: DEFAULTS.renewBeforeDays }),
  }, {
    default: { enabled: DEFAULTS.tlsEnabled, validityDays: DEFAULTS.validityDays, renewBeforeDays: DEFAULTS.renewBeforeDays },
    'x-kubernetes-validations': [
      rule('self.renewBeforeDays < self.validityDays', RULES.renewBeforeValidity),
      rule('self.enabled', RULES.tlsRequired),
    ],
  }),
  acl: obj({
    users: {
      type: 'array', maxItems: 64, 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'],
      default: DEFAULTS.aclUsers,
      items: obj({
        name: str({
          minLength: 1, maxLength: 40, pattern: DNS_LABEL,
          'x-kubernetes-validations': [rule("self != 'commitlog-operator'", RULES.aclReservedUser)],
        }),
      }, { required: ['name'] }),
    },
    rules: {
      type: 'array', maxItems: 256, default: DEFAULTS.aclRules,
      items: obj({
        user: str({ minLength: 1, maxLength: 40 }),
        actions: { type: 'array', minItems: 1, maxItems: 3, 'x-kubernetes-list-type': 'set', items: str({ enum: ['produce', 'consume', 'admin'] }) },
      }, { required: ['user', 'actions'] }),
    },
  }, {
    default: { users: DEFAULTS.aclUsers, rules: DEFAULTS.aclRules },
    description: 'Users (one client certificate each) and what they may do.',
    'x-kubernetes-validations': [rule('self.rules.all(r, self.users.exists(u, u.name == r.user))', RULES.aclRuleUser)],
  }),
  external: obj({
    type: str({ enum: ['LoadBalancer', 'NodePort', 'None'], default: DEFAULTS.externalType }),
    annotations: stringMap({ description: 'Annotations of every external Service (cloud load balancer settings).' }),
    loadBalancerSourceRanges: { type: 'array', maxItems: 64, items: str({ maxLength: 64 }) },
  }, {
    default: { type: DEFAULTS.externalType },
    description: 'One external Service per pod, selected by statefulset.kubernetes.io/pod-name.',
    'x-kubernetes-validations': [rule("self.type == 'LoadBalancer' || !has(self.loadBalancerSourceRanges) || size(self.loadBalancerSourceRanges) == 0", RULES.sourceRangesNeedLb)],
  }),
  log: obj({
    segmentBytes: int({ default: DEFAULTS.segmentBytes, format: 'int64', 'x-kubernetes-validations': [rule('self >= 1024', RULES.segmentMin)] }),
    retentionBytes: int({ format: 'int64', minimum: 1 }),
    retentionHours: int({ minimum: 1 }),
    fsync: str({ enum: ['batch', 'always'], default: DEFAULTS.fsync }),
  }, { default: {} }),
  pod: obj({
    nodeSelector: stringMap(),
    tolerations: { type: 'array', items: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
    affinity: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
    annotations: stringMap(),
    labels: stringMap(),
    priorityClassName: str({ maxLength: 253 }),
  }, { description: 'Pod scheduling overrides.' }),
});

const conditionSchema: Schema = obj({
  type: str({ maxLength: 316 }),
  status: str({ enum: ['True', 'False', 'Unknown'] }),
  reason: str({ maxLength: 1024 }),
  message: str({ maxLength: 32768 }),
  observedGeneration: int({ format: 'int64', minimum: 0 }),
  lastTransitionTime: str({ format: 'date-time' }),
}, { required: ['type', 'status', 'lastTransitionTime'] });

const statusSchema: Schema = obj({
  observedGeneration: int({ format: 'int64' }),
  phase: str(),
  replicas: int(),
  readyReplicas: int(),
  selector: str(),
  leader: str(),
  members: {
    type: 'array', 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'],
    items: obj({
      name: str(), role: str({ enum: ['voter', 'learner'] }), ready: bool(), lag: int({ format: 'int64' }),
      internalAddress: str(), externalAddress: str(),
    }, { required: ['name'] }),
  },
  clusterId: str(),
  bootstrapped: bool(),
  certificateExpiry: str({ format: 'date-time' }),
  conditions: { type: 'array', 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'], items: conditionSchema },
});

/** The `openAPIV3Schema` of the served version. */
export const openApiSchema: Schema = obj({
  apiVersion: str(),
  kind: str(),
  metadata: { type: 'object' },
  spec: { ...specSchema, default: {} },
  status: statusSchema,
}, {
  required: ['spec'],
  description: 'CommitLogCluster is a Raft-replicated commitlog cluster run by the commitlog operator.',
  'x-kubernetes-validations': [rule('size(self.metadata.name) <= 40', RULES.nameLength)],
});
