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
 */
import type { ResolvedSpec } from '../api/defaults.js';
import type { CommitLogCluster } from '../api/types.js';
import { fingerprint, notAfter } from '../certs/check.js';
import { leafIssuance, nextRotation, planFor, RotationPhase, type RotationState } from '../certs/rotation.js';
import type { KubeClient } from '../kube/client.js';
import { RESOURCES } from '../kube/resources.js';
import type { UserCaRecord } from '../model/inputs.js';
import { namesOf } from '../model/names.js';
import { CA_RECORD_KEYS } from '../model/secrets.js';
import {
  caRevision,
  caStatusOf,
  DAY_MS,
  pairFrom,
  recordedPhase,
  recordedSince,
  settledOn,
  sinceOf,
  trustPemOf,
  type CaDecision,
  type PodsSettled,
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
function recorded(record: SecretObj | undefined, currentPem: string, user: string, secretName: string): Recorded {
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
      trigger: `the CA Secret ${secretName} holds the current CA ${short(cur)} again: rotation to ${short(next)} cancelled`,
    };
  return {
    from: phase,
    state: { phase, current: cur, next: u },
    nextPem: user,
    trigger: `the CA Secret ${secretName} was replaced again during TrustBoth: rotating to ${short(u)} instead of ${short(next)}`,
  };
}

/**
 * Decides this pass's CA for a user-supplied CA. `leavesIssuedBy(caPem)` says whether every
 * leaf the Secrets hold now was issued by that CA. Returns an error message when the user's
 * Secret is unusable.
 */
export async function decideUserCa(
  client: KubeClient,
  c: CommitLogCluster,
  spec: ResolvedSpec,
  pods: PodsSettled,
  leavesIssuedBy: (caPem: string) => boolean,
  now: Date,
): Promise<CaDecision | { readonly error: string }> {
  const ns = c.metadata.namespace;
  const names = namesOf(c.metadata.name);
  const secretName = spec.tls.caSecretName ?? '';
  const source = pairFrom(await client.get<SecretObj>(RESOURCES.secret, ns, secretName), 'tls.crt', 'tls.key');
  if (!source) return { error: `CA Secret ${secretName} not found or without tls.crt and tls.key` };
  const expiry = notAfter(source.certPem);
  if (expiry === undefined) return { error: `CA Secret ${secretName}: tls.crt is not a certificate` };
  const user = fingerprint(source.certPem);

  const record = await client.get<SecretObj>(RESOURCES.secret, ns, names.caRecordSecret);
  let currentPem = recordedCert(record, CA_RECORD_KEYS.current);
  let seeded: string | undefined;
  if (currentPem === undefined) {
    const generated = recordedCert(await client.get<SecretObj>(RESOURCES.secret, ns, names.caSecret), 'tls.crt');
    const fromGenerated = generated !== undefined && !leavesIssuedBy(source.certPem) && leavesIssuedBy(generated);
    currentPem = fromGenerated ? generated : source.certPem;
    if (fromGenerated) seeded = `spec.tls.caSecretName ${secretName} replaces the operator's generated CA`;
  }
  const r = recorded(record, currentPem, source.certPem, secretName);
  const pems = new Map<string, string>([[r.state.current, currentPem]]);
  if (r.nextPem !== undefined && r.state.next !== undefined) pems.set(r.state.next, r.nextPem);
  pems.set(user, source.certPem);
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
  const started =
    r.state.phase === RotationPhase.Idle && rotating
      ? (seeded ?? `the CA Secret ${secretName} now holds another CA`)
      : undefined;
  const trigger = r.trigger ?? started;
  // Only the CA in the user's Secret can sign; the old one's key is gone once it was replaced.
  const leaves = leafIssuance(plan, plan.state.current === user);
  const issuer: CaDecision['issuer'] =
    leaves.issuer === user
      ? source
      : {
          unavailable:
            `a certificate must be issued by CA ${short(leaves.issuer)}, but the CA Secret ${secretName} ` +
            `now holds ${short(user)}: put CA ${short(leaves.issuer)} back in it until status.ca.rotationPhase is ` +
            `Idle (rotation in phase ${plan.state.phase}), then replace it again`,
        };
  const phaseSince = sinceOf(plan);
  const rec: UserCaRecord = {
    current: certOf(plan.state.current),
    ...(rotating && plan.state.next !== undefined ? { next: certOf(plan.state.next), phase: plan.state.phase } : {}),
    ...(rotating && phaseSince !== undefined ? { phaseSince } : {}),
  };
  const expiring = expiry.getTime() - now.getTime() < spec.tls.renewBeforeDays * DAY_MS;
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
    ...(expiring ? { userCaExpiring: expiry.toISOString() } : {}),
    created: false,
  };
}
