/**
 * Reading the world for one pass: the StatefulSet, the pods, the external Services and the
 * addresses they were given. Plain reads; nothing here writes.
 */
import type { CommitLogCluster } from '../api/types.js';
import type { KubeClient, KubeObj } from '../kube/client.js';
import { RESOURCES } from '../kube/resources.js';
import { LABELS, namesOf, selectorString } from '../model/names.js';
import type { ObservedPod } from './status.js';
import type { ObservedVolume } from './storage.js';
import { notReadyReason, type PodStatusView } from './pod-reason.js';
import { VOLUME_ANNOTATIONS } from './identity.js';
import { lastCreateFailure, type CreateFailure, type StatefulSetEventView } from './create-failure.js';

interface Pod extends KubeObj {
  readonly status?: PodStatusView & { readonly hostIP?: string };
}
interface Service extends KubeObj {
  readonly spec?: {
    readonly type?: string;
    readonly ports?: readonly { readonly name?: string; readonly port?: number; readonly nodePort?: number }[];
  };
  readonly status?: {
    readonly loadBalancer?: { readonly ingress?: readonly { readonly ip?: string; readonly hostname?: string }[] };
  };
}
interface Pvc extends KubeObj {
  readonly spec?: { readonly resources?: { readonly requests?: { readonly storage?: string } } };
  readonly status?: { readonly capacity?: { readonly storage?: string } };
}
/** The StatefulSet fields a pass reads. */
export interface StatefulSetObj extends KubeObj {
  readonly spec?: {
    readonly replicas?: number;
    readonly volumeClaimTemplates?: readonly {
      readonly spec?: { readonly resources?: { readonly requests?: { readonly storage?: string } } };
    }[];
    readonly template?: { readonly metadata?: { readonly annotations?: Readonly<Record<string, string>> } };
  };
  readonly status?: { readonly updateRevision?: string; readonly observedGeneration?: number };
}
type EventObj = StatefulSetEventView & KubeObj;

/** What a pass observed. */
export interface World {
  readonly statefulSet: StatefulSetObj | undefined;
  readonly pods: readonly ObservedPod[];
  /** Owned Services by name (for pruning). */
  readonly externalServiceNames: readonly string[];
  /** The cluster's PersistentVolumeClaims (the StatefulSet's `data` claims). */
  readonly volumes: readonly ObservedVolume[];
  /** External `host:port` by pod name, for pods whose external Service has an address. */
  readonly externalAddresses: Readonly<Record<string, string>>;
  /**
   * Why the StatefulSet controller could not create a missing pod (its newest FailedCreate
   * event); read only while a pod the StatefulSet should run does not exist.
   */
  readonly createFailure?: CreateFailure;
}

const ordinalOf = (name: string): number => Number(name.slice(name.lastIndexOf('-') + 1));

/** Reads the StatefulSet, pods and external Services of `c`. */
export async function observe(client: KubeClient, c: CommitLogCluster, rpcPort: number): Promise<World> {
  const ns = c.metadata.namespace;
  const n = c.metadata.name;
  const names = namesOf(n);
  const [sts, podList, svcList, pvcList] = await Promise.all([
    client.get<StatefulSetObj>(RESOURCES.statefulSet, ns, names.statefulSet),
    client.list<Pod>(RESOURCES.pod, ns, selectorString(n)),
    client.list<Service>(
      RESOURCES.service,
      ns,
      `${LABELS.name}=commitlog,${LABELS.instance}=${n},${LABELS.component}=external`,
    ),
    client.list<Pvc>(RESOURCES.pvc, ns, selectorString(n)),
  ]);
  const podItems = [...podList.items]
    .filter((p) => !p.metadata?.deletionTimestamp)
    .sort((a, b) => ordinalOf(a.metadata?.name ?? '') - ordinalOf(b.metadata?.name ?? ''));
  const pods: ObservedPod[] = podItems.map((p) => {
    const ready = p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
    return {
      name: p.metadata?.name ?? '',
      ready,
      ...(ready ? {} : { notReady: notReadyReason(p.status) }),
      ...(p.metadata?.labels?.['controller-revision-hash']
        ? { revision: p.metadata.labels['controller-revision-hash'] }
        : {}),
      internalAddress: `${p.metadata?.name ?? ''}.${names.headlessService}.${ns}.svc:${rpcPort}`,
    };
  });
  const hostIps = new Map(podItems.map((p) => [p.metadata?.name ?? '', p.status?.hostIP]));
  const external: Record<string, string> = {};
  for (const s of svcList.items) {
    const svcName = s.metadata?.name ?? '';
    const pod = svcName.replace(/-external$/, '');
    const port = s.spec?.ports?.find((p) => p.name === 'rpc');
    if (s.spec?.type === 'LoadBalancer') {
      const ing = s.status?.loadBalancer?.ingress?.[0];
      const host = ing?.ip ?? ing?.hostname;
      if (host && port?.port) external[pod] = `${host}:${port.port}`;
    } else if (s.spec?.type === 'NodePort') {
      const host = hostIps.get(pod);
      if (host && port?.nodePort) external[pod] = `${host}:${port.nodePort}`;
    }
  }
  const present = new Set(pods.map((p) => p.name));
  const missing = Array.from({ length: sts?.spec?.replicas ?? 0 }, (_, i) => names.pod(i)).some((p) => !present.has(p));
  const createFailure =
    sts && missing
      ? lastCreateFailure(
          (
            await client.list<EventObj>(
              RESOURCES.event,
              ns,
              undefined,
              `regarding.kind=StatefulSet,regarding.name=${names.statefulSet},reason=FailedCreate`,
            )
          ).items,
          sts.metadata?.uid,
        )
      : undefined;
  return {
    ...(createFailure ? { createFailure } : {}),
    statefulSet: sts,
    pods,
    externalServiceNames: svcList.items.map((s) => s.metadata?.name ?? ''),
    volumes: pvcList.items
      .filter((p) => !p.metadata?.deletionTimestamp)
      .map((p) => ({
        name: p.metadata?.name ?? '',
        ...(p.spec?.resources?.requests?.storage !== undefined ? { requested: p.spec.resources.requests.storage } : {}),
        ...(p.status?.capacity?.storage !== undefined ? { capacity: p.status.capacity.storage } : {}),
        ...volumeIdentity(p),
      })),
    externalAddresses: external,
  };
}

/** The identity annotations of a claim (identity.ts). */
export function volumeIdentity(p: KubeObj): { clusterId?: string; bootstrapped?: boolean } {
  const a = p.metadata?.annotations ?? {};
  const id = a[VOLUME_ANNOTATIONS.clusterId];
  return {
    ...(id ? { clusterId: id } : {}),
    ...(a[VOLUME_ANNOTATIONS.bootstrapped] === 'true' ? { bootstrapped: true } : {}),
  };
}

/** The host part of `host:port` (IPv6 in brackets allowed). */
export function hostOf(address: string): string {
  const m = /^\[(.*)\]:\d+$/.exec(address);
  if (m?.[1]) return m[1];
  return address.slice(0, address.lastIndexOf(':'));
}
