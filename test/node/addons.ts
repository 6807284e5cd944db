/**
 * The two cluster services a cloud (or kind) provides and the local test node does not:
 *
 * - LoadBalancer addresses: every Service of type LoadBalancer gets the next free address of
 *   a test range in `status.loadBalancer.ingress`. kube-proxy (iptables mode) then DNATs
 *   traffic to that address to the Service's endpoints, for pods and for processes in the
 *   node's network namespace alike. Unlike a cloud provider (or cloud-provider-kind) nothing
 *   outside the node's network namespace can reach the address, there is no load balancer
 *   process or health checking (kube-proxy is the data path), `externalTrafficPolicy: Local`
 *   and `loadBalancerSourceRanges` are whatever kube-proxy makes of them on one node, and an
 *   address is only reused after its Service is gone.
 * - Volumes: a PersistentVolumeClaim of the default StorageClass gets a hostPath
 *   PersistentVolume in the node's work directory, pre-bound to it (kind's
 *   local-path-provisioner does the same with a helper pod); released volumes are kept
 *   (reclaim policy Retain) until the node's directory is removed. Directories are world-writable
 *   because the kubelet applies no fsGroup to hostPath volumes.
 * - Volume expansion: the StorageClass allows it, and a claim asking for more than its volume
 *   holds is grown in the two stages an external-resizer and a CSI node plugin go through
 *   (resizer.ts, which says where it differs from a cloud driver).
 *
 * All are level-triggered loops over a list (a pass every `periodMs`), stopped by
 * {@link Addons.stop}. The assignment rules are pure functions, tested on their own.
 */
import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CoreV1Api,
  StorageV1Api,
  type KubeConfig,
  type V1PersistentVolume,
  type V1PersistentVolumeClaim,
  type V1Service,
} from '@kubernetes/client-node';
import { pendingNodeResize, resized, resizeStage } from './resizer.js';

/** The StorageClass the provisioner serves (made the default). */
export const storageClassName = 'standard';
const provisioner = 'commitlog.dev/test-hostpath';

/** The IPv4 addresses of `cidr`, network and broadcast addresses excluded. */
export function addressesOf(cidr: string): string[] {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(cidr);
  if (m === null) throw new Error(`not an IPv4 CIDR: ${cidr}`);
  const bits = Number(m[5]);
  if (bits < 16 || bits > 30) throw new Error(`LoadBalancer range ${cidr}: prefix must be /16…/30`);
  const base =
    (((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0) &
    ~((1 << (32 - bits)) - 1);
  const out: string[] = [];
  for (let i = 1; i < 2 ** (32 - bits) - 1; i++) {
    const a = (base + i) >>> 0;
    out.push(`${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`);
  }
  return out;
}

/**
 * Which LoadBalancer Services get which address: those without an ingress address, in
 * creation order, get the lowest addresses of the range that no Service holds.
 */
export function assignAddresses(services: readonly V1Service[], range: readonly string[]): Map<V1Service, string> {
  const lbs = services.filter((s) => s.spec?.type === 'LoadBalancer');
  const taken = new Set(lbs.flatMap((s) => (s.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? '')));
  const free = range.filter((a) => !taken.has(a));
  const waiting = lbs
    .filter((s) => (s.status?.loadBalancer?.ingress ?? []).length === 0)
    .sort((a, b) =>
      String(a.metadata?.creationTimestamp?.toISOString?.() ?? '').localeCompare(
        String(b.metadata?.creationTimestamp?.toISOString?.() ?? ''),
      ),
    );
  const out = new Map<V1Service, string>();
  for (const s of waiting) {
    const a = free.shift();
    if (a === undefined) break;
    out.set(s, a);
  }
  return out;
}

/** Claims the provisioner must serve: pending, of its class (or of none: the default), no volume yet. */
export function claimsToProvision(claims: readonly V1PersistentVolumeClaim[]): V1PersistentVolumeClaim[] {
  return claims.filter(
    (c) =>
      c.status?.phase === 'Pending' &&
      (c.spec?.volumeName ?? '') === '' &&
      (c.spec?.storageClassName ?? storageClassName) === storageClassName &&
      c.metadata?.deletionTimestamp === undefined,
  );
}

/** The addons' loops; see the module comment. */
export class Addons {
  #stopped = false;
  readonly #done: Promise<void>;
  /** The last error of a pass (a pass that fails is retried on the next one). */
  lastError: string | null = null;

  private constructor(
    private readonly kc: KubeConfig,
    private readonly range: readonly string[],
    private readonly volumeDir: string,
    periodMs: number,
  ) {
    this.#done = this.#loop(periodMs);
  }

  /** Installs the default StorageClass (expandable) and starts the loops. */
  static async start(
    kc: KubeConfig,
    opts: { readonly loadBalancerCidr: string; readonly volumeDir: string; readonly periodMs?: number },
  ): Promise<Addons> {
    await kc.makeApiClient(StorageV1Api).createStorageClass({
      body: {
        metadata: { name: storageClassName, annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
        provisioner,
        reclaimPolicy: 'Retain',
        volumeBindingMode: 'Immediate',
        allowVolumeExpansion: true,
      },
    });
    mkdirSync(opts.volumeDir, { recursive: true });
    return new Addons(kc, addressesOf(opts.loadBalancerCidr), opts.volumeDir, opts.periodMs ?? 500);
  }

  async #loop(periodMs: number): Promise<void> {
    const core = this.kc.makeApiClient(CoreV1Api);
    while (!this.#stopped) {
      try {
        await this.#assign(core);
        await this.#provision(core);
        await this.#resize(core);
        this.lastError = null;
      } catch (e) {
        this.lastError = (e as Error).message;
      }
      await sleep(periodMs);
    }
  }

  async #assign(core: CoreV1Api): Promise<void> {
    const list = await core.listServiceForAllNamespaces();
    for (const [svc, ip] of assignAddresses(list.items, this.range)) {
      const name = svc.metadata?.name ?? '';
      const namespace = svc.metadata?.namespace ?? '';
      // Replace with the resourceVersion just read: a conflict is retried on the next pass.
      await core.replaceNamespacedServiceStatus({
        name,
        namespace,
        body: { ...svc, status: { ...svc.status, loadBalancer: { ingress: [{ ip, ipMode: 'VIP' }] } } },
      });
    }
  }

  async #provision(core: CoreV1Api): Promise<void> {
    const claims = await core.listPersistentVolumeClaimForAllNamespaces();
    for (const c of claimsToProvision(claims.items)) {
      const uid = c.metadata?.uid ?? '';
      const path = join(this.volumeDir, `${c.metadata?.namespace ?? ''}-${c.metadata?.name ?? ''}-${uid.slice(0, 8)}`);
      mkdirSync(path, { recursive: true });
      chmodSync(path, 0o777);
      try {
        await core.createPersistentVolume({
          body: {
            metadata: { name: `pv-${uid}`, annotations: { 'pv.kubernetes.io/provisioned-by': provisioner } },
            spec: {
              capacity: { storage: c.spec?.resources?.requests?.storage ?? '1Gi' },
              accessModes: c.spec?.accessModes ?? ['ReadWriteOnce'],
              persistentVolumeReclaimPolicy: 'Retain',
              storageClassName,
              hostPath: { path, type: 'Directory' },
              claimRef: {
                kind: 'PersistentVolumeClaim',
                namespace: c.metadata?.namespace,
                name: c.metadata?.name,
                uid,
              },
            },
          },
        });
      } catch (e) {
        if ((e as { code?: number }).code !== 409) throw e; // created on an earlier pass
      }
    }
  }

  /** One stage of each growing claim's expansion (resizer.ts); a conflict is retried on the next pass. */
  async #resize(core: CoreV1Api): Promise<void> {
    const claims = await core.listPersistentVolumeClaimForAllNamespaces();
    const pvs = new Map<string, V1PersistentVolume>(
      (await core.listPersistentVolume()).items.map((v) => [v.metadata?.name ?? '', v]),
    );
    for (const c of claims.items) {
      const stage = resizeStage(c, pvs, storageClassName);
      if (stage === undefined) continue;
      const name = c.metadata?.name ?? '';
      const namespace = c.metadata?.namespace ?? '';
      if (stage.kind === 'controller') {
        const pv = pvs.get(stage.pv);
        await core.replacePersistentVolume({
          name: stage.pv,
          body: { ...pv, spec: { ...pv?.spec, capacity: { ...pv?.spec?.capacity, storage: stage.size } } },
        });
        await core.replaceNamespacedPersistentVolumeClaimStatus({
          name,
          namespace,
          body: { ...c, status: pendingNodeResize(c.status, stage.size, new Date()) },
        });
      } else {
        await core.replaceNamespacedPersistentVolumeClaimStatus({
          name,
          namespace,
          body: { ...c, status: resized(c.status, stage.size) },
        });
      }
    }
  }

  /** Stops the loops (waits for the pass in progress). */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#done;
  }
}
