/**
 * The CA part of the certificates step for a user-supplied CA (`spec.tls.caSecretName`): the
 * same phased rotation as the operator's own CA (certs/rotation.ts), driven by the user
 * replacing the contents of their Secret.
 *
 * - Record: the operator keeps `<name>-ca-record` (model/secrets.ts): the certificate of the
 *   CA the leaves were issued under (`current.crt`), during a rotation the certificate of the
 *   CA rotated to (`next.crt`), the phase and when it began (annotations; the dwell of
 *   `spec.tls.rotationDwellSeconds` counts from then, as in ca-rotation.ts). Certificates only: the user's key
 *   is never copied. Secrets are applied first in a pass, so after an operator restart the
 *   recorded phase is never behind the StatefulSet, as with the CA store of ca-rotation.ts.
 * - Trigger: the user's Secret holds a CA whose fingerprint is not the recorded current one.
 *   The old CA stays trusted from the record until phase DropOld; the user does nothing but
 *   replace `tls.crt` and `tls.key`.
 * - Keys: only the CA in the user's Secret can sign. In TrustBoth the leaves of the old CA are
 *   kept and a leaf that must be created is issued by the new one (certs/rotation.ts
 *   `leafIssuance`). A new CA put in the Secret during TrustBoth redirects the rotation to it
 *   (the old CA back again cancels it; a redirect starts the phase, and its dwell, anew); during ReissueLeaves or DropOld the rotation finishes
 *   with the CA it re-issued the leaves under, and the newer CA starts the next rotation. A leaf
 *   that must be issued meanwhile cannot be: the step fails and says which CA to put back.
 * - First pass without a record (a new cluster, an upgrade, a switch from the generated CA):
 *   the recorded CA is the operator's generated CA `<name>-ca` if every leaf chains to it (so
 *   switching to a user CA rotates in phases too), otherwise the user's CA.
 * - Switching back (`spec.tls.caSecretName` removed, {@link decideGeneratedCa}): the same
 *   record rotates from the user's CA to the generated one, which is the only key at hand.
 * - Orphans: once Idle on the user's CA, a `<name>-ca` left from before the switch is deleted
 *   (its key issues nothing any more; switching back makes a new CA or uses the one found);
 *   once Idle on the generated CA after switching back, the record is deleted.
 */
import { ANNOTATIONS } from '../api/types.js';
import { fingerprint, notAfter } from '../certs/check.js';
import { createCa } from '../certs/pki.js';
import { leafIssuance, nextRotation, planFor, RotationPhase, type RotationState } from '../certs/rotation.js';
import { RESOURCES } from '../kube/resources.js';
import type { PemPair, UserCaRecord } from '../model/inputs.js';
import { namesOf } from '../model/names.js';
import { CA_RECORD_KEYS, CA_STORE_ANNOTATIONS } from '../model/secrets.js';
import {
  CA_DAYS,
  caRevision,
  caStatusOf,
  DAY_MS,
  decideCa,
  pairFrom,
  recordedPhase,
  recordedSince,
  settledOn,
  sinceOf,
  trustPemOf,
  type CaDecision,
  type CaInputs,
  type SecretObj,
} from './ca-rotation.js';

const decode = (s: string | undefined): string | undefined =>
  s === undefined ? undefined : Buffer.from(s, 'base64').toString('utf8');
const short = (fp: string): string => fp.slice(0, 16);

/** The CA certificate recorded under `key` of the record Secret, if it parses. */
function recordedCert(s: SecretObj | undefined, key: string): string | undefined {
  const pem = decode(s?.data?.[key]);
  return pem !== undefined && notAfter(pem) !== undefined ? pem : undefined;
}

/** The phase and CAs recorded, with the user's CA applied to a rotation still in TrustBoth. */
interface Recorded {
  /** The phase recorded (the pass starts from it). */
  readonly from: RotationPhase;
  readonly state: RotationState;
  readonly nextPem?: string;
  readonly trigger?: string;
}

/**
 * The rotation state from the record and the user's CA `user`: a rotation in TrustBoth
 * follows the user's Secret (no leaf has moved to its next CA yet), later phases keep theirs.
 */
function recorded(record: SecretObj | undefined, currentPem: string, user: string, describe: string): Recorded {
  const cur = fingerprint(currentPem);
  const nextPem = recordedCert(record, CA_RECORD_KEYS.next);
  const phase = nextPem !== undefined ? recordedPhase(record) : undefined;
  if (nextPem === undefined || phase === undefined || phase === RotationPhase.Idle)
    return { from: RotationPhase.Idle, state: { phase: RotationPhase.Idle, current: cur } };
  const next = fingerprint(nextPem);
  const u = fingerprint(user);
  const since = recordedSince(record);
  if (phase !== RotationPhase.TrustBoth || u === next)
    return { from: phase, state: { phase, current: cur, next, ...(since !== undefined ? { since } : {}) }, nextPem };
  if (u === cur)
    return {
      from: phase,
      state: { phase: RotationPhase.Idle, current: cur },
      trigger: `${describe} holds the current CA ${short(cur)} again: rotation to ${short(next)} cancelled`,
    };
  return {
    from: phase,
    state: { phase, current: cur, next: u },
    nextPem: user,
    trigger: `${describe} was replaced again during TrustBoth: rotating to ${short(u)} instead of ${short(next)}`,
  };
}

/** Where the CA a recorded rotation moves to comes from (see {@link decideRecorded}). */
interface RecordedSource {
  /** The CA that signs: the user's, or the operator's generated one when switching back. */
  readonly pair: PemPair;
  /** Names it in messages, e.g. `the CA Secret my-ca`. */
  readonly describe: string;
  /** Why a rotation started from Idle, when it does. */
  readonly started: string;
  /** The recorded current CA when there is no record yet. */
  readonly firstCurrent: string;
}

/**
 * The rotation kept in the record `<name>-ca-record` towards the CA of `source`: the decision
 * of a user-supplied CA, and of the switch back from one to the generated CA.
 */
async function decideRecorded(
  inputs: CaInputs,
  record: SecretObj | undefined,
  source: RecordedSource,
): Promise<CaDecision> {
  const { spec, pods, leavesIssuedBy, now } = inputs;
  const user = fingerprint(source.pair.certPem);
  const currentPem = recordedCert(record, CA_RECORD_KEYS.current) ?? source.firstCurrent;
  const r = recorded(record, currentPem, source.pair.certPem, source.describe);
  const pems = new Map<string, string>([[r.state.current, currentPem]]);
  if (r.nextPem !== undefined && r.state.next !== undefined) pems.set(r.state.next, r.nextPem);
  pems.set(user, source.pair.certPem);
  const certOf = (fp: string): string => {
    const pem = pems.get(fp);
    if (pem === undefined) throw new Error(`CA rotation: no CA with fingerprint ${fp}`); // invariant: the plan names only these
    return pem;
  };

  const wanted = r.state.phase === RotationPhase.Idle ? user : r.state.next;
  const plan = nextRotation(r.state, {
    ...(wanted !== undefined ? { wanted } : {}),
    bundleEverywhere: settledOn(pods, planFor(r.state)),
    leavesOnNext: r.state.next !== undefined && leavesIssuedBy(certOf(r.state.next)),
    allReady: pods.none || pods.allReady,
    now: now.getTime(),
    dwellMs: spec.tls.rotationDwellMs,
  });
  const rotating = plan.state.phase !== RotationPhase.Idle && plan.state.next !== undefined;
  const started = r.state.phase === RotationPhase.Idle && rotating ? source.started : undefined;
  const trigger = r.trigger ?? started;
  // Only the CA of the source can sign; the old one's key is gone once it was replaced.
  const leaves = leafIssuance(plan, plan.state.current === user);
  const issuer: CaDecision['issuer'] =
    leaves.issuer === user
      ? source.pair
      : {
          unavailable:
            `a certificate must be issued by CA ${short(leaves.issuer)}, but ${source.describe} ` +
            `now holds ${short(user)}: put CA ${short(leaves.issuer)} back in it until status.ca.rotationPhase is ` +
            `Idle (rotation in phase ${plan.state.phase}), then replace it again`,
        };
  const phaseSince = sinceOf(plan);
  const rec: UserCaRecord = {
    current: certOf(plan.state.current),
    ...(rotating && plan.state.next !== undefined ? { next: certOf(plan.state.next), phase: plan.state.phase } : {}),
    ...(rotating && phaseSince !== undefined ? { phaseSince } : {}),
  };
  return {
    plan,
    from: r.from,
    ...(trigger !== undefined ? { trigger } : {}),
    issuer,
    keep: leaves.keep.map(certOf),
    caCerts: [rec.current, ...(rec.next !== undefined ? [rec.next] : [])],
    trustPem: trustPemOf(plan, certOf),
    record: rec,
    revision: caRevision(plan),
    status: caStatusOf(plan, rec.current),
    created: false,
  };
}

/**
 * Decides this pass's CA for a user-supplied CA (`inputs.spec.tls.caSecretName`). Returns an error message when the user's
 * Secret is unusable. Once the rotation is Idle on the user's CA, the operator's generated CA
 * Secret `<name>-ca`, if left from before the switch, is an orphan (its key issues nothing).
 */
export async function decideUserCa(inputs: CaInputs): Promise<CaDecision | { readonly error: string }> {
  const { client, cluster: c, spec, leavesIssuedBy, now } = inputs;
  const ns = c.metadata.namespace;
  const names = namesOf(c.metadata.name);
  const secretName = spec.tls.caSecretName ?? '';
  const source = pairFrom(await client.get<SecretObj>(RESOURCES.secret, ns, secretName), 'tls.crt', 'tls.key');
  if (!source) return { error: `CA Secret ${secretName} not found or without tls.crt and tls.key` };
  const expiry = notAfter(source.certPem);
  if (expiry === undefined) return { error: `CA Secret ${secretName}: tls.crt is not a certificate` };

  const record = await client.get<SecretObj>(RESOURCES.secret, ns, names.caRecordSecret);
  const generatedSecret = await client.get<SecretObj>(RESOURCES.secret, ns, names.caSecret);
  const generated = recordedCert(generatedSecret, 'tls.crt');
  // First pass without a record: from the generated CA if every leaf chains to it.
  const fromGenerated =
    recordedCert(record, CA_RECORD_KEYS.current) === undefined &&
    generated !== undefined &&
    !leavesIssuedBy(source.certPem) &&
    leavesIssuedBy(generated);
  const d = await decideRecorded(inputs, record, {
    pair: source,
    describe: `the CA Secret ${secretName}`,
    started: fromGenerated
      ? `spec.tls.caSecretName ${secretName} replaces the operator's generated CA`
      : `the CA Secret ${secretName} now holds another CA`,
    firstCurrent: fromGenerated && generated !== undefined ? generated : source.certPem,
  });
  const expiring = expiry.getTime() - now.getTime() < spec.tls.renewBeforeDays * DAY_MS;
  const idle = d.plan.state.phase === RotationPhase.Idle;
  return {
    ...d,
    ...(expiring ? { userCaExpiring: expiry.toISOString() } : {}),
    orphans: idle && generatedSecret !== undefined ? [names.caSecret] : [],
  };
}

/**
 * Decides this pass's CA when the operator generates it (no `spec.tls.caSecretName`). After a
 * user-supplied CA (a record `<name>-ca-record` whose CA is not the generated one, or a
 * rotation recorded in it) the switch back rotates in phases too: through the record, from
 * the user's CA (certificate only: its key is the user's) to the generated CA `<name>-ca`
 * (created now if there is none), the leaves of the user's CA kept until ReissueLeaves. Once
 * that rotation is Idle the record is an orphan and the generated CA's own machine
 * (ca-rotation.ts) takes over.
 */
export async function decideGeneratedCa(inputs: CaInputs): Promise<CaDecision> {
  const { client, cluster: c, now } = inputs;
  const ns = c.metadata.namespace;
  const names = namesOf(c.metadata.name);
  const record = await client.get<SecretObj>(RESOURCES.secret, ns, names.caRecordSecret);
  const recordedCurrent = recordedCert(record, CA_RECORD_KEYS.current);
  if (record === undefined) return { ...(await decideCa(inputs)), orphans: [] };
  const store = await client.get<SecretObj>(RESOURCES.secret, ns, names.caSecret);
  const stored = pairFrom(store, 'tls.crt', 'tls.key');
  const rotatingInRecord =
    recordedCert(record, CA_RECORD_KEYS.next) !== undefined && recordedPhase(record) !== undefined;
  const backHome =
    recordedCurrent === undefined ||
    (stored !== undefined && fingerprint(stored.certPem) === fingerprint(recordedCurrent) && !rotatingInRecord);
  if (backHome) return { ...(await decideCa(inputs)), orphans: [names.caRecordSecret] };
  const generated = stored ?? (await createCa(`commitlog ${ns}/${c.metadata.name} CA`, now, CA_DAYS));
  // A renew-ca value set before stays handled: the CA switched back to is not rotated again at once.
  const renewHandled =
    store?.metadata?.annotations?.[CA_STORE_ANNOTATIONS.renewHandled] ?? c.metadata.annotations?.[ANNOTATIONS.renewCa];
  const d = await decideRecorded(inputs, record, {
    pair: generated,
    describe: `the operator's CA Secret ${names.caSecret}`,
    started: `spec.tls.caSecretName removed: rotating back to the operator's generated CA`,
    firstCurrent: recordedCurrent,
  });
  // Idle on the generated CA (the rotation back ended in this pass): the record goes now.
  const home = d.plan.state.phase === RotationPhase.Idle && d.plan.state.current === fingerprint(generated.certPem);
  const { record: _record, ...rest } = d;
  return {
    ...(home ? rest : d),
    store: { current: generated, ...(renewHandled !== undefined ? { renewHandled } : {}) },
    created: stored === undefined,
    orphans: home ? [names.caRecordSecret] : [],
  };
}
