/**
 * Volume expansion for the local node's hostPath volumes: what an external-resizer sidecar
 * plus a CSI driver's node expansion do on a cloud, in two stages per claim, one per pass of
 * the addons loop (addons.ts):
 *
 * 1. **controller stage** (external-resizer + ControllerExpandVolume): a bound claim of the
 *    test StorageClass requests more than its PersistentVolume holds → the PV's
 *    `spec.capacity.storage` is raised to the request, and the claim's status records that the
 *    node still has to expand the file system: condition `FileSystemResizePending`,
 *    `allocatedResources.storage` = the request, `allocatedResourceStatuses.storage` =
 *    `NodeResizePending`;
 * 2. **node stage** (the kubelet's NodeExpandVolume): the claim's `status.capacity.storage` is
 *    raised to the PV's capacity, the resize conditions and the allocated-resource status are
 *    cleared.
 *
 * Where it differs from a cloud CSI driver: nothing is resized on disk (a hostPath directory
 * has no size; no capacity is enforced, before or after); the node stage runs on the next pass
 * whether or not a pod mounts the volume (a CSI node plugin expands only a volume staged on a
 * node, online or at the next mount); there is no `Resizing` condition in between (the
 * controller stage cannot be slow or fail), no `ControllerResizeInfeasible` or retry with
 * backoff, and no Events on the claim (`VolumeResizeSuccessful` et al.). The API server's own
 * rules still apply: only bound claims of a class with `allowVolumeExpansion: true` can grow,
 * and never shrink.
 */
import type { V1PersistentVolume, V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { parseQuantity } from '../../operator/src/model/quantity.js';

/** The claim conditions of an expansion in progress (cleared by the node stage). */
const RESIZE_CONDITIONS: ReadonlySet<string> = new Set(['Resizing', 'FileSystemResizePending']);

/** One stage of one claim's expansion. */
export type ResizeStage =
  | { readonly kind: 'controller'; readonly pv: string; readonly size: string }
  | { readonly kind: 'node'; readonly size: string };

const less = (a: string | undefined, b: string | undefined): boolean => {
  const x = a === undefined ? 0 : parseQuantity(a);
  const y = b === undefined ? undefined : parseQuantity(b);
  return x !== undefined && y !== undefined && x < y;
};

/**
 * The next stage of `claim`'s expansion, if any (pure). `pvs` are the cluster's volumes;
 * `storageClass` is the class the resizer serves.
 */
export function resizeStage(
  claim: V1PersistentVolumeClaim,
  pvs: ReadonlyMap<string, V1PersistentVolume>,
  storageClass: string,
): ResizeStage | undefined {
  const volumeName = claim.spec?.volumeName ?? '';
  const pv = pvs.get(volumeName);
  if (claim.status?.phase !== 'Bound' || pv === undefined || claim.metadata?.deletionTimestamp !== undefined)
    return undefined;
  if ((pv.spec?.storageClassName ?? '') !== storageClass) return undefined;
  const requested = claim.spec?.resources?.requests?.['storage'];
  const held = pv.spec?.capacity?.['storage'];
  if (requested !== undefined && less(held, requested)) return { kind: 'controller', pv: volumeName, size: requested };
  if (held !== undefined && less(claim.status.capacity?.['storage'], held)) return { kind: 'node', size: held };
  return undefined;
}

/** The claim's status after the controller stage to `size` at `now`. */
export function pendingNodeResize(
  status: V1PersistentVolumeClaim['status'],
  size: string,
  now: Date,
): NonNullable<V1PersistentVolumeClaim['status']> {
  const others = (status?.conditions ?? []).filter((c) => !RESIZE_CONDITIONS.has(c.type));
  return {
    ...status,
    conditions: [
      ...others,
      {
        type: 'FileSystemResizePending',
        status: 'True',
        lastTransitionTime: now,
        message: 'Waiting for user to (re-)start a pod to finish file system resize of volume on node.',
      },
    ],
    allocatedResources: { ...status?.allocatedResources, storage: size },
    allocatedResourceStatuses: { ...status?.allocatedResourceStatuses, storage: 'NodeResizePending' },
  };
}

/** The claim's status after the node stage to `size`. */
export function resized(
  status: V1PersistentVolumeClaim['status'],
  size: string,
): NonNullable<V1PersistentVolumeClaim['status']> {
  const rest = Object.fromEntries(
    Object.entries(status?.allocatedResourceStatuses ?? {}).filter(([k]) => k !== 'storage'),
  );
  const conditions = (status?.conditions ?? []).filter((c) => !RESIZE_CONDITIONS.has(c.type));
  const { allocatedResourceStatuses: _drop, conditions: _old, ...kept } = status ?? {};
  return {
    ...kept,
    ...(conditions.length > 0 ? { conditions } : {}),
    ...(Object.keys(rest).length > 0 ? { allocatedResourceStatuses: rest } : {}),
    capacity: { ...status?.capacity, storage: size },
  };
}
