import assert from 'node:assert/strict';
import { resolveSpec } from '../api/defaults.js';
import type { CommitLogCluster } from '../api/types.js';
import { fingerprint } from '../certs/check.js';
import { createCa } from '../certs/pki.js';
import { planFor, RotationPhase, type RotationState } from '../certs/rotation.js';
import { FakeKubeClient } from '../kube/testing/fake-client.js';
import { RESOURCES } from '../kube/resources.js';
import type { PemPair } from '../model/inputs.js';
import { caRevision, type CaDecision, type PodsSettled } from './ca-rotation.js';
import { certificatesStep } from './certificates.js';
import { decideGeneratedCa, decideUserCa } from './user-ca.js';

const NS = 'default';
const NOW = new Date('2030-01-01T00:00:00Z');
const cluster: CommitLogCluster = {
  apiVersion: 'commitlog.dev/v1alpha1',
  kind: 'CommitLogCluster',
  metadata: { name: 'demo', namespace: NS, uid: 'uid-demo' },
  spec: { replicas: 1, tls: { caSecretName: 'my-ca' } },
};
const spec = resolveSpec(cluster.spec);
const b64 = (s: string): string => Buffer.from(s).toString('base64');
/** Pods on the template of `state`'s plan, all Ready. */
const settledOn = (state: RotationState): PodsSettled => ({
  templateCaRevision: caRevision(planFor(state)),
  onTemplate: true,
  allReady: true,
  none: false,
});
/** Pods still rolling. */
const rolling: PodsSettled = { onTemplate: false, allReady: false, none: false };

describe('a user-supplied CA: the rotation decided from its Secret and the operator record', () => {
  let ca1: PemPair;
  let ca2: PemPair;
  let ca3: PemPair;
  before(async () => {
    ca1 = await createCa('user CA one', NOW, 3650);
    ca2 = await createCa('user CA two', NOW, 3650);
    ca3 = await createCa('user CA three', NOW, 3650);
  });
  const fp = (p: PemPair): string => fingerprint(p.certPem);

  /** A client holding the user's CA Secret with `user`, and the record of `record` if given. */
  const world = (
    user: PemPair,
    record?: { current: PemPair; next?: PemPair; phase?: string; since?: Date },
  ): FakeKubeClient => {
    const client = new FakeKubeClient();
    client.seed(RESOURCES.secret, {
      metadata: { name: 'my-ca', namespace: NS },
      data: { 'tls.crt': b64(user.certPem), 'tls.key': b64(user.keyPem) },
    });
    if (record)
      client.seed(RESOURCES.secret, {
        metadata: {
          name: 'demo-ca-record',
          namespace: NS,
          annotations: {
            ...(record.phase ? { 'commitlog.dev/ca-rotation-phase': record.phase } : {}),
            ...(record.since ? { 'commitlog.dev/ca-rotation-phase-since': record.since.toISOString() } : {}),
          },
        },
        data: {
          'current.crt': b64(record.current.certPem),
          ...(record.next ? { 'next.crt': b64(record.next.certPem) } : {}),
        },
      });
    return client;
  };
  const decide = async (
    client: FakeKubeClient,
    pods: PodsSettled,
    leavesBy?: PemPair,
    now: Date = NOW,
  ): Promise<CaDecision> => {
    const d = await decideUserCa({
      client,
      cluster,
      spec,
      pods,
      leavesIssuedBy: (pem) => pem === leavesBy?.certPem,
      now,
    });
    if ('error' in d) assert.fail(d.error);
    return d;
  };
  const summary = (d: CaDecision) => ({
    phase: d.plan.state.phase,
    trust: d.plan.trust,
    issuer: 'unavailable' in d.issuer ? 'none' : fingerprint(d.issuer.certPem),
    keep: d.keep.map(fingerprint),
    record: [d.record?.current, d.record?.next].map((p) => (p === undefined ? undefined : fingerprint(p))),
    recordPhase: d.record?.phase,
  });

  it('a new cluster records the user CA and issues from it, without a rotation', async () => {
    const d = await decide(world(ca1), rolling);
    assert.deepEqual(summary(d), {
      phase: 'Idle',
      trust: [fp(ca1)],
      issuer: fp(ca1),
      keep: [fp(ca1)],
      record: [fp(ca1), undefined],
      recordPhase: undefined,
    });
    assert.equal(d.trigger, undefined);
  });

  it('a CA Secret holding another CA than the recorded one starts TrustBoth: old leaves kept, a new leaf from the new CA', async () => {
    const d = await decide(world(ca2, { current: ca1 }), rolling, ca1);
    assert.deepEqual(summary(d), {
      phase: 'TrustBoth',
      trust: [fp(ca1), fp(ca2)],
      issuer: fp(ca2),
      keep: [fp(ca1), fp(ca2)],
      record: [fp(ca1), fp(ca2)],
      recordPhase: 'TrustBoth',
    });
    assert.equal(d.from, 'Idle');
    assert.equal(d.trigger, 'the CA Secret my-ca now holds another CA');
    assert.deepEqual([d.status.rotationPhase, d.status.current, d.status.next], ['TrustBoth', fp(ca1), fp(ca2)]);
  });

  it('TrustBoth advances to ReissueLeaves only once every pod runs its template and is Ready, and the dwell is over', async () => {
    const since = new Date(NOW.getTime() - spec.tls.rotationDwellMs);
    const record = { current: ca1, next: ca2, phase: 'TrustBoth', since };
    const state: RotationState = { phase: RotationPhase.TrustBoth, current: fp(ca1), next: fp(ca2) };
    assert.equal((await decide(world(ca2, record), rolling, ca1)).plan.state.phase, 'TrustBoth');
    const early = await decide(world(ca2, record), settledOn(state), ca1, new Date(NOW.getTime() - 1));
    assert.deepEqual(
      [early.plan.state.phase, early.plan.dwellLeftMs, early.record?.phaseSince, early.status.phaseSince],
      ['TrustBoth', 1, since.toISOString(), since.toISOString()],
      '1 ms before the dwell ends: the phase and its start stay as recorded',
    );
    const d = await decide(world(ca2, record), settledOn(state), ca1);
    assert.equal(d.record?.phaseSince, NOW.toISOString(), 'ReissueLeaves began now');
    assert.deepEqual(summary(d), {
      phase: 'ReissueLeaves',
      trust: [fp(ca1), fp(ca2)],
      issuer: fp(ca2),
      keep: [fp(ca2)],
      record: [fp(ca1), fp(ca2)],
      recordPhase: 'ReissueLeaves',
    });
  });

  it('another CA put in the Secret during TrustBoth redirects the rotation to it', async () => {
    const d = await decide(world(ca3, { current: ca1, next: ca2, phase: 'TrustBoth' }), rolling, ca1);
    assert.deepEqual(summary(d), {
      phase: 'TrustBoth',
      trust: [fp(ca1), fp(ca3)],
      issuer: fp(ca3),
      keep: [fp(ca1), fp(ca3)],
      record: [fp(ca1), fp(ca3)],
      recordPhase: 'TrustBoth',
    });
    assert.equal(d.from, 'TrustBoth');
    assert.match(d.trigger ?? '', /replaced again during TrustBoth/);
    // New Secrets (another trust bundle): the phase, and its dwell, start again.
    const recorded = await decide(
      world(ca3, { current: ca1, next: ca2, phase: 'TrustBoth', since: new Date(NOW.getTime() - 3_600_000) }),
      rolling,
      ca1,
    );
    assert.equal(recorded.record?.phaseSince, NOW.toISOString());
  });

  it('the old CA put back during TrustBoth cancels the rotation', async () => {
    const d = await decide(world(ca1, { current: ca1, next: ca2, phase: 'TrustBoth' }), rolling, ca1);
    assert.deepEqual(summary(d), {
      phase: 'Idle',
      trust: [fp(ca1)],
      issuer: fp(ca1),
      keep: [fp(ca1)],
      record: [fp(ca1), undefined],
      recordPhase: undefined,
    });
    assert.equal(d.from, 'TrustBoth');
    assert.match(d.trigger ?? '', /cancelled/);
  });

  it('another CA put in the Secret during ReissueLeaves: the rotation keeps its CA, and a leaf it would need cannot be issued', async () => {
    const client = world(ca3, { current: ca1, next: ca2, phase: 'ReissueLeaves' });
    const d = await decide(client, rolling, ca2);
    assert.deepEqual(summary(d), {
      phase: 'ReissueLeaves',
      trust: [fp(ca1), fp(ca2)],
      issuer: 'none',
      keep: [fp(ca2)],
      record: [fp(ca1), fp(ca2)],
      recordPhase: 'ReissueLeaves',
    });
    // No leaf exists yet: the step fails, naming the CA to put back, instead of issuing a leaf no pod trusts.
    const out = await certificatesStep(client, cluster, spec, 1, {}, NOW, rolling);
    assert.equal(out.ok, false);
    assert.match(
      out.ok ? '' : out.error,
      new RegExp(`^demo-0: .*put CA ${fp(ca2).slice(0, 16)} back in it until status.ca.rotationPhase is Idle`),
    );
  });

  it('switching from the generated CA to a user CA rotates in phases from the generated one', async () => {
    const generated = await createCa('commitlog default/demo CA', NOW, 3650);
    const client = world(ca1);
    client.seed(RESOURCES.secret, {
      metadata: { name: 'demo-ca', namespace: NS },
      data: { 'tls.crt': b64(generated.certPem), 'tls.key': b64(generated.keyPem) },
    });
    const d = await decide(client, rolling, generated);
    assert.deepEqual(summary(d), {
      phase: 'TrustBoth',
      trust: [fp(generated), fp(ca1)],
      issuer: fp(ca1),
      keep: [fp(generated), fp(ca1)],
      record: [fp(generated), fp(ca1)],
      recordPhase: 'TrustBoth',
    });
    assert.match(d.trigger ?? '', /replaces the operator's generated CA/);
  });

  it('once a user CA is Idle, the generated CA Secret left from before the switch is an orphan', async () => {
    const generated = await createCa('commitlog default/demo CA', NOW, 3650);
    const client = world(ca1, { current: ca1 });
    assert.deepEqual((await decide(client, rolling, ca1)).orphans, []);
    client.seed(RESOURCES.secret, {
      metadata: { name: 'demo-ca', namespace: NS },
      data: { 'tls.crt': b64(generated.certPem), 'tls.key': b64(generated.keyPem) },
    });
    assert.deepEqual((await decide(client, rolling, ca1)).orphans, ['demo-ca']);
    const rotating = world(ca2, { current: ca1 });
    rotating.seed(RESOURCES.secret, {
      metadata: { name: 'demo-ca', namespace: NS },
      data: { 'tls.crt': b64(generated.certPem), 'tls.key': b64(generated.keyPem) },
    });
    assert.deepEqual((await decide(rotating, rolling, ca1)).orphans, [], 'kept while a rotation runs');
  });

  describe('switching back to the generated CA (spec.tls.caSecretName removed)', () => {
    const generatedCluster: CommitLogCluster = { ...cluster, spec: { replicas: 1 } };
    const generatedSpec = resolveSpec(generatedCluster.spec);
    const back = (client: FakeKubeClient, pods: PodsSettled, leavesBy: PemPair) =>
      decideGeneratedCa({
        client,
        cluster: generatedCluster,
        spec: generatedSpec,
        pods,
        leavesIssuedBy: (pem) => pem === leavesBy.certPem,
        now: NOW,
      });

    it('rotates in phases from the recorded user CA to a new generated CA, the user CA leaves kept in TrustBoth', async () => {
      const client = world(ca1, { current: ca1 });
      const d = await back(client, rolling, ca1);
      const generated = d.store?.current;
      assert.ok(generated, 'a generated CA, to be stored in demo-ca');
      assert.deepEqual(summary(d), {
        phase: 'TrustBoth',
        trust: [fp(ca1), fp(generated)],
        issuer: fp(generated),
        keep: [fp(ca1), fp(generated)],
        record: [fp(ca1), fp(generated)],
        recordPhase: 'TrustBoth',
      });
      assert.equal(d.trigger, "spec.tls.caSecretName removed: rotating back to the operator's generated CA");
      assert.deepEqual([d.created, d.orphans], [true, []]);
    });

    it('a generated CA left in demo-ca is the one rotated back to; once Idle on it, the record is an orphan', async () => {
      const generated = await createCa('commitlog default/demo CA', NOW, 3650);
      const seedStore = (client: FakeKubeClient) =>
        client.seed(RESOURCES.secret, {
          metadata: { name: 'demo-ca', namespace: NS },
          data: { 'tls.crt': b64(generated.certPem), 'tls.key': b64(generated.keyPem) },
        });
      const switching = world(ca1, { current: ca1 });
      seedStore(switching);
      const d = await back(switching, rolling, ca1);
      assert.deepEqual([d.plan.state.phase, d.plan.state.next, d.created], ['TrustBoth', fp(generated), false]);
      const home = world(ca1, { current: generated });
      seedStore(home);
      const h = await back(home, rolling, generated);
      assert.deepEqual(
        [h.plan.state.phase, h.plan.state.current, h.record, h.orphans],
        ['Idle', fp(generated), undefined, ['demo-ca-record']],
      );
    });
  });

  it('a missing or unusable CA Secret is an error value naming it', async () => {
    const d = await decideUserCa({
      client: new FakeKubeClient(),
      cluster,
      spec,
      pods: rolling,
      leavesIssuedBy: () => false,
      now: NOW,
    });
    assert.deepEqual(d, { error: 'CA Secret my-ca not found or without tls.crt and tls.key' });
  });
});
