/**
 * CA rotation in phases on a real API server (issue 14, item 6): a forced or an expiring CA
 * is replaced through TrustBoth → ReissueLeaves → DropOld, each phase entered only when every
 * pod runs the previous phase's pod template and is Ready; the trust bundle (`ca.crt` of every
 * Secret) holds both CAs in between; the phase survives a restart of the reconciler.
 *
 * No kubelet here: the StatefulSet controller (controller-manager) recreates each pod the
 * rolling update deletes, on the StatefulSet's new revision, and the test marks pods Ready
 * through the status subresource as a kubelet would.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { useControlPlane, useNamespace, type ControlPlane } from '../../test/support/control-plane.js';
import { ANNOTATIONS, type CommitLogCluster } from './api/types.js';
import { fingerprint } from './certs/check.js';
import { createCa } from './certs/pki.js';
import { HttpKubeClient, type KubeObj } from './kube/client.js';
import { KubeConfigTransport } from './kube/http.js';
import { silentLogger } from './kube/logger.js';
import { createMetrics } from './kube/metrics.js';
import { objectPath, RESOURCES } from './kube/resources.js';
import { until } from './kube/testing/wait.js';
import { CA_STORE_ANNOTATIONS } from './model/secrets.js';
import { Operator } from './operator.js';
import { Reconciler } from './reconcile/reconciler.js';

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
const decode = (s: string | undefined): string => Buffer.from(s ?? '', 'base64').toString('utf8');

/** One observation after a pass: the phase recorded, what each Secret trusts, who issued the leaves. */
interface Seen {
  readonly phase: string;
  readonly trust: Record<string, string[]>;
  readonly leafIssuers: string[];
  /** Before the pass: the pod template's `commitlog.dev/ca`, and whether every pod ran it and was Ready. */
  readonly before: { readonly template: string; readonly rolled: boolean };
  /** After the pass: the pod template's `commitlog.dev/ca`. */
  readonly template: string;
}

describe('CA rotation in phases on a real API server', function () {
  this.timeout(240_000);
  let cp: ControlPlane;
  let transport: KubeConfigTransport;
  let client: HttpKubeClient;
  const ns = useNamespace();

  before(async () => {
    cp = await useControlPlane();
    transport = new KubeConfigTransport(cp.kubeConfig);
    client = new HttpKubeClient(transport);
  });

  const events: string[] = [];
  beforeEach(() => events.splice(0));
  const reconciler = (now?: () => Date): Reconciler =>
    new Reconciler({
      client,
      log: silentLogger,
      events: {
        record: (_o, type, reason) => {
          events.push(`${type} ${reason}`);
          return Promise.resolve();
        },
      },
      ...(now ? { now } : {}),
    });

  const create = (replicas: number) =>
    client.create(RESOURCES.cluster, {
      apiVersion: 'commitlog.dev/v1alpha1',
      kind: 'CommitLogCluster',
      metadata: { name: 'demo', namespace: ns.name },
      spec: { replicas, external: { type: 'None' } },
    } satisfies CommitLogCluster);
  const cluster = async () => (await client.get<CommitLogCluster>(RESOURCES.cluster, ns.name, 'demo'))!;
  const secret = async (name: string) => (await client.get<SecretData>(RESOURCES.secret, ns.name, name))!;

  /** Waits (bounded) until the StatefulSet controller runs every pod, then marks the pods Ready. */
  const kubelet = async (): Promise<void> => {
    const sts = await client.get<Sts>(RESOURCES.statefulSet, ns.name, 'demo');
    const want = sts?.spec?.replicas ?? 0;
    const pods = async () =>
      (await client.list<Pod>(RESOURCES.pod, ns.name)).items.filter((p) => !p.metadata?.deletionTimestamp);
    await until(
      async () => (await pods()).length === want,
      `the StatefulSet controller to run ${want} pods`,
      30_000,
      100,
    );
    for (const p of await pods()) {
      if (p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) continue;
      await transport.request('PATCH', `${objectPath(RESOURCES.pod, ns.name, p.metadata?.name ?? '')}/status`, {
        body: { status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } },
        contentType: 'application/merge-patch+json',
      });
    }
  };

  /** The pod template's CA annotation, and whether every pod runs that template and is Ready. */
  const podsNow = async (): Promise<{ template: string; rolled: boolean }> => {
    const sts = await client.get<Sts>(RESOURCES.statefulSet, ns.name, 'demo');
    const pods = (await client.list<Pod>(RESOURCES.pod, ns.name)).items;
    const rev = sts?.status?.updateRevision;
    return {
      template: sts?.spec?.template?.metadata?.annotations?.['commitlog.dev/ca'] ?? '',
      rolled:
        sts?.status?.observedGeneration === sts?.metadata?.generation &&
        pods.length === sts?.spec?.replicas &&
        pods.every(
          (p) =>
            p.metadata?.labels?.['controller-revision-hash'] === rev &&
            p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
        ),
    };
  };

  /** What the Secrets hold now, CAs named by fingerprint. */
  const seen = async (before: { template: string; rolled: boolean }): Promise<Seen> => {
    const ca = await secret('demo-ca');
    const trust: Record<string, string[]> = {};
    for (const name of ['demo-server-tls', 'demo-operator-tls', 'demo-user-root']) {
      trust[name] = (decode((await secret(name)).data?.['ca.crt']).match(PEM) ?? []).map(fingerprint);
    }
    const server = await secret('demo-server-tls');
    const leaves = [
      ...Object.entries(server.data ?? {})
        .filter(([k]) => k.endsWith('.crt') && k !== 'ca.crt')
        .map(([, v]) => decode(v)),
      decode((await secret('demo-operator-tls')).data?.['tls.crt']),
      decode((await secret('demo-user-root')).data?.['tls.crt']),
    ];
    const cas = [decode(ca.data?.['tls.crt']), decode(ca.data?.['next.crt'])].filter((p) => p !== '');
    const issuerOf = (leaf: string) =>
      cas.map((p) => new X509Certificate(p)).find((c) => new X509Certificate(leaf).checkIssued(c))?.fingerprint256 ??
      'unknown';
    return {
      phase: ca.metadata?.annotations?.[CA_STORE_ANNOTATIONS.phase] ?? 'Idle',
      trust,
      leafIssuers: [...new Set(leaves.map((l) => issuerOf(l).replaceAll(':', '').toLowerCase()))],
      before,
      template: (await podsNow()).template,
    };
  };

  /**
   * Runs passes (each followed by the "kubelet") until `done` holds after one, at most `max`;
   * returns what was seen after each pass.
   */
  const passes = async (r: Reconciler, done: (s: Seen) => boolean, max = 40): Promise<Seen[]> => {
    const out: Seen[] = [];
    for (let i = 0; i < max; i++) {
      const before = await podsNow();
      await r.reconcile(ns.name, 'demo');
      out.push(await seen(before));
      if (done(out.at(-1)!)) return out;
      await kubelet();
    }
    assert.fail(`not done within ${max} passes; phases seen: ${out.map((s) => s.phase).join(' ')}`);
  };
  /** A new cluster to rest: id recorded, children applied, pods Ready, status written. */
  const warmUp = async (r: Reconciler): Promise<void> => {
    await r.reconcile(ns.name, 'demo');
    await r.reconcile(ns.name, 'demo');
    await kubelet();
    await r.reconcile(ns.name, 'demo');
  };
  const phases = (ss: readonly Seen[]): string[] => ss.map((s) => s.phase).filter((p, i, a) => p !== a[i - 1]);
  /**
   * Each phase change happened in a pass that started with every pod Ready on the pod
   * template the previous phase introduced (observed state, not time, drives the rotation).
   */
  const assertDrivenByPods = (ss: readonly Seen[]): void => {
    let introduced = ss[0]?.template ?? '';
    for (let i = 1; i < ss.length; i++) {
      const [a, b] = [ss[i - 1]!, ss[i]!];
      if (a.phase === b.phase) continue;
      assert.ok(b.before.rolled, `${a.phase} → ${b.phase} only once every pod runs the new template and is Ready`);
      assert.equal(b.before.template, introduced, `${a.phase} → ${b.phase}: pods ran the template of ${a.phase}`);
      introduced = b.template;
    }
  };

  it('the renew annotation rotates the CA through TrustBoth, ReissueLeaves and DropOld, both CAs trusted in between', async () => {
    await create(3);
    const r = reconciler();
    await warmUp(r);
    const old = (await cluster()).status?.ca?.current ?? '';
    assert.deepEqual(
      (await seen(await podsNow())).trust['demo-server-tls'],
      [old],
      'one CA trusted before the rotation',
    );

    await transport.request('PATCH', objectPath(RESOURCES.cluster, ns.name, 'demo'), {
      body: { metadata: { annotations: { [ANNOTATIONS.renewCa]: '1' } } },
      contentType: 'application/merge-patch+json',
    });
    const rotation = await passes(r, (s) => s.phase === 'Idle');
    const next = (await cluster()).status?.ca?.current ?? '';
    assert.notEqual(next, old, 'a new CA');
    assert.deepEqual(phases(rotation), ['TrustBoth', 'ReissueLeaves', 'DropOld', 'Idle']);
    assertDrivenByPods(rotation);
    assert.deepEqual(
      [...new Set(rotation.map((s) => s.template))].length,
      3,
      'three pod templates: TrustBoth, ReissueLeaves, DropOld (= Idle on the new CA)',
    );
    for (const s of rotation) {
      const bundles = Object.values(s.trust);
      const want =
        s.phase === 'TrustBoth' || s.phase === 'ReissueLeaves' ? [old, next] : s.phase === 'DropOld' ? [next] : [next];
      for (const b of bundles) assert.deepEqual(b, want, `${s.phase}: every ca.crt holds ${want.length} CA(s)`);
      assert.deepEqual(s.leafIssuers, s.phase === 'TrustBoth' ? [old] : [next], `${s.phase}: who issued the leaves`);
    }
    // Every phase but the last rolled the three pods before the next one began.
    for (const p of ['TrustBoth', 'ReissueLeaves', 'DropOld'])
      assert.ok(rotation.filter((s) => s.phase === p).length >= 3, `${p} lasted a rolling restart of 3 pods`);
    assert.deepEqual(
      events.filter((e) => e.includes('CaRotation')),
      ['Normal CaRotationStarted', 'Normal CaRotationPhase', 'Normal CaRotationPhase', 'Normal CaRotationCompleted'],
    );
    const done = await cluster();
    assert.equal(done.status?.ca?.rotationPhase, 'Idle');
    assert.equal(done.status?.ca?.next, undefined);
    assert.equal(
      done.status?.conditions?.some((c) => c.type === 'CaRotating'),
      false,
      'no CaRotating condition once done',
    );
    assert.equal((await secret('demo-ca')).data?.['next.crt'], undefined, 'the old CA is gone from the CA Secret');

    // The annotation may stay: its value was acted on, nothing rotates again.
    for (let i = 0; i < 4; i++) {
      await r.reconcile(ns.name, 'demo');
      await kubelet();
    }
    assert.equal((await cluster()).status?.ca?.current, next, 'the same CA after more passes');
    assert.equal((await seen(await podsNow())).phase, 'Idle');
  });

  it('a user-supplied CA Secret is watched: replacing it re-issues the certificates without waiting for a resync', async () => {
    const put = async (ca: { certPem: string; keyPem: string }, verb: 'create' | 'replace') => {
      const body = {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'my-ca', namespace: ns.name },
        type: 'kubernetes.io/tls',
        data: {
          'tls.crt': Buffer.from(ca.certPem).toString('base64'),
          'tls.key': Buffer.from(ca.keyPem).toString('base64'),
        },
      };
      if (verb === 'create') await client.create(RESOURCES.secret, body);
      else
        await transport.request('PUT', objectPath(RESOURCES.secret, ns.name, 'my-ca'), {
          body,
          contentType: 'application/json',
        });
    };
    const issuedBy = async (ca: { certPem: string }) => {
      const leaf = decode(
        (await client.get<SecretData>(RESOURCES.secret, ns.name, 'demo-user-root'))?.data?.['tls.crt'],
      );
      return leaf !== '' && new X509Certificate(leaf).checkIssued(new X509Certificate(ca.certPem));
    };
    const ca1 = await createCa('user CA 1', new Date(), 3650);
    const ca2 = await createCa('user CA 2', new Date(), 3650);
    await put(ca1, 'create');
    await client.create(RESOURCES.cluster, {
      apiVersion: 'commitlog.dev/v1alpha1',
      kind: 'CommitLogCluster',
      metadata: { name: 'demo', namespace: ns.name },
      spec: { replicas: 1, external: { type: 'None' }, tls: { caSecretName: 'my-ca' } },
    } satisfies CommitLogCluster);
    // Resync far beyond the test: only a watch event can bring the change in.
    const metrics = createMetrics();
    const passCount = async () => (await metrics.reconciles.get()).values.reduce((a, v) => a + v.value, 0);
    const op = new Operator({
      client,
      log: silentLogger,
      metrics,
      namespaces: [ns.name],
      identity: 'ca-watch-test',
      resyncMs: 3_600_000,
    });
    op.start();
    try {
      await until(() => issuedBy(ca1), 'the user certificate issued by the first CA', 30_000, 100);
      await until(() => op.synced, 'the informers to list', 30_000, 100);
      // At rest (every member Ready), the operator stops polling: it must be woken. (Pods are
      // marked Ready again as they come: the first Ready pod forbids bootstrap in the node
      // config, and the rolling update restarts it onto that.)
      await until(
        async () => {
          await kubelet();
          return (await cluster()).status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
        },
        'the cluster to be Ready',
        30_000,
        100,
      );
      // Only to make the check below fail without the Secret watch (a pass already queued
      // would pick the change up too): let the passes woken by the last writes finish.
      let last = -1;
      await until(
        async () => {
          const n = await passCount();
          const quiet = n === last;
          last = n;
          return quiet;
        },
        'the operator to finish the passes its own writes woke',
        30_000,
        1_000,
      );
      await put(ca2, 'replace');
      await until(() => issuedBy(ca2), 'the user certificate re-issued by the replaced CA', 30_000, 100);
    } finally {
      await op.stop();
    }
  });

  it('an expiring CA starts a rotation, and the phase survives a restart of the reconciler', async () => {
    await create(1);
    await warmUp(reconciler());
    const old = (await cluster()).status?.ca;
    assert.equal(old?.rotationPhase, 'Idle');
    // The clock moves to 5 days before the CA's notAfter (renewBeforeDays is 30).
    const later = new Date(Date.parse(old?.expiry ?? '') - 5 * 86_400_000);
    const r2 = reconciler(() => later);
    const first = await passes(r2, (s) => s.phase === 'ReissueLeaves');
    assert.deepEqual(phases(first), ['TrustBoth', 'ReissueLeaves']);
    assertDrivenByPods(first);
    const mid = (await cluster()).status;
    assert.equal(mid?.ca?.rotationPhase, 'ReissueLeaves');
    assert.equal(mid?.conditions?.find((c) => c.type === 'CaRotating')?.reason, 'ReissueLeaves');
    const next = mid?.ca?.next;
    assert.ok(next !== undefined && next !== old?.current);

    await kubelet();
    const r3 = reconciler(() => later); // a new operator process: nothing in memory
    const rest = await passes(r3, (s) => s.phase === 'Idle');
    assert.deepEqual(phases(rest), [
      ...(rest[0]?.phase === 'ReissueLeaves' ? ['ReissueLeaves'] : []),
      'DropOld',
      'Idle',
    ]);
    assertDrivenByPods([first.at(-1)!, ...rest]);
    assert.equal((await cluster()).status?.ca?.current, next, 'the restarted reconciler finished the same rotation');
  });
});
