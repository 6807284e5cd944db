/**
 * The operator's least-privilege RBAC rules, defined once. The install chart renders them into
 * a ClusterRole (dist/install.yaml) and the Helm chart includes the same synthesized list
 * (`charts/commitlog-operator/files/rbac-rules.yaml`), so the two can never drift.
 */

/** One PolicyRule. */
export interface Rule {
  readonly apiGroups: readonly string[];
  readonly resources: readonly string[];
  readonly verbs: readonly string[];
}

/**
 * Rules of the ClusterRole bound in every watched namespace. Why each verb:
 * - commitlogclusters: read + watch only; the operator never writes spec.
 * - commitlogclusters/status: the status subresource is the only place it writes the CR.
 * - commitlogclusters/finalizers update: every child's owner reference sets
 *   `blockOwnerDeletion`, which the OwnerReferencesPermissionEnforcement admission plugin
 *   (on by default in OpenShift) allows only to who may update the owner's finalizers.
 * - owned objects: `patch` (server-side apply) and `create` (apply of a missing object is
 *   authorized as create too); `delete` only where the desired set can shrink (external
 *   Services when access is turned off, client Secrets of removed ACL users).
 * - pods: read, and delete for rolling updates (the StatefulSet uses OnDelete).
 * - persistentvolumeclaims: read and watch (the reconciler reads them from a cache), and patch to expand them when spec.storage.size grows.
 * - events: create/patch to record what it did; list to read the StatefulSet controller's
 *   FailedCreate events while a pod it should have created is missing.
 */
export const CLUSTER_RULES: readonly Rule[] = [
  { apiGroups: ['commitlog.dev'], resources: ['commitlogclusters'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: ['commitlog.dev'], resources: ['commitlogclusters/status'], verbs: ['get', 'patch', 'update'] },
  { apiGroups: ['commitlog.dev'], resources: ['commitlogclusters/finalizers'], verbs: ['update'] },
  { apiGroups: ['apps'], resources: ['statefulsets'], verbs: ['get', 'list', 'watch', 'create', 'patch'] },
  { apiGroups: [''], resources: ['services', 'secrets'], verbs: ['get', 'list', 'watch', 'create', 'patch', 'delete'] },
  { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'watch', 'create', 'patch'] },
  { apiGroups: ['policy'], resources: ['poddisruptionbudgets'], verbs: ['get', 'list', 'watch', 'create', 'patch'] },
  { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch', 'delete'] },
  { apiGroups: [''], resources: ['persistentvolumeclaims'], verbs: ['get', 'list', 'watch', 'patch'] },
  { apiGroups: ['', 'events.k8s.io'], resources: ['events'], verbs: ['list', 'create', 'patch'] },
];

/** Rules of the Role in the operator's own namespace: the leader-election Lease. */
export const LEADER_ELECTION_RULES: readonly Rule[] = [
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] },
];
