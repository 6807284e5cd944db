/**
 * The API resources the operator touches, and URL paths for them.
 */
import { API_VERSION, KIND, PLURAL } from '../api/types.js';

/** An API resource type. */
export interface Resource {
  readonly apiVersion: string;
  readonly kind: string;
  readonly plural: string;
  readonly namespaced: boolean;
}

const r = (apiVersion: string, kind: string, plural: string, namespaced = true): Resource => ({
  apiVersion,
  kind,
  plural,
  namespaced,
});

/** Every resource the operator reads or writes. */
export const RESOURCES = {
  cluster: r(API_VERSION, KIND, PLURAL),
  statefulSet: r('apps/v1', 'StatefulSet', 'statefulsets'),
  service: r('v1', 'Service', 'services'),
  secret: r('v1', 'Secret', 'secrets'),
  configMap: r('v1', 'ConfigMap', 'configmaps'),
  pdb: r('policy/v1', 'PodDisruptionBudget', 'poddisruptionbudgets'),
  pod: r('v1', 'Pod', 'pods'),
  pvc: r('v1', 'PersistentVolumeClaim', 'persistentvolumeclaims'),
  lease: r('coordination.k8s.io/v1', 'Lease', 'leases'),
  event: r('events.k8s.io/v1', 'Event', 'events'),
} as const;

/** The resource of a manifest's apiVersion/kind, if the operator knows it. */
export function resourceOf(apiVersion: string | undefined, kind: string | undefined): Resource | undefined {
  return Object.values(RESOURCES).find((x) => x.apiVersion === apiVersion && x.kind === kind);
}

/** Collection path: `/api/v1/namespaces/ns/pods` (all namespaces when `ns` is undefined). */
export function collectionPath(res: Resource, ns: string | undefined): string {
  const prefix = res.apiVersion.includes('/') ? `/apis/${res.apiVersion}` : `/api/${res.apiVersion}`;
  return res.namespaced && ns !== undefined
    ? `${prefix}/namespaces/${encodeURIComponent(ns)}/${res.plural}`
    : `${prefix}/${res.plural}`;
}

/** Object path, optionally of a subresource (`status`, `scale`). */
export function objectPath(res: Resource, ns: string | undefined, name: string, subresource?: string): string {
  return `${collectionPath(res, ns)}/${encodeURIComponent(name)}${subresource ? `/${subresource}` : ''}`;
}
