/**
 * The certificates of a test control plane: one CA that signs the API server's serving
 * certificate and every client certificate, plus the service-account signing key pair.
 *
 * ECDSA P-256 throughout (what the project uses elsewhere); private keys are PKCS#8 PEM,
 * which kube-apiserver, kube-controller-manager and Go's crypto/tls all accept.
 */
// @peculiar/x509 resolves its services through tsyringe, which needs the Reflect metadata API.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type CryptoKeyPair = webcrypto.CryptoKeyPair;
type CryptoKey = webcrypto.CryptoKey;

const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const signingAlgorithm = { name: 'ECDSA', hash: 'SHA-256' } as const;
const dayMs = 24 * 60 * 60 * 1000;

/** A PEM certificate with its PEM (PKCS#8) private key. */
export interface CertAndKey {
  readonly certPem: string;
  readonly keyPem: string;
}

/** A certificate authority that can sign more certificates. */
export interface CertificateAuthority extends CertAndKey {
  readonly cert: x509.X509Certificate;
  readonly keys: CryptoKeyPair;
}

/** Identity of a client certificate: CN becomes the user name, O entries the groups. */
export interface ClientIdentity {
  readonly user: string;
  readonly groups?: readonly string[];
}

async function newKeys(): Promise<CryptoKeyPair> {
  return webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']) as Promise<CryptoKeyPair>;
}

async function privateKeyPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

async function publicKeyPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('spki', key);
  return x509.PemConverter.encode(der, 'PUBLIC KEY');
}

function validity(days: number): { notBefore: Date; notAfter: Date } {
  // Back-date by an hour so small clock differences between processes never matter.
  const now = Date.now();
  return { notBefore: new Date(now - 60 * 60 * 1000), notAfter: new Date(now + days * dayMs) };
}

/** Escapes a value for an RFC 4514 distinguished-name string. */
function dnValue(v: string): string {
  return v.replace(/([,+"\\<>;=])/g, '\\$1');
}

/** Creates a self-signed CA valid for `days` (default 7: a test run never lasts longer). */
export async function createCa(commonName: string, days = 7): Promise<CertificateAuthority> {
  const keys = await newKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: `CN=${dnValue(commonName)}`,
    keys,
    signingAlgorithm,
    ...validity(days),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert, keys, certPem: cert.toString('pem'), keyPem: await privateKeyPem(keys.privateKey) };
}

async function issue(
  ca: CertificateAuthority,
  subject: string,
  usage: 'server' | 'client',
  sans: { readonly dns: readonly string[]; readonly ips: readonly string[] },
  days: number,
): Promise<CertAndKey> {
  const keys = await newKeys();
  const names: x509.JsonGeneralNames = [
    ...sans.dns.map((value) => ({ type: 'dns' as const, value })),
    ...sans.ips.map((value) => ({ type: 'ip' as const, value })),
  ];
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
    new x509.ExtendedKeyUsageExtension([
      usage === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth,
    ]),
    await x509.AuthorityKeyIdentifierExtension.create(ca.keys.publicKey),
  ];
  if (names.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(names));
  const cert = await x509.X509CertificateGenerator.create({
    subject,
    issuer: ca.cert.subject,
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    signingAlgorithm,
    ...validity(days),
    extensions,
  });
  return { certPem: cert.toString('pem'), keyPem: await privateKeyPem(keys.privateKey) };
}

/** Issues the API server's serving certificate for the given host names and IPs. */
export function issueServingCert(
  ca: CertificateAuthority,
  sans: { readonly dns: readonly string[]; readonly ips: readonly string[] },
  days = 7,
): Promise<CertAndKey> {
  return issue(ca, 'CN=kube-apiserver', 'server', sans, days);
}

/**
 * Issues a client certificate. The API server maps CN to the user name and each O to a
 * group (Kubernetes x509 authentication), so `{ user: 'admin', groups: ['system:masters'] }`
 * is a cluster admin that RBAC never restricts.
 */
export function issueClientCert(ca: CertificateAuthority, id: ClientIdentity, days = 7): Promise<CertAndKey> {
  const parts = [`CN=${dnValue(id.user)}`, ...(id.groups ?? []).map((g) => `O=${dnValue(g)}`)];
  return issue(ca, parts.join(', '), 'client', { dns: [], ips: [] }, days);
}

/** Creates the key pair that signs and verifies service-account tokens. */
export async function createServiceAccountKeys(): Promise<{ readonly publicPem: string; readonly privatePem: string }> {
  const keys = await newKeys();
  return { publicPem: await publicKeyPem(keys.publicKey), privatePem: await privateKeyPem(keys.privateKey) };
}
