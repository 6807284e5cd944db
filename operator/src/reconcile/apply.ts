/**
 * The writing steps of a pass: server-side apply of the desired children (only those whose
 * desired form changed since the last apply or whose live form drifted, applied.ts), pruning
 * of children the desired set no longer has, and the per-claim apply of volume size and
 * identity. Each records what it changed in `pass.changed`.
 */
import type { ResolvedSpec } from '../api/defaults.js';
import { gossipKey as newGossipKey } from '../certs/pki.js';
import type { KubeObj } from '../kube/client.js';
import { isNotFound } from '../kube/errors.js';
import { resourceOf, RESOURCES } from '../kube/resources.js';
import type { KubeObject } from '../model/index.js';
import { LABELS, namesOf } from '../model/names.js';
import { applyReason, stamped } from './applied.js';
import { differences } from './compare.js';
import { VOLUME_ANNOTATIONS, volumesToStamp } from './identity.js';
import type { Pass } from './pass.js';
import type { ObservedVolume } from './storage.js';

interface SecretObj extends KubeObj {
  readonly data?: Readonly<Record<string, string>>;
}

/**
 * Applies (server-side) each object whose desired form changed since the operator last
 * applied it, or whose live form drifted from it (see applied.ts); skips the rest.
 */
export async function applyAll(p: Pass, objs: readonly KubeObject[]): Promise<void> {
  for (const o of objs) {
    const res = resourceOf(o.apiVersion, o.kind);
    if (!res) throw new Error(`model produced an object of unknown kind ${o.apiVersion ?? '?'}/${o.kind ?? '?'}`);
    const live = await p.client.get(res, o.metadata?.namespace, o.metadata?.name ?? '');
    const reason = applyReason(live, o);
    if (reason === undefined) continue;
    const diff = reason === 'drifted' && live ? differences(live, o) : [reason];
    p.log.debug({ kind: o.kind, name: o.metadata?.name, reason, diff: diff.slice(0, 10) }, 'apply');
    await p.client.apply(res, stamped(o) as KubeObj);
    p.changed.push(`${live ? 'updated' : 'created'} ${o.kind ?? ''} ${o.metadata?.name ?? ''}`);
  }
}

/** Deletes the external Services (of removed pods, or all when access is off) not in `desired`. */
export async function pruneServices(
  p: Pass,
  existing: readonly string[],
  desired: readonly KubeObject[],
): Promise<void> {
  const keep = new Set(desired.map((s) => s.metadata?.name));
  for (const svc of existing) {
    if (!keep.has(svc)) {
      await p.client.delete(RESOURCES.service, p.c.metadata.namespace, svc);
      p.changed.push(`deleted Service ${svc}`);
    }
  }
}

/** Deletes client certificate Secrets of users no longer in the ACL. */
export async function pruneUserSecrets(p: Pass, spec: ResolvedSpec): Promise<void> {
  const n = p.c.metadata.name;
  const list = await p.client.list<SecretObj>(
    RESOURCES.secret,
    p.c.metadata.namespace,
    `${LABELS.name}=commitlog,${LABELS.instance}=${n},${LABELS.component}=client-tls`,
  );
  const keep = new Set(spec.tls.enabled ? spec.acl.users.map((u) => namesOf(n).userSecret(u.name)) : []);
  for (const s of list.items) {
    const sName = s.metadata?.name ?? '';
    if (!keep.has(sName)) {
      await p.client.delete(RESOURCES.secret, p.c.metadata.namespace, sName);
      p.changed.push(`deleted Secret ${sName}`);
    }
  }
}

/** Deletes the CA Secrets a pass found it no longer needs (`CaDecision.orphans`). */
export async function pruneCaSecrets(p: Pass, orphans: readonly string[]): Promise<void> {
  for (const name of orphans) {
    await p.client.delete(RESOURCES.secret, p.c.metadata.namespace, name);
    p.changed.push(`deleted Secret ${name}`);
  }
}

/** The cluster's gossip key: the one in its Secret, or a new one. */
export async function gossipKey(p: Pass): Promise<string> {
  const s = await p.client.get<SecretObj>(
    RESOURCES.secret,
    p.c.metadata.namespace,
    namesOf(p.c.metadata.name).gossipSecret,
  );
  const k = s?.data?.key;
  return k ? Buffer.from(k, 'base64').toString('utf8') : newGossipKey();
}

/**
 * Raises the storage request of each claim in `expand` to `size` (server-side apply of that
 * one field, as the StatefulSet template cannot change), and records the cluster id (and
 * `bootstrapped`) on each claim that lacks it (identity.ts) with a merge patch: unlike an
 * apply, a patch never creates a claim that was deleted since the pass observed it.
 */
export async function applyVolumes(
  p: Pass,
  volumes: readonly ObservedVolume[],
  expand: readonly string[],
  size: string,
  identity: { readonly clusterId: string; readonly bootstrapped: boolean },
): Promise<void> {
  const ns = p.c.metadata.namespace;
  for (const name of expand) {
    await p.client.apply(RESOURCES.pvc, {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name, namespace: ns },
      spec: { resources: { requests: { storage: size } } },
    } as KubeObj);
    p.changed.push(`expanded PersistentVolumeClaim ${name} to ${size}`);
  }
  for (const name of volumesToStamp(volumes, identity.clusterId, identity.bootstrapped)) {
    const annotations = {
      [VOLUME_ANNOTATIONS.clusterId]: identity.clusterId,
      ...(identity.bootstrapped ? { [VOLUME_ANNOTATIONS.bootstrapped]: 'true' } : {}),
    };
    try {
      await p.client.mergePatch(RESOURCES.pvc, ns, name, { metadata: { annotations } });
      p.changed.push(`recorded cluster id on PersistentVolumeClaim ${name}`);
    } catch (e) {
      if (!isNotFound(e)) throw e; // deleted meanwhile (scale-down with whenScaled: Delete)
    }
  }
}
