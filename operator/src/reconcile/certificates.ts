/**
 * The certificates step: keep every certificate that is still right (same CA, same names,
 * not within `renewBeforeDays` of expiry) and issue the rest. Its output feeds the model's
 * Secrets; an unchanged cluster therefore gets byte-identical Secrets and no writes.
 */
import { isIP } from 'node:net';
import type { ResolvedSpec } from '../api/defaults.js';
import type { CommitLogCluster } from '../api/types.js';
import { notAfter, renewReason } from '../certs/check.js';
import { CertificateError, createCa, issueLeaf } from '../certs/pki.js';
import type { KubeClient, KubeObj } from '../kube/client.js';
import { RESOURCES } from '../kube/resources.js';
import type { Certificates, PemPair } from '../model/inputs.js';
import { clientDnsNames, namesOf, NODE_CN, OPERATOR_CN, podDnsNames } from '../model/names.js';

/** Outcome of the certificates step. */
export type CertificatesOutcome =
  | {
      readonly ok: true;
      readonly certificates: Certificates;
      readonly expiry: string;
      readonly issued: readonly string[];
    }
  | { readonly ok: false; readonly error: string };

interface SecretObj extends KubeObj {
  readonly data?: Readonly<Record<string, string>>;
}

const CA_DAYS = 3650;
const decode = (s: string | undefined): string | undefined =>
  s === undefined ? undefined : Buffer.from(s, 'base64').toString('utf8');

function pairFrom(secret: SecretObj | undefined, certKey: string, keyKey: string): PemPair | undefined {
  const certPem = decode(secret?.data?.[certKey]);
  const keyPem = decode(secret?.data?.[keyKey]);
  return certPem && keyPem ? { certPem, keyPem } : undefined;
}

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
 * Runs the step for pods `0..pods-1`. `externalHosts` maps pod name → external host (no port).
 */
export async function certificatesStep(
  client: KubeClient,
  c: CommitLogCluster,
  spec: ResolvedSpec,
  pods: number,
  externalHosts: Readonly<Record<string, string>>,
  now: Date,
): Promise<CertificatesOutcome> {
  const ns = c.metadata.namespace;
  const names = namesOf(c.metadata.name);
  const issued: string[] = [];
  const renewBeforeDays = spec.tls.renewBeforeDays;
  let ca: PemPair;
  let generatedCa: PemPair | undefined;
  if (spec.tls.caSecretName !== undefined) {
    const s = await client.get<SecretObj>(RESOURCES.secret, ns, spec.tls.caSecretName);
    const pair = pairFrom(s, 'tls.crt', 'tls.key');
    if (!pair)
      return { ok: false, error: `CA Secret ${spec.tls.caSecretName} not found or without tls.crt and tls.key` };
    ca = pair;
  } else {
    const existing = pairFrom(await client.get<SecretObj>(RESOURCES.secret, ns, names.caSecret), 'tls.crt', 'tls.key');
    const caExpiry = existing ? notAfter(existing.certPem) : undefined;
    if (existing && caExpiry && caExpiry.getTime() - now.getTime() > renewBeforeDays * 86_400_000) {
      ca = existing;
    } else {
      ca = await createCa(`commitlog ${ns}/${c.metadata.name} CA`, now, CA_DAYS);
      issued.push(names.caSecret);
    }
    generatedCa = ca;
  }

  const days = spec.tls.validityDays;
  const keepOrIssue = async (
    label: string,
    existing: PemPair | undefined,
    cn: string,
    dnsNames: string[],
    ipAddresses: string[],
    usage: 'server' | 'client',
  ): Promise<PemPair> => {
    const reason = renewReason(existing, {
      caCertPem: ca.certPem,
      commonName: cn,
      dnsNames,
      ipAddresses,
      now,
      renewBeforeDays,
    });
    if (reason === null && existing) return existing;
    issued.push(label);
    return issueLeaf(ca, { commonName: cn, dnsNames, ipAddresses, usage, organization: c.metadata.name }, now, days);
  };

  try {
    const serverSecret = await client.get<SecretObj>(RESOURCES.secret, ns, names.serverSecret);
    const servers: Record<string, PemPair> = {};
    for (let i = 0; i < pods; i++) {
      const pod = names.pod(i);
      const san = serverNames(c, i, externalHosts[pod]);
      servers[pod] = await keepOrIssue(
        pod,
        pairFrom(serverSecret, `${pod}.crt`, `${pod}.key`),
        NODE_CN,
        san.dnsNames,
        san.ipAddresses,
        'server',
      );
    }
    const users: Record<string, PemPair> = {};
    for (const u of spec.acl.users) {
      const s = await client.get<SecretObj>(RESOURCES.secret, ns, names.userSecret(u.name));
      users[u.name] = await keepOrIssue(`user ${u.name}`, pairFrom(s, 'tls.crt', 'tls.key'), u.name, [], [], 'client');
    }
    const opSecret = await client.get<SecretObj>(RESOURCES.secret, ns, names.operatorSecret);
    const operator = await keepOrIssue(
      'operator',
      pairFrom(opSecret, 'tls.crt', 'tls.key'),
      OPERATOR_CN,
      [],
      [],
      'client',
    );
    const expiries = [ca, operator, ...Object.values(servers), ...Object.values(users)].map(
      (p) => notAfter(p.certPem)?.getTime() ?? Infinity,
    );
    const expiry = new Date(Math.min(...expiries)).toISOString().replace(/\.\d{3}Z$/, 'Z');
    return {
      ok: true,
      certificates: { caCertPem: ca.certPem, ...(generatedCa ? { generatedCa } : {}), servers, users, operator },
      expiry,
      issued,
    };
  } catch (e) {
    if (e instanceof CertificateError) return { ok: false, error: e.message };
    throw e;
  }
}
