/**
 * Certificate authority and leaf certificates without cfssl: ECDSA P-256 keys from
 * WebCrypto, X.509 from @peculiar/x509, PEM in and out. The operator, the tests and
 * `commitlog certs` all use these functions.
 */
// @peculiar/x509 resolves its services through tsyringe, which needs a Reflect polyfill
// loaded before it.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const keyAlgorithm = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const signingAlgorithm = { name: 'ECDSA', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;

/** A certificate and its private key, both PEM (the key is PKCS#8 "PRIVATE KEY"). */
export interface PemPair {
  readonly certPem: string;
  readonly keyPem: string;
}

/**
 * Validity of a new certificate. Defaults: notBefore = now − 5 minutes (clock skew),
 * notAfter = notBefore + validDays (CA 3650 days, leaves 365 days).
 */
export interface ValidityOptions {
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  readonly validDays?: number;
}

/** Options of {@link createCA}. */
export interface CaOptions extends ValidityOptions {
  /** Subject CN; default "commitlog CA". */
  readonly commonName?: string;
  readonly organization?: string;
}

/** Options of {@link issueServerCert}. At least one DNS name or IP is required. */
export interface ServerCertOptions extends ValidityOptions {
  /** Subject CN (also the ACL subject when a server dials a peer); default the first SAN. */
  readonly commonName?: string;
  readonly dnsNames?: readonly string[];
  readonly ipAddresses?: readonly string[];
}

/** Options of {@link issueClientCert}. */
export interface ClientCertOptions extends ValidityOptions {
  /** Subject CN: the ACL subject of this client (e.g. "root"). */
  readonly commonName: string;
}

/** Thrown when certificate options are invalid. */
export class CertificateOptionsError extends Error {
  readonly code = 'CERT_OPTIONS';
  constructor(message: string) {
    super(message);
    this.name = 'CertificateOptionsError';
  }
}

function validity(opts: ValidityOptions, defaultDays: number): { notBefore: Date; notAfter: Date } {
  const notBefore = opts.notBefore ?? new Date(Date.now() - 5 * 60_000);
  const notAfter = opts.notAfter ?? new Date(notBefore.getTime() + (opts.validDays ?? defaultDays) * DAY_MS);
  if (notAfter.getTime() <= notBefore.getTime()) {
    throw new CertificateOptionsError(
      `notAfter (${notAfter.toISOString()}) must be after notBefore (${notBefore.toISOString()})`,
    );
  }
  return { notBefore, notAfter };
}

function serial(): string {
  // Positive 128-bit serial (RFC 5280 §4.1.2.2 allows up to 20 octets; high bit clear).
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return Buffer.from(bytes).toString('hex');
}

async function generateKeys(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(keyAlgorithm, true, ['sign', 'verify'])) as CryptoKeyPair;
}

async function keyToPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

async function importSigningKey(keyPem: string): Promise<CryptoKey> {
  const der = x509.PemConverter.decodeFirst(keyPem);
  return webcrypto.subtle.importKey('pkcs8', der, keyAlgorithm, false, ['sign']);
}

function name(commonName: string, organization?: string): x509.JsonName {
  const attrs: Record<string, string[]> = { CN: [commonName] };
  if (organization) attrs.O = [organization];
  return [attrs];
}

/** Creates a self-signed CA (basicConstraints CA:true, keyCertSign + cRLSign). */
export async function createCA(opts: CaOptions = {}): Promise<PemPair> {
  const keys = await generateKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: name(opts.commonName ?? 'commitlog CA', opts.organization),
    keys,
    signingAlgorithm,
    ...validity(opts, 3650),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: await keyToPem(keys.privateKey) };
}

async function issue(
  ca: PemPair,
  subject: x509.JsonName,
  usages: readonly string[],
  sans: x509.JsonGeneralNames,
  opts: ValidityOptions,
): Promise<PemPair> {
  const caCert = new x509.X509Certificate(ca.certPem);
  const keys = await generateKeys();
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([...usages], false),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey),
  ];
  if (sans.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(sans, false));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject,
    issuer: caCert.subject,
    publicKey: keys.publicKey,
    signingKey: await importSigningKey(ca.keyPem),
    signingAlgorithm,
    ...validity(opts, 365),
    extensions,
  });
  return { certPem: cert.toString('pem'), keyPem: await keyToPem(keys.privateKey) };
}

/**
 * Issues a server certificate signed by `ca`, with DNS and IP SANs. Extended key usage is
 * serverAuth and clientAuth, because nodes also dial each other with the same identity.
 */
export async function issueServerCert(ca: PemPair, opts: ServerCertOptions): Promise<PemPair> {
  const dns = opts.dnsNames ?? [];
  const ips = opts.ipAddresses ?? [];
  const first = dns[0] ?? ips[0];
  if (first === undefined)
    throw new CertificateOptionsError('a server certificate needs at least one DNS name or IP address');
  const sans: x509.JsonGeneralNames = [
    ...dns.map((value) => ({ type: 'dns' as const, value })),
    ...ips.map((value) => ({ type: 'ip' as const, value })),
  ];
  return issue(
    ca,
    name(opts.commonName ?? first),
    [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth],
    sans,
    opts,
  );
}

/** Issues a client certificate signed by `ca` whose subject CN is the ACL subject. */
export async function issueClientCert(ca: PemPair, opts: ClientCertOptions): Promise<PemPair> {
  if (!opts.commonName) throw new CertificateOptionsError('a client certificate needs a common name (the ACL subject)');
  return issue(ca, name(opts.commonName), [x509.ExtendedKeyUsage.clientAuth], [], opts);
}

/** What a certificate says, for tests, logs and the operator's renewal decisions. */
export interface CertificateInfo {
  readonly commonName: string;
  readonly issuer: string;
  readonly serialNumber: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
  readonly isCA: boolean;
}

/** Parses the first certificate of a PEM string. */
export function certificateInfo(certPem: string): CertificateInfo {
  const cert = new x509.X509Certificate(certPem);
  const cn = cert.subjectName.getField('CN')[0] ?? '';
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  const names = san?.names.toJSON() ?? [];
  const basic = cert.getExtension(x509.BasicConstraintsExtension);
  return {
    commonName: cn,
    issuer: cert.issuer,
    serialNumber: cert.serialNumber,
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    dnsNames: names.filter((n) => n.type === 'dns').map((n) => n.value),
    ipAddresses: names.filter((n) => n.type === 'ip').map((n) => n.value),
    isCA: basic?.ca ?? false,
  };
}
