/**
 * The CA part of the certificates step: which CA issues leaves this pass and which CAs every
 * party trusts, as the phased rotation of certs/rotation.ts decides from what this pass
 * observed. The shell around that pure machine:
 *
 * - State lives in the operator's CA Secret `<name>-ca` (`tls.*` = the current CA, `next.*` =
 *   the CA being rotated to, annotation = the phase). Secrets are applied first in a pass, so
 *   after a crash or an operator restart the recorded phase is never behind the StatefulSet;
 *   status.ca mirrors it for humans.
 * - Triggers (only when no rotation runs): the generated CA expires within
 *   `spec.tls.renewBeforeDays`; annotation `commitlog.dev/renew-ca` has a value not acted on
 *   yet; the user-supplied CA Secret now holds another CA (the store keeps a copy of the old
 *   one, whose key still issues leaves in phase TrustBoth).
 * - Facts: a phase has reached every pod when the live StatefulSet's pod template carries
 *   that phase's `commitlog.dev/ca` annotation, the StatefulSet controller has seen it, and
 *   every pod runs that revision and is Ready; the rolling update (raft-steps.ts) restarts
 *   the pods, one at a time, leader last.
 */
import type { ResolvedSpec } from '../api/defaults.js';
import { ANNOTATIONS, type CaStatus, type CommitLogCluster } from '../api/types.js';
import { fingerprint, notAfter } from '../certs/check.js';
import { createCa } from '../certs/pki.js';
import { nextRotation, planFor, RotationPhase, type RotationPlan, type RotationState } from '../certs/rotation.js';
import type { KubeClient, KubeObj } from '../kube/client.js';
import { RESOURCES } from '../kube/resources.js';
import type { CaStore, PemPair } from '../model/inputs.js';
import { namesOf } from '../model/names.js';
import { CA_STORE_ANNOTATIONS, CA_STORE_KEYS } from '../model/secrets.js';
import { CA_REVISION_ANNOTATION } from '../model/stateful-set.js';
import type { World } from './observe.js';
import type { Pass } from './pass.js';

/** Lifetime of a generated CA. */
export const CA_DAYS = 3650;
const DAY_MS = 86_400_000;

/** A Secret as read. */
export interface SecretObj extends KubeObj {
  readonly data?: Readonly<Record<string, string>>;
}

const decode = (s: string | undefined): string | undefined =>
  s === undefined ? undefined : Buffer.from(s, 'base64').toString('utf8');

/** The PEM pair under `certKey`/`keyKey` of `secret`, if both are there. */
export function pairFrom(secret: SecretObj | undefined, certKey: string, keyKey: string): PemPair | undefined {
  const certPem = decode(secret?.data?.[certKey]);
  const keyPem = decode(secret?.data?.[keyKey]);
  return certPem && keyPem ? { certPem, keyPem } : undefined;
}

/** How far the pods are with the StatefulSet's current pod template (observed, not assumed). */
export interface PodsSettled {
  /** `commitlog.dev/ca` of the live pod template. */
  readonly templateCaRevision?: string;
  /** The StatefulSet controller saw the template, and every pod it should run exists on that revision. */
  readonly onTemplate: boolean;
  /** Every pod the StatefulSet should run is Ready. */
  readonly allReady: boolean;
  /** No pod should run: nothing to roll. */
  readonly none: boolean;
}

/** Reads {@link PodsSettled} from what the pass observed. */
export function podsSettled(world: World): PodsSettled {
  const sts = world.statefulSet;
  const want = sts?.spec?.replicas ?? 0;
  const template = sts?.spec?.template?.metadata?.annotations?.[CA_REVISION_ANNOTATION];
  const seen =
    sts?.status?.observedGeneration !== undefined &&
    sts.metadata?.generation !== undefined &&
    sts.status.observedGeneration >= sts.metadata.generation;
  const rev = sts?.status?.updateRevision;
  const onTemplate =
    seen && rev !== undefined && world.pods.length === want && world.pods.every((p) => p.revision === rev);
  return {
    ...(template !== undefined ? { templateCaRevision: template } : {}),
    onTemplate,
    allReady: world.pods.length === want && world.pods.every((p) => p.ready),
    none: want === 0,
  };
}

const short = (fp: string): string => fp.slice(0, 16);

/** The `commitlog.dev/ca` annotation of a plan: the trusted CAs and the issuer, by short fingerprint. */
export function caRevision(plan: RotationPlan): string {
  return `trust=${plan.trust.map(short).join('+')};issuer=${short(plan.issuer)}`;
}

/** What a pass decided about the CA. */
export interface CaDecision {
  readonly plan: RotationPlan;
  /** The phase the pass started from (a change = a transition to announce). */
  readonly from: RotationPhase;
  /** Why a rotation started in this pass. */
  readonly trigger?: string;
  /** The CA leaves are issued by this pass. */
  readonly issuer: PemPair;
  /** `ca.crt` of every Secret. */
  readonly trustPem: string;
  /** The CA store `<name>-ca`; absent with a user-supplied CA (its key is not copied). */
  readonly store?: CaStore;
  readonly revision: string;
  readonly status: CaStatus;
  /** A user-supplied CA expires within the renewal window (the operator cannot replace it). */
  readonly userCaExpiring?: string;
  /** The CA store was created in this pass. */
  readonly created: boolean;
}

/**
 * A user-supplied CA: its Secret's CA issues and is trusted, as it is. Its key is not copied
 * anywhere, so the operator cannot keep the old CA's key through a phased rotation: replacing
 * the user's Secret replaces the CA in one step (docs/operator.md, "CA rotation").
 */
async function userCa(
  client: KubeClient,
  c: CommitLogCluster,
  spec: ResolvedSpec,
  now: Date,
): Promise<CaDecision | { readonly error: string }> {
  const name = spec.tls.caSecretName ?? '';
  const source = pairFrom(
    await client.get<SecretObj>(RESOURCES.secret, c.metadata.namespace, name),
    'tls.crt',
    'tls.key',
  );
  const expiry = source ? notAfter(source.certPem) : undefined;
  if (!source) return { error: `CA Secret ${name} not found or without tls.crt and tls.key` };
  if (expiry === undefined) return { error: `CA Secret ${name}: tls.crt is not a certificate` };
  const plan = planFor({ phase: RotationPhase.Idle, current: fingerprint(source.certPem) });
  const expiring = expiry.getTime() - now.getTime() < spec.tls.renewBeforeDays * DAY_MS;
  return {
    plan,
    from: RotationPhase.Idle,
    issuer: source,
    trustPem: source.certPem,
    revision: caRevision(plan),
    status: {
      rotationPhase: RotationPhase.Idle,
      current: plan.state.current,
      expiry: expiry.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    },
    ...(expiring ? { userCaExpiring: expiry.toISOString() } : {}),
    created: false,
  };
}

const PHASES: ReadonlySet<string> = new Set(Object.values(RotationPhase));

/**
 * Decides this pass's CA. `leavesIssuedBy(caPem)` says whether every leaf the Secrets hold now
 * was issued by that CA. Returns an error message when a user-supplied CA Secret is unusable.
 */
export async function decideCa(
  client: KubeClient,
  c: CommitLogCluster,
  spec: ResolvedSpec,
  pods: PodsSettled,
  leavesIssuedBy: (caPem: string) => boolean,
  now: Date,
): Promise<CaDecision | { readonly error: string }> {
  const ns = c.metadata.namespace;
  const caName = `commitlog ${ns}/${c.metadata.name} CA`;
  if (spec.tls.caSecretName !== undefined) return userCa(client, c, spec, now);
  const s = await client.get<SecretObj>(RESOURCES.secret, ns, namesOf(c.metadata.name).caSecret);
  const storedCurrent = pairFrom(s, 'tls.crt', 'tls.key');
  const current = storedCurrent ?? (await createCa(caName, now, CA_DAYS));
  let next = pairFrom(s, CA_STORE_KEYS.nextCert, CA_STORE_KEYS.nextKey);
  const annotations = s?.metadata?.annotations ?? {};
  const recorded = annotations[CA_STORE_ANNOTATIONS.phase];
  const phase =
    next && recorded !== undefined && PHASES.has(recorded) ? (recorded as RotationPhase) : RotationPhase.Idle;
  const cur = fingerprint(current.certPem);
  const state: RotationState =
    phase === RotationPhase.Idle || !next
      ? { phase: RotationPhase.Idle, current: cur }
      : { phase, current: cur, next: fingerprint(next.certPem) };

  const expiry = notAfter(current.certPem);
  const expiring = expiry !== undefined && expiry.getTime() - now.getTime() < spec.tls.renewBeforeDays * DAY_MS;
  const force = c.metadata.annotations?.[ANNOTATIONS.renewCa];
  const handled = annotations[CA_STORE_ANNOTATIONS.renewHandled];
  let trigger: string | undefined;
  if (state.phase === RotationPhase.Idle) {
    if (next) trigger = 'a rotation recorded in the CA Secret';
    else if (expiring) {
      next = await createCa(caName, now, CA_DAYS);
      trigger = `the CA expires at ${expiry.toISOString()}, within spec.tls.renewBeforeDays (${spec.tls.renewBeforeDays})`;
    } else if (force !== undefined && force !== handled) {
      next = await createCa(caName, now, CA_DAYS);
      trigger = `annotation ${ANNOTATIONS.renewCa}=${JSON.stringify(force)}`;
    }
  }
  const pairs = new Map<string, PemPair>([[cur, current]]);
  if (next) pairs.set(fingerprint(next.certPem), next);
  const wanted = next ? fingerprint(next.certPem) : undefined;

  const settledOn = (p: RotationPlan): boolean =>
    pods.none || (pods.onTemplate && pods.templateCaRevision === caRevision(p));
  const plan = nextRotation(state, {
    ...(wanted !== undefined ? { wanted } : {}),
    bundleEverywhere: settledOn(planFor(state)),
    leavesOnNext: state.next !== undefined && leavesIssuedBy(pairs.get(state.next)?.certPem ?? ''),
    allReady: pods.none || pods.allReady,
  });
  const pair = (fp: string): PemPair => {
    const p = pairs.get(fp);
    if (!p) throw new Error(`CA rotation: no CA with fingerprint ${fp}`); // invariant: the plan names only these
    return p;
  };
  // A generated CA's force annotation counts as handled once a rotation starts or runs.
  const renewHandled = force !== undefined && plan.state.phase !== RotationPhase.Idle ? force : handled;
  const rotating = plan.state.phase !== RotationPhase.Idle && plan.state.next !== undefined;
  const store: CaStore = {
    current: pair(plan.state.current),
    ...(rotating && plan.state.next !== undefined ? { next: pair(plan.state.next), phase: plan.state.phase } : {}),
    ...(renewHandled !== undefined ? { renewHandled } : {}),
  };
  const trustPem =
    plan.trust.length === 1
      ? pair(plan.trust[0] ?? '').certPem
      : plan.trust.map((fp) => `${pair(fp).certPem.trim()}\n`).join('');
  const curExpiry = notAfter(store.current.certPem);
  return {
    plan,
    from: state.phase,
    ...(trigger !== undefined && plan.state.phase !== RotationPhase.Idle ? { trigger } : {}),
    issuer: pair(plan.issuer),
    trustPem,
    store,
    revision: caRevision(plan),
    status: {
      rotationPhase: plan.state.phase,
      current: plan.state.current,
      ...(plan.state.next !== undefined && rotating ? { next: plan.state.next } : {}),
      ...(curExpiry ? { expiry: curExpiry.toISOString().replace(/\.\d{3}Z$/, 'Z') } : {}),
      ...(plan.waiting !== undefined && rotating ? { waiting: plan.waiting } : {}),
    },
    created: storedCurrent === undefined,
  };
}

const PHASE_NOTES: Readonly<Record<RotationPhase, string>> = {
  Idle: 'rotation complete: every certificate is issued by the new CA, and only it is trusted',
  TrustBoth: 'phase 1/3 TrustBoth: every ca.crt holds the old and the new CA; pods roll to load it',
  ReissueLeaves: 'phase 2/3 ReissueLeaves: server, operator and user certificates re-issued by the new CA; pods roll',
  DropOld: 'phase 3/3 DropOld: the old CA leaves every ca.crt; pods roll',
};

/** The events of this pass's CA decision: a phase entered (after its Secrets were applied), a user CA near expiry. */
export async function announceCa(p: Pass, d: CaDecision): Promise<void> {
  const to = d.plan.state.phase;
  if (to !== d.from) {
    const fps =
      to === RotationPhase.Idle
        ? short(d.plan.state.current)
        : `${short(d.plan.state.current)} → ${short(d.plan.state.next ?? d.plan.state.current)}`;
    const reason =
      d.from === RotationPhase.Idle
        ? 'CaRotationStarted'
        : to === RotationPhase.Idle
          ? 'CaRotationCompleted'
          : 'CaRotationPhase';
    const why = d.trigger !== undefined ? ` (${d.trigger})` : '';
    await p.event('Normal', reason, 'RotateCa', `CA ${fps}${why}: ${PHASE_NOTES[to]}`);
    p.log.info({ from: d.from, to, current: d.plan.state.current, next: d.plan.state.next }, 'CA rotation phase');
  }
  if (d.userCaExpiring !== undefined)
    await p.event(
      'Warning',
      'CaExpiring',
      'CheckCa',
      `the user-supplied CA expires at ${d.userCaExpiring}: put a new CA in its Secret; the operator rotates to it in phases`,
    );
}
