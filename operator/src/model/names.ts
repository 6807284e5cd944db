/**
 * Names, labels and owner references of everything the operator creates for a cluster.
 * One place, so the model, the reconcile steps and the tests agree on every name.
 */
import type { V1OwnerReference } from '@kubernetes/client-node';
import { API_VERSION, KIND, type CommitLogCluster } from '../api/types.js';

/** Field manager of every server-side apply the operator makes. */
export const FIELD_MANAGER = 'commitlog-operator';
/** Common name of the operator's client certificate (ACL action `admin`). */
export const OPERATOR_CN = 'commitlog-operator';
/** Common name of every node's certificate (nodes forward Produce to the leader). */
export const NODE_CN = 'commitlog-node';

/** Mount paths inside the node container. */
export const PATHS = {
  data: '/var/lib/commitlog',
  config: '/etc/commitlog/config',
  tls: '/etc/commitlog/tls',
  gossip: '/etc/commitlog/gossip',
} as const;

/** Names derived from the cluster name `n`. */
export function namesOf(n: string) {
  return {
    statefulSet: n,
    /** Client Service: `n.<ns>.svc` is the address clients use inside Kubernetes. */
    clientService: n,
    /** Headless Service: peer DNS `pod.<n>-headless.<ns>.svc`. */
    headlessService: `${n}-headless`,
    configMap: `${n}-config`,
    caSecret: `${n}-ca`,
    /** With a user-supplied CA: the CA certificates (no keys) the leaves were issued under, and a rotation's phase. */
    caRecordSecret: `${n}-ca-record`,
    serverSecret: `${n}-server-tls`,
    operatorSecret: `${n}-operator-tls`,
    gossipSecret: `${n}-gossip`,
    pdb: n,
    pod: (ordinal: number) => `${n}-${ordinal}`,
    externalService: (ordinal: number) => `${n}-${ordinal}-external`,
    userSecret: (user: string) => `${n}-user-${user}`,
  } as const;
}

/** Label keys and fixed values (Kubernetes recommended labels). */
export const LABELS = {
  name: 'app.kubernetes.io/name',
  instance: 'app.kubernetes.io/instance',
  component: 'app.kubernetes.io/component',
  partOf: 'app.kubernetes.io/part-of',
  managedBy: 'app.kubernetes.io/managed-by',
  version: 'app.kubernetes.io/version',
  podName: 'statefulset.kubernetes.io/pod-name',
} as const;

/** Labels that select the node pods of cluster `n` (stable: never add to them). */
export function selectorLabels(n: string): Record<string, string> {
  return { [LABELS.name]: 'commitlog', [LABELS.instance]: n, [LABELS.component]: 'node' };
}

/** Labels on every object of cluster `n`; `component` says what the object is for. */
export function commonLabels(n: string, component: string): Record<string, string> {
  return {
    [LABELS.name]: 'commitlog',
    [LABELS.instance]: n,
    [LABELS.component]: component,
    [LABELS.partOf]: 'commitlog',
    [LABELS.managedBy]: FIELD_MANAGER,
  };
}

/** Label selector string of the cluster's pods (status.selector, for the scale subresource). */
export function selectorString(n: string): string {
  return Object.entries(selectorLabels(n))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

/** The controller owner reference to `c`: garbage collection deletes children with it. */
export function ownerReference(c: CommitLogCluster): V1OwnerReference {
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    name: c.metadata.name,
    uid: c.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** DNS names of pod `ordinal`: every name a peer or an in-cluster client may dial. */
export function podDnsNames(n: string, ns: string, ordinal: number): string[] {
  const names = namesOf(n);
  const pod = names.pod(ordinal);
  const base = `${pod}.${names.headlessService}.${ns}`;
  return [`${base}.svc`, `${base}.svc.cluster.local`, pod];
}

/** DNS names of the client Service (any node may answer a client). */
export function clientDnsNames(n: string, ns: string): string[] {
  const svc = namesOf(n).clientService;
  return [svc, `${svc}.${ns}`, `${svc}.${ns}.svc`, `${svc}.${ns}.svc.cluster.local`];
}
