/**
 * The first pass of a cluster: record its id before any node config may allow bootstrap.
 * Retained PersistentVolumeClaims of a deleted cluster of the same name carry that cluster's
 * id (identity.ts): it is adopted, with its `bootstrapped` flag, so the nodes resume their
 * data; claims of different clusters are refused with a condition and nothing is recorded.
 * Otherwise a new id and `bootstrapped: false`.
 */
import { Phase } from '../api/types.js';
import type { ProcessResult } from '../kube/queue.js';
import { RESOURCES } from '../kube/resources.js';
import { namesOf, selectorString } from '../model/names.js';
import { identityForNewCluster } from './identity.js';
import { volumeIdentity } from './observe.js';
import { generationOf, nowIso, writeStatus, type Pass } from './pass.js';
import { blockedStatus } from './status.js';

/** Records the cluster id of a cluster whose status has none; requeues at once. */
export async function recordIdentity(p: Pass, newClusterId: () => string): Promise<ProcessResult> {
  const { name, namespace } = p.c.metadata;
  const claims = await p.client.list(RESOURCES.pvc, namespace, selectorString(name));
  const identity = identityForNewCluster(
    claims.items
      .filter((v) => !v.metadata?.deletionTimestamp)
      .map((v) => ({ name: v.metadata?.name ?? '', ...volumeIdentity(v) })),
  );
  if (identity.kind === 'conflict') {
    if (
      await writeStatus(p, blockedStatus(p.c.status, 'ClusterIdConflict', identity.message, generationOf(p), nowIso(p)))
    )
      await p.event('Warning', 'ClusterIdConflict', 'Bootstrap', identity.message);
    p.log.warn({ reason: identity.message }, 'retained volumes of different clusters');
    return { requeueAfterMs: 60_000 };
  }
  const clusterId = identity.kind === 'adopt' ? identity.clusterId : newClusterId();
  const bootstrapped = identity.kind === 'adopt' && identity.bootstrapped;
  await writeStatus(p, {
    ...(p.c.status ?? {}),
    observedGeneration: generationOf(p),
    phase: bootstrapped ? Phase.Pending : Phase.Bootstrapping,
    clusterId,
    bootstrapped,
    selector: selectorString(name),
    replicas: 0,
    readyReplicas: 0,
  });
  const mayBootstrap = bootstrapped ? '' : `; node ${namesOf(name).pod(0)} may bootstrap once`;
  if (identity.kind === 'adopt')
    await p.event(
      'Normal',
      'ClusterIdAdopted',
      'Bootstrap',
      `re-created over retained PersistentVolumeClaims (${identity.volumes.join(', ')}): resuming cluster ${clusterId}${mayBootstrap}`,
    );
  else await p.event('Normal', 'ClusterIdRecorded', 'Bootstrap', `cluster id ${clusterId} recorded${mayBootstrap}`);
  p.log.info({ clusterId, adopted: identity.kind === 'adopt' }, 'recorded cluster id');
  return { requeueAfterMs: 1 };
}
