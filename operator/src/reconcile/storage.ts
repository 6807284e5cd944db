/**
 * Growing volumes. A StatefulSet's volumeClaimTemplates cannot change, so the template keeps
 * the size the StatefulSet was created with and a larger `spec.storage.size` is applied to
 * each PersistentVolumeClaim directly (as the Strimzi and etcd operators do): the storage
 * driver expands the volume when its StorageClass has `allowVolumeExpansion`; otherwise the
 * API server refuses the patch and the reconcile reports that refusal (ReconcileFailed, step
 * storage). Sizes never shrink: the CRD refuses a smaller size, and a claim already larger
 * than the spec is left alone. PVCs created later from the template start at the template
 * size and are expanded on the next pass.
 */
import { parseQuantity } from '../model/quantity.js';
import type { VolumeIdentity } from './identity.js';

/** One observed PersistentVolumeClaim of the cluster (with the identity of its data, identity.ts). */
export interface ObservedVolume extends VolumeIdentity {
  readonly name: string;
  /** spec.resources.requests.storage */
  readonly requested?: string;
  /** status.capacity.storage: what the volume has now. */
  readonly capacity?: string;
}

/** What the storage step should do. */
export interface StoragePlan {
  /** Claims whose request must be raised to the spec size. */
  readonly expand: readonly string[];
  /** Claims whose request is at the spec size but whose volume is still smaller. */
  readonly resizing: readonly string[];
}

const smaller = (a: string | undefined, b: string): boolean => {
  const x = a === undefined ? undefined : parseQuantity(a);
  const y = parseQuantity(b);
  return x !== undefined && y !== undefined && x < y;
};

/** Plans the expansion of `volumes` to `size`. Pure. */
export function planStorage(volumes: readonly ObservedVolume[], size: string): StoragePlan {
  return {
    expand: volumes.filter((v) => smaller(v.requested, size)).map((v) => v.name),
    resizing: volumes.filter((v) => !smaller(v.requested, size) && smaller(v.capacity, size)).map((v) => v.name),
  };
}

/** The Progressing message while volumes grow, or undefined when none does. */
export function storageProgress(plan: StoragePlan, size: string): string | undefined {
  const growing = [...plan.expand, ...plan.resizing].sort();
  return growing.length > 0 ? `expanding volumes to ${size}: ${growing.join(', ')}` : undefined;
}
