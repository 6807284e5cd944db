/**
 * The certificates step: decide the CA of this pass (ca-rotation.ts for the operator's own CA,
 * user-ca.ts for a user-supplied one: the current CA, or a phase of a rotation), keep every
 * leaf certificate that is still right (issued by a CA the phase keeps leaves of,
 * same names, not within `renewBeforeDays` of expiry) and issue the rest. Its output feeds
 * the model's Secrets; an unchanged cluster therefore gets byte-identical Secrets and no writes.
 */
import { isIP } from 'node:net';
import type { ResolvedSpec } from '../api/defaults.js';
import type { CommitLogCluster } from '../api/types.js';
import { issuedBy, notAfter, renewReason } from '../certs/check.js';
import { CertificateError, issueLeaf } from '../certs/pki.js';
import type { KubeClient } from '../kube/client.js';
import { RESOURCES } from '../kube/resources.js';
import type { Certificates, PemPair } from '../model/inputs.js';
import { clientDnsNames, namesOf, NODE_CN, OPERATOR_CN, podDnsNames } from '../model/names.js';
import { pairFrom, type CaDecision, type CaInputs, type PodsSettled, type SecretObj } from './ca-rotation.js';
import { decideGeneratedCa, decideUserCa } from './user-ca.js';

const DAY_MS = 86_400_000;

/** How far ahead a renewal is scheduled by a requeue; later ones are left to the informers' resync. */
export const RENEWAL_HORIZON_MS = 3_600_000;

/**
 * The requeue of a pass, brought forward to `renewAt` when a certificate enters its renewal
 * window within {@link RENEWAL_HORIZON_MS}: short-lived leaves are renewed on time, not at the
 * next resync. At least 1 s (a renewal due now is done by this requeue). Pure.
 */
export function requeueForRenewal(
  result: { readonly requeueAfterMs?: number },
  renewAt: Date | undefined,
  now: Date,
): { readonly requeueAfterMs?: number } {
  if (renewAt === undefined) return result;
  const due = Math.max(1000, renewAt.getTime() - now.getTime());
  if (due > RENEWAL_HORIZON_MS) return result;
  return { ...result, requeueAfterMs: Math.min(result.requeueAfterMs ?? Infinity, due) };
}

/** Outcome of the certificates step. */
export type CertificatesOutcome =
  | {
      readonly ok: true;
      readonly certificates: Certificates;
      readonly expiry: string;
      /**
       * When the first leaf enters its renewal window (`leafRenewBefore`). CAs are left to the
       * resync: a generated one is years from its window, a user-supplied one cannot be renewed here.
       */
      readonly renewAt: Date;
      readonly issued: readonly string[];
      /** The CA and its rotation this pass (ca-rotation.ts). */
      readonly ca: CaDecision;
    }
  | { readonly ok: false; readonly error: string };

/** The server certificate SANs of pod `ordinal`: peer names, client Service names, external host. */
export function serverNames(
  c: CommitLogCluster,
  ordinal: number,
  externalHost: string | undefined,
): { dnsNames: string[]; ipAddresses: string[] } {
  const dns = [
    ...podDnsNames(c.metadata.name, c.metadata.namespace, ordinal),
    ...clientDnsNames(c.metadata.name, c.metadata.namespace),
  ];
  const ips: string[] = [];
  if (externalHost) (isIP(externalHost) ? ips : dns).push(externalHost);
  return { dnsNames: dns, ipAddresses: ips };
}

/**
 * Runs the step for pods `0..pods-1`. `externalHosts` maps pod name → external host (no port);
 * `settled` says how far the pods are with the current pod template (for the CA rotation).
 */
export async function certificatesStep(
  client: KubeClient,
  c: CommitLogCluster,
  spec: ResolvedSpec,
  pods: number,
  externalHosts: Readonly<Record<string, string>>,
  now: Date,
  settled: PodsSettled,
): Promise<CertificatesOutcome> {
  const ns = c.metadata.namespace;
  const names = namesOf(c.metadata.name);
  const issued: string[] = [];
  // Leaves: spec.tls.leafValidity / leafRenewBefore when set, else the *Days fields (defaults.ts).
  const renewBeforeDays = spec.tls.leafRenewBeforeMs / DAY_MS;
  const serverSecret = await client.get<SecretObj>(RESOURCES.secret, ns, names.serverSecret);
  const userSecrets = new Map<string, SecretObj | undefined>();
  for (const u of spec.acl.users)
    userSecrets.set(u.name, await client.get<SecretObj>(RESOURCES.secret, ns, names.userSecret(u.name)));
  const opSecret = await client.get<SecretObj>(RESOURCES.secret, ns, names.operatorSecret);
  const existingServer = (pod: string) => pairFrom(serverSecret, `${pod}.crt`, `${pod}.key`);
  const existingUser = (u: string) => pairFrom(userSecrets.get(u), 'tls.crt', 'tls.key');
  const existingOperator = pairFrom(opSecret, 'tls.crt', 'tls.key');
  const liveLeaves = [
    ...Array.from({ length: pods }, (_, i) => existingServer(names.pod(i))),
    ...spec.acl.users.map((u) => existingUser(u.name)),
    existingOperator,
  ];
  try {
    const inputs: CaInputs = {
      client,
      cluster: c,
      spec,
      pods: settled,
      leavesIssuedBy: (caPem) => liveLeaves.every((l) => l !== undefined && issuedBy(l.certPem, caPem)),
      now,
    };
    const ca = spec.tls.caSecretName !== undefined ? await decideUserCa(inputs) : await decideGeneratedCa(inputs);
    if ('error' in ca) return { ok: false, error: ca.error };
    if (ca.created) issued.push(names.caSecret);
    const issuer = ca.issuer;
    const days = spec.tls.leafValidityMs / DAY_MS;
    const keepOrIssue = async (
      label: string,
      existing: PemPair | undefined,
      cn: string,
      dnsNames: string[],
      ipAddresses: string[],
      usage: 'server' | 'client',
    ): Promise<PemPair> => {
      const kept = ca.keep.some(
        (caCertPem) =>
          renewReason(existing, {
            caCertPem,
            commonName: cn,
            dnsNames,
            ipAddresses,
            now,
            renewBeforeDays,
            validityDays: days,
          }) === null,
      );
      if (kept && existing) return existing;
      if ('unavailable' in issuer) throw new CertificateError(`${label}: ${issuer.unavailable}`);
      issued.push(label);
      return issueLeaf(
        issuer,
        { commonName: cn, dnsNames, ipAddresses, usage, organization: c.metadata.name },
        now,
        days,
      );
    };

    const servers: Record<string, PemPair> = {};
    for (let i = 0; i < pods; i++) {
      const pod = names.pod(i);
      const san = serverNames(c, i, externalHosts[pod]);
      servers[pod] = await keepOrIssue(pod, existingServer(pod), NODE_CN, san.dnsNames, san.ipAddresses, 'server');
    }
    const users: Record<string, PemPair> = {};
    for (const u of spec.acl.users)
      users[u.name] = await keepOrIssue(`user ${u.name}`, existingUser(u.name), u.name, [], [], 'client');
    const operator = await keepOrIssue('operator', existingOperator, OPERATOR_CN, [], [], 'client');
    const expiries = [
      ...ca.caCerts,
      ...[operator, ...Object.values(servers), ...Object.values(users)].map((p) => p.certPem),
    ].map((pem) => notAfter(pem)?.getTime() ?? Infinity);
    const expiry = new Date(Math.min(...expiries)).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const leaves = [operator, ...Object.values(servers), ...Object.values(users)];
    const renewAt = new Date(
      Math.min(...leaves.map((l) => (notAfter(l.certPem)?.getTime() ?? Infinity) - spec.tls.leafRenewBeforeMs)),
    );
    return {
      ok: true,
      certificates: {
        caCertPem: ca.trustPem,
        ...(ca.store ? { caStore: ca.store } : {}),
        ...(ca.record ? { caRecord: ca.record } : {}),
        caRevision: ca.revision,
        servers,
        users,
        operator,
      },
      expiry,
      renewAt,
      issued,
      ca,
    };
  } catch (e) {
    if (e instanceof CertificateError) return { ok: false, error: e.message };
    throw e;
  }
}
