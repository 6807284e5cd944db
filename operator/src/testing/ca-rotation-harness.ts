/**
 * A harness for CA rotation tests on a real API server (ca-rotation.test.ts,
 * user-ca-rotation.test.ts, ca-rotation-dwell.test.ts; built for them by ca-rotation.ts
 * `useCaRotation`): a stand-in kubelet that marks the pods the StatefulSet controller
 * created Ready, and an observer that, after each reconcile pass, records the phase, what every
 * `ca.crt` trusts and which CA issued the leaves, so a test asserts on the whole sequence.
 *
 * No kubelet runs in these tests: the StatefulSet controller (controller-manager) recreates
 * each pod the rolling update deletes, on the StatefulSet's new revision, and the harness marks
 * pods Ready through the status subresource as a kubelet would.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { fingerprint } from '../certs/check.js';
import type { KubeClient, KubeObj } from '../kube/client.js';
import type { KubeConfigTransport } from '../kube/http.js';
import { objectPath, RESOURCES } from '../kube/resources.js';
import { until } from '../kube/testing/wait.js';
import { CA_STORE_ANNOTATIONS } from '../model/secrets.js';
import type { Reconciler } from '../reconcile/reconciler.js';

interface SecretData extends KubeObj {
  readonly data?: Record<string, string>;
}
interface Pod extends KubeObj {
  readonly status?: { readonly conditions?: readonly { type: string; status: string }[] };
}
interface Sts extends KubeObj {
  readonly spec?: {
    readonly replicas?: number;
    readonly template?: { readonly metadata?: { readonly annotations?: Record<string, string> } };
  };
  readonly status?: { readonly updateRevision?: string; readonly observedGeneration?: number };
}

const PEM = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;
/** base64 Secret data → text ('' when absent). */
export const decode = (s: string | undefined): string => Buffer.from(s ?? '', 'base64').toString('utf8');

/** The pod template's `commitlog.dev/ca`, and whether every pod runs that template and is Ready. */
export interface PodsNow {
  readonly template: string;
  readonly rolled: boolean;
}

/** One observation after a pass: the phase recorded, what each Secret trusts, who issued the leaves. */
export interface Seen {
  readonly phase: string;
  /** Fingerprints of the CAs in `ca.crt`, by Secret name. */
  readonly trust: Record<string, string[]>;
  /** Fingerprints of the CAs that issued the leaves ('unknown' for a leaf of none of the known CAs). */
  readonly leafIssuers: string[];
  /** Before the pass: the pod template's `commitlog.dev/ca`, and whether every pod ran it and was Ready. */
  readonly before: PodsNow;
  /** After the pass: the pod template's `commitlog.dev/ca`. */
  readonly template: string;
}

/** What the harness works on. */
export interface HarnessOptions {
  readonly client: KubeClient;
  readonly transport: KubeConfigTransport;
  readonly namespace: string;
  /** The cluster's name; its Secrets are `<name>-server-tls`, `<name>-operator-tls`, `<name>-user-root`. */
  readonly name: string;
  /** The Secret whose annotation `commitlog.dev/ca-rotation-phase` records the phase. */
  readonly phaseSecret: string;
  /** Certificates (PEM) of the CAs a leaf may have been issued by. */
  readonly knownCas: () => Promise<readonly string[]>;
}

/** The harness (see the file header). */
export interface CaRotationHarness {
  /** Waits (bounded) until the StatefulSet controller runs every pod, then marks the pods Ready. */
  kubelet(): Promise<void>;
  podsNow(): Promise<PodsNow>;
  seen(before: PodsNow): Promise<Seen>;
  /** Runs passes of `r` (each followed by the kubelet) until `done` holds after one, at most `max`. */
  passes(r: Reconciler, done: (s: Seen) => boolean, max?: number): Promise<Seen[]>;
  /** A new cluster to rest: id recorded, children applied, pods Ready, status written. */
  warmUp(r: Reconciler): Promise<void>;
}

/** Creates the harness for one cluster. */
export function caRotationHarness(o: HarnessOptions): CaRotationHarness {
  const { client, transport, namespace: ns, name } = o;
  const secret = async (n: string) => (await client.get<SecretData>(RESOURCES.secret, ns, n)) ?? {};
  const pods = async () =>
    (await client.list<Pod>(RESOURCES.pod, ns)).items.filter((p) => !p.metadata?.deletionTimestamp);

  const kubelet = async (): Promise<void> => {
    // The StatefulSet is re-read at each poll: one the operator creates or resizes meanwhile
    // (a running Operator) changes how many pods there must be.
    await until(
      async () => {
        const want = (await client.get<Sts>(RESOURCES.statefulSet, ns, name))?.spec?.replicas ?? 0;
        return (await pods()).length === want;
      },
      'the StatefulSet controller to run as many pods as the StatefulSet wants',
      30_000,
      100,
    );
    for (const p of await pods()) {
      if (p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) continue;
      await transport.request('PATCH', `${objectPath(RESOURCES.pod, ns, p.metadata?.name ?? '')}/status`, {
        body: { status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } },
        contentType: 'application/merge-patch+json',
      });
    }
  };

  const podsNow = async (): Promise<PodsNow> => {
    const sts = await client.get<Sts>(RESOURCES.statefulSet, ns, name);
    const all = (await client.list<Pod>(RESOURCES.pod, ns)).items;
    const rev = sts?.status?.updateRevision;
    return {
      template: sts?.spec?.template?.metadata?.annotations?.['commitlog.dev/ca'] ?? '',
      rolled:
        sts?.status?.observedGeneration === sts?.metadata?.generation &&
        all.length === sts?.spec?.replicas &&
        all.every(
          (p) =>
            p.metadata?.labels?.['controller-revision-hash'] === rev &&
            p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
        ),
    };
  };

  const seen = async (before: PodsNow): Promise<Seen> => {
    const trust: Record<string, string[]> = {};
    for (const n of [`${name}-server-tls`, `${name}-operator-tls`, `${name}-user-root`])
      trust[n] = (decode((await secret(n)).data?.['ca.crt']).match(PEM) ?? []).map(fingerprint);
    const server = await secret(`${name}-server-tls`);
    const leaves = [
      ...Object.entries(server.data ?? {})
        .filter(([k]) => k.endsWith('.crt') && k !== 'ca.crt')
        .map(([, v]) => decode(v)),
      decode((await secret(`${name}-operator-tls`)).data?.['tls.crt']),
      decode((await secret(`${name}-user-root`)).data?.['tls.crt']),
    ];
    const cas = (await o.knownCas()).filter((p) => p !== '').map((p) => new X509Certificate(p));
    const issuerOf = (leaf: string): string => {
      const l = new X509Certificate(leaf);
      const ca = cas.find((c) => l.checkIssued(c) && l.verify(c.publicKey));
      return ca ? fingerprint(ca.toString()) : 'unknown';
    };
    return {
      phase: (await secret(o.phaseSecret)).metadata?.annotations?.[CA_STORE_ANNOTATIONS.phase] ?? 'Idle',
      trust,
      leafIssuers: [...new Set(leaves.map(issuerOf))],
      before,
      template: (await podsNow()).template,
    };
  };

  const passes = async (r: Reconciler, done: (s: Seen) => boolean, max = 40): Promise<Seen[]> => {
    const out: Seen[] = [];
    for (let i = 0; i < max; i++) {
      const before = await podsNow();
      await r.reconcile(ns, name);
      out.push(await seen(before));
      if (done(out.at(-1)!)) return out;
      await kubelet();
    }
    assert.fail(`not done within ${max} passes; phases seen: ${out.map((s) => s.phase).join(' ')}`);
  };

  const warmUp = async (r: Reconciler): Promise<void> => {
    await r.reconcile(ns, name);
    await r.reconcile(ns, name);
    await kubelet();
    await r.reconcile(ns, name);
  };

  return { kubelet, podsNow, seen, passes, warmUp };
}

/** The phases of `ss` in order, repeats collapsed. */
export const phases = (ss: readonly Seen[]): string[] => ss.map((s) => s.phase).filter((p, i, a) => p !== a[i - 1]);

/**
 * Each phase change happened in a pass that started with every pod Ready on the pod template
 * the previous phase introduced (observed state, not time, drives the rotation).
 */
export function assertDrivenByPods(ss: readonly Seen[]): void {
  let introduced = ss[0]?.template ?? '';
  for (let i = 1; i < ss.length; i++) {
    const [a, b] = [ss[i - 1]!, ss[i]!];
    if (a.phase === b.phase) continue;
    assert.ok(b.before.rolled, `${a.phase} → ${b.phase} only once every pod runs the new template and is Ready`);
    assert.equal(b.before.template, introduced, `${a.phase} → ${b.phase}: pods ran the template of ${a.phase}`);
    introduced = b.template;
  }
}
