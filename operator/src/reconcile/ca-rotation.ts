/**
 * The CA part of the certificates step: which CA issues leaves this pass and which CAs every
 * party trusts, as the phased rotation of certs/rotation.ts decides from what this pass
 * observed. The shell around that pure machine:
 *
 * - State lives in the operator's CA Secret `<name>-ca` (`tls.*` = the current CA, `next.*` =
 *   the CA being rotated to, annotations = the phase and when it began). Secrets are applied
 *   first in a pass, so after a crash or an operator restart the recorded phase is never behind
 *   the StatefulSet; status.ca mirrors it for humans.
 * - Triggers (only when no rotation runs): the generated CA expires within
 *   `spec.tls.renewBeforeDays`; annotation `commitlog.dev/renew-ca` has a value not acted on
 *   yet. (A user-supplied CA goes through the same phases: user-ca.ts.)
 * - Facts: a phase has reached every pod when the live StatefulSet's pod template carries
 *   that phase's `commitlog.dev/ca` annotation, the StatefulSet controller has seen it, and
 *   every pod runs that revision and is Ready; the rolling update (raft-steps.ts) restarts
 *   the pods, one at a time, leader last.
 * - Dwell: a phase also lasts `spec.tls.rotationDwellSeconds` from when it began (the pass's
 *   clock, `Pass.now`), so clients following their Secret volumes have its files. While only
 *   the dwell remains the pass writes nothing and requeues for when it ends ({@link requeueForDwell}).
 */
import type { ResolvedSpec } from '../api/defaults.js';
import { ANNOTATIONS, type CaStatus, type CommitLogCluster } from '../api/types.js';
import { fingerprint, notAfter } from '../certs/check.js';
import { createCa } from '../certs/pki.js';
import { nextRotation, planFor, RotationPhase, type RotationPlan, type RotationState } from '../certs/rotation.js';
import type { KubeClient, KubeObj } from '../kube/client.js';
import { RESOURCES } from '../kube/resources.js';
import type { CaStore, PemPair, UserCaRecord } from '../model/inputs.js';
import { namesOf } from '../model/names.js';
import { CA_STORE_ANNOTATIONS, CA_STORE_KEYS } from '../model/secrets.js';
import { CA_REVISION_ANNOTATION } from '../model/stateful-set.js';
import type { World } from './observe.js';
import type { Pass } from './pass.js';

/** Lifetime of a generated CA. */
export const CA_DAYS = 3650;
/** One day in milliseconds. */
export const DAY_MS = 86_400_000;

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
  /**
   * The CA new leaves are issued by this pass, or why its key is not at hand (a user-supplied
   * CA replaced again in the middle of a rotation): then a leaf that must be issued fails the step.
   */
  readonly issuer: PemPair | { readonly unavailable: string };
  /** CA certificates (PEM) a leaf may chain to and be kept as it is. */
  readonly keep: readonly string[];
  /** Certificates (PEM) of the CAs in play: the current one and, while rotating, the next (for the earliest expiry). */
  readonly caCerts: readonly string[];
  /** `ca.crt` of every Secret. */
  readonly trustPem: string;
  /** The CA store `<name>-ca`; absent with a user-supplied CA (its key is not copied). */
  readonly store?: CaStore;
  /** The record `<name>-ca-record` of a user-supplied CA (certificates only); absent otherwise. */
  readonly record?: UserCaRecord;
  readonly revision: string;
  readonly status: CaStatus;
  /** A user-supplied CA expires within the renewal window (the operator cannot replace it). */
  readonly userCaExpiring?: string;
  /** The CA store was created in this pass. */
  readonly created: boolean;
  /**
   * CA Secrets of the cluster that this pass found and no longer needs (user-ca.ts): the
   * record after a switch back to the generated CA, the generated CA once a user CA took over.
   */
  readonly orphans?: readonly string[];
}

const PHASES: ReadonlySet<string> = new Set(Object.values(RotationPhase));

/** The phase recorded in a CA Secret's annotation, if it names one. */
export function recordedPhase(s: SecretObj | undefined): RotationPhase | undefined {
  const recorded = s?.metadata?.annotations?.[CA_STORE_ANNOTATIONS.phase];
  return recorded !== undefined && PHASES.has(recorded) ? (recorded as RotationPhase) : undefined;
}

/** RFC 3339 without milliseconds, as status fields are written. */
export const rfc3339 = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

/**
 * When the recorded phase began (ms since the epoch), from the annotation of a CA Secret;
 * undefined when absent or unparsable (the dwell then starts at this pass: certs/rotation.ts).
 */
export function recordedSince(s: SecretObj | undefined): number | undefined {
  const v = s?.metadata?.annotations?.[CA_STORE_ANNOTATIONS.phaseSince];
  const ms = v === undefined ? NaN : Date.parse(v);
  return Number.isFinite(ms) ? ms : undefined;
}

/** The recorded form of a plan's phase start (RFC 3339 with milliseconds: read back to the same ms). */
export function sinceOf(plan: RotationPlan): string | undefined {
  const { phase, since } = plan.state;
  return phase === RotationPhase.Idle || since === undefined ? undefined : new Date(since).toISOString();
}

/** status.ca of a plan: the phase, the CAs, the current CA's expiry, what it waits for and since when. */
export function caStatusOf(plan: RotationPlan, currentCertPem: string): CaStatus {
  const { phase, current, next } = plan.state;
  const rotating = phase !== RotationPhase.Idle && next !== undefined;
  const expiry = notAfter(currentCertPem);
  const since = sinceOf(plan);
  return {
    rotationPhase: phase,
    current,
    ...(rotating ? { next } : {}),
    ...(expiry ? { expiry: rfc3339(expiry) } : {}),
    ...(plan.waiting !== undefined && rotating ? { waiting: plan.waiting } : {}),
    ...(since !== undefined && rotating ? { phaseSince: since } : {}),
  };
}

/**
 * The requeue of a pass whose rotation waits only for its dwell: at the dwell's end (at least
 * 1 s), or earlier if `result` already asks for that. Pure.
 */
export function requeueForDwell(
  result: { readonly requeueAfterMs?: number },
  plan: RotationPlan | undefined,
): { readonly requeueAfterMs?: number } {
  if (plan?.dwellLeftMs === undefined) return result;
  const due = Math.max(1000, plan.dwellLeftMs);
  return { ...result, requeueAfterMs: Math.min(result.requeueAfterMs ?? Infinity, due) };
}

/** `ca.crt` of a plan: the certificates of its trusted CAs, oldest first. */
export function trustPemOf(plan: RotationPlan, certOf: (fp: string) => string): string {
  return plan.trust.length === 1
    ? certOf(plan.trust[0] ?? '')
    : plan.trust.map((fp) => `${certOf(fp).trim()}\n`).join('');
}

/** Whether the pods have settled on the pod template of `p` (or there are none). */
export function settledOn(pods: PodsSettled, p: RotationPlan): boolean {
  return pods.none || (pods.onTemplate && pods.templateCaRevision === caRevision(p));
}

/**
 * What a CA decision ({@link decideCa}, and user-ca.ts `decideUserCa`/`decideGeneratedCa`)
 * reads: the same record for every kind of CA, built once per pass by the certificates step.
 */
export interface CaInputs {
  /** Reads the CA Secrets (the operator's `<name>-ca`, a user's CA Secret, `<name>-ca-record`); never writes. */
  readonly client: KubeClient;
  /** The cluster whose CA is decided (its name, namespace and `commitlog.dev/renew-ca` annotation). */
  readonly cluster: CommitLogCluster;
  /** Its resolved spec (`spec.tls`: `caSecretName`, `renewBeforeDays`, `rotationDwellMs`). */
  readonly spec: ResolvedSpec;
  /** How far the pods are with the live pod template (observed this pass, {@link podsSettled}). */
  readonly pods: PodsSettled;
  /** Whether every leaf the Secrets hold now was issued by the CA whose certificate is `caPem`. */
  readonly leavesIssuedBy: (caPem: string) => boolean;
  /** The pass's clock: expiry windows, new CAs' validity, and the dwell count from it. */
  readonly now: Date;
}

/** Decides this pass's CA when the operator generates it (no `spec.tls.caSecretName`). */
export async function decideCa(inputs: CaInputs): Promise<CaDecision> {
  const { client, cluster: c, spec, pods, leavesIssuedBy, now } = inputs;
  const ns = c.metadata.namespace;
  const caName = `commitlog ${ns}/${c.metadata.name} CA`;
  const s = await client.get<SecretObj>(RESOURCES.secret, ns, namesOf(c.metadata.name).caSecret);
  const storedCurrent = pairFrom(s, 'tls.crt', 'tls.key');
  const current = storedCurrent ?? (await createCa(caName, now, CA_DAYS));
  let next = pairFrom(s, CA_STORE_KEYS.nextCert, CA_STORE_KEYS.nextKey);
  const annotations = s?.metadata?.annotations ?? {};
  const phase = (next && recordedPhase(s)) || RotationPhase.Idle;
  const cur = fingerprint(current.certPem);
  const since = recordedSince(s);
  const state: RotationState =
    phase === RotationPhase.Idle || !next
      ? { phase: RotationPhase.Idle, current: cur }
      : { phase, current: cur, next: fingerprint(next.certPem), ...(since !== undefined ? { since } : {}) };

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

  const plan = nextRotation(state, {
    ...(wanted !== undefined ? { wanted } : {}),
    bundleEverywhere: settledOn(pods, planFor(state)),
    leavesOnNext: state.next !== undefined && leavesIssuedBy(pairs.get(state.next)?.certPem ?? ''),
    allReady: pods.none || pods.allReady,
    now: now.getTime(),
    dwellMs: spec.tls.rotationDwellMs,
  });
  const pair = (fp: string): PemPair => {
    const p = pairs.get(fp);
    if (!p) throw new Error(`CA rotation: no CA with fingerprint ${fp}`); // invariant: the plan names only these
    return p;
  };
  // A generated CA's force annotation counts as handled once a rotation starts or runs.
  const renewHandled = force !== undefined && plan.state.phase !== RotationPhase.Idle ? force : handled;
  const rotating = plan.state.phase !== RotationPhase.Idle && plan.state.next !== undefined;
  const phaseSince = sinceOf(plan);
  const store: CaStore = {
    current: pair(plan.state.current),
    ...(rotating && plan.state.next !== undefined ? { next: pair(plan.state.next), phase: plan.state.phase } : {}),
    ...(rotating && phaseSince !== undefined ? { phaseSince } : {}),
    ...(renewHandled !== undefined ? { renewHandled } : {}),
  };
  const trustPem = trustPemOf(plan, (fp) => pair(fp).certPem);
  return {
    plan,
    from: state.phase,
    ...(trigger !== undefined && plan.state.phase !== RotationPhase.Idle ? { trigger } : {}),
    issuer: pair(plan.issuer),
    keep: [pair(plan.issuer).certPem],
    caCerts: [store.current.certPem, ...(store.next ? [store.next.certPem] : [])],
    trustPem,
    store,
    revision: caRevision(plan),
    status: caStatusOf(plan, store.current.certPem),
    created: storedCurrent === undefined,
  };
}

const PHASE_NOTES: Readonly<Record<RotationPhase, string>> = {
  Idle: 'rotation complete: every certificate is issued by the new CA, and only it is trusted',
  TrustBoth: 'phase 1/3 TrustBoth: every ca.crt holds the old and the new CA; pods roll to load it',
  ReissueLeaves: 'phase 2/3 ReissueLeaves: server, operator and user certificates re-issued by the new CA; pods roll',
  DropOld: 'phase 3/3 DropOld: the old CA leaves every ca.crt; pods roll',
};

const CANCELLED_NOTE =
  'rotation cancelled: the current CA issues every certificate; the other CA leaves every ca.crt; pods roll';

/** The events of this pass's CA decision: a phase entered (after its Secrets were applied), a user CA near expiry. */
export async function announceCa(p: Pass, d: CaDecision): Promise<void> {
  const to = d.plan.state.phase;
  // A trigger in a pass that stays in its phase: a user CA replaced again during TrustBoth.
  if (to !== d.from || d.trigger !== undefined) {
    const fps =
      to === RotationPhase.Idle
        ? short(d.plan.state.current)
        : `${short(d.plan.state.current)} → ${short(d.plan.state.next ?? d.plan.state.current)}`;
    // Idle from TrustBoth or ReissueLeaves: a user CA put back in its Secret (user-ca.ts).
    const cancelled = to === RotationPhase.Idle && d.from !== RotationPhase.DropOld && d.from !== RotationPhase.Idle;
    const reason =
      d.from === to
        ? 'CaRotationRestarted'
        : d.from === RotationPhase.Idle
          ? 'CaRotationStarted'
          : cancelled
            ? 'CaRotationCancelled'
            : to === RotationPhase.Idle
              ? 'CaRotationCompleted'
              : 'CaRotationPhase';
    const why = d.trigger !== undefined ? ` (${d.trigger})` : '';
    const note = cancelled ? CANCELLED_NOTE : PHASE_NOTES[to];
    await p.event('Normal', reason, 'RotateCa', `CA ${fps}${why}: ${note}`);
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
