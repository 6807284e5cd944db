/**
 * The model: from a validated CommitLogCluster and the reconcile's inputs, every object the
 * cluster should have, in apply order. Pure and deterministic (golden-tested); no API calls.
 * An owned Service or Secret that is not in the result must not exist (the reconcile prunes
 * it: external Services of removed pods, Secrets of removed ACL users).
 */
import type { V1PodDisruptionBudget } from '@kubernetes/client-node';
import type { ResolvedSpec } from '../api/defaults.js';
import type { CommitLogCluster } from '../api/types.js';
import { configHash, configMap, nodeConfig } from './config-map.js';
import type { ModelInputs } from './inputs.js';
import { commonLabels, namesOf, ownerReference, selectorLabels } from './names.js';
import { secrets } from './secrets.js';
import { clientService, externalServices, headlessService } from './services.js';
import { statefulSet } from './stateful-set.js';

/** Any Kubernetes object the model produces. */
export interface KubeObject {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata?: { readonly name?: string; readonly namespace?: string };
}

/** Desired objects grouped by reconcile step. */
export interface DesiredObjects {
  readonly secrets: readonly KubeObject[];
  readonly config: readonly KubeObject[];
  readonly services: readonly KubeObject[];
  readonly statefulSet: readonly KubeObject[];
}

/**
 * The PodDisruptionBudget: a voluntary disruption (drain, eviction) may take one member down
 * only when the rest still form a quorum — `maxUnavailable` is 1 from 3 members on and 0 for
 * 1 or 2 members (where any member down loses quorum, so evictions wait until the cluster is
 * scaled up or the PDB is removed deliberately). `members` is what the StatefulSet runs now,
 * never more than `spec.replicas`: a cluster growing from 1 to 3 has 2 voters on the way, and
 * its budget must not count the third before it exists ({@link desiredObjects}).
 */
export function podDisruptionBudget(c: CommitLogCluster, members: number): V1PodDisruptionBudget {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: {
      name: namesOf(c.metadata.name).pdb,
      namespace: c.metadata.namespace,
      labels: commonLabels(c.metadata.name, 'node'),
      ownerReferences: [ownerReference(c)],
    },
    spec: {
      maxUnavailable: members - (Math.floor(members / 2) + 1) >= 1 ? 1 : 0,
      selector: { matchLabels: selectorLabels(c.metadata.name) },
    },
  };
}

/** Computes the desired objects of `c` (already validated into `spec`). */
export function desiredObjects(c: CommitLogCluster, spec: ResolvedSpec, inputs: ModelInputs): DesiredObjects {
  const hash = configHash(nodeConfig(c, spec, inputs));
  return {
    secrets: secrets(c, inputs),
    config: [configMap(c, spec, inputs)],
    services: [
      headlessService(c, spec),
      clientService(c, spec),
      ...externalServices(c, spec, inputs.statefulSetReplicas),
    ],
    statefulSet: [
      statefulSet(c, spec, {
        replicas: inputs.statefulSetReplicas,
        configHash: hash,
        ...(inputs.volumeClaimSize !== undefined ? { claimSize: inputs.volumeClaimSize } : {}),
        ...(inputs.certificates?.caRevision !== undefined ? { caRevision: inputs.certificates.caRevision } : {}),
        ...(inputs.restart !== undefined ? { restart: inputs.restart } : {}),
      }),
      podDisruptionBudget(c, Math.min(spec.replicas, inputs.statefulSetReplicas)),
    ],
  };
}

/** All desired objects in apply order. */
export function allObjects(d: DesiredObjects): KubeObject[] {
  return [...d.secrets, ...d.config, ...d.services, ...d.statefulSet];
}
