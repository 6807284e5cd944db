/**
 * Which cluster a set of retained volumes belongs to. Every PersistentVolumeClaim of a
 * cluster carries the cluster id (annotation `commitlog.dev/cluster-id`) and, once the cluster
 * has formed, `commitlog.dev/bootstrapped: "true"`. A CommitLogCluster deleted with its
 * claims retained and applied again adopts that id and resumes the old cluster instead of
 * minting a new one (the nodes would crash-loop on ClusterIdMismatch); claims of two
 * different clusters, or of another cluster than the one in status, are a clear refusal,
 * never a crash-loop. Pure: the reconcile lists the claims, this decides.
 */

/** The PVC annotations recording the identity of the data on the volume. */
export const VOLUME_ANNOTATIONS = {
  clusterId: 'commitlog.dev/cluster-id',
  bootstrapped: 'commitlog.dev/bootstrapped',
} as const;

/** A claim as far as its identity goes. */
export interface VolumeIdentity {
  readonly name: string;
  readonly clusterId?: string;
  readonly bootstrapped?: boolean;
}

/** The identity of a cluster whose status has no cluster id yet. */
export type NewIdentity =
  | { readonly kind: 'new' }
  | { readonly kind: 'adopt'; readonly clusterId: string; readonly bootstrapped: boolean; readonly volumes: string[] }
  | { readonly kind: 'conflict'; readonly message: string };

const byId = (volumes: readonly VolumeIdentity[]): Map<string, string[]> => {
  const m = new Map<string, string[]>();
  for (const v of volumes) if (v.clusterId) m.set(v.clusterId, [...(m.get(v.clusterId) ?? []), v.name]);
  return m;
};

const describe = (ids: Map<string, string[]>): string =>
  [...ids.entries()].map(([id, names]) => `${names.sort().join(', ')}: ${id}`).join('; ');

/**
 * A first pass: no recorded claim → a new cluster; claims of one cluster → adopt its id
 * (bootstrapped if any claim says so); claims of several clusters → refuse.
 */
export function identityForNewCluster(volumes: readonly VolumeIdentity[]): NewIdentity {
  const ids = byId(volumes);
  const [first, ...rest] = [...ids.entries()];
  if (first === undefined) return { kind: 'new' };
  if (rest.length > 0)
    return {
      kind: 'conflict',
      message: `retained PersistentVolumeClaims belong to different clusters (${describe(ids)}); delete the claims of the cluster you do not want to keep`,
    };
  const [clusterId, names] = first;
  const bootstrapped = volumes.some((v) => v.clusterId === clusterId && v.bootstrapped === true);
  return { kind: 'adopt', clusterId, bootstrapped, volumes: names.sort() };
}

/** The refusal when a claim holds another cluster's data than `clusterId`, or undefined. */
export function identityMismatch(volumes: readonly VolumeIdentity[], clusterId: string): string | undefined {
  const others = byId(volumes.filter((v) => v.clusterId !== undefined && v.clusterId !== clusterId));
  if (others.size === 0) return undefined;
  return `PersistentVolumeClaims hold data of another cluster than ${clusterId} (${describe(others)}); the operator changes nothing until they are deleted or the cluster is re-created to adopt them`;
}

/** The claims whose annotations do not yet record `clusterId` (and `bootstrapped`, once true). */
export function volumesToStamp(
  volumes: readonly VolumeIdentity[],
  clusterId: string,
  bootstrapped: boolean,
): readonly string[] {
  return volumes
    .filter((v) => v.clusterId === undefined || (bootstrapped && v.bootstrapped !== true))
    .filter((v) => v.clusterId === undefined || v.clusterId === clusterId)
    .map((v) => v.name);
}
