/**
 * The operator's certificate authority: ECDSA P-256 keys from WebCrypto and X.509 from
 * @peculiar/x509, PEM in and out. (operator/ may not import node/, so this is the
 * operator's own small module; the node has its own in node/src/tls.)
 */
// @peculiar/x509 resolves its services through tsyringe, which needs Reflect metadata.
import 'reflect-metadata';
import { randomBytes, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import type { PemPair } from '../model/inputs.js';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const KEY_ALG = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGN_ALG = { name: 'ECDSA', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;
// Certificates start slightly in the past so a node whose clock lags still accepts them.
const SKEW_MS = 5 * 60_000;

/** Bad input to the certificate functions (a CA Secret that does not parse, …). */
export class CertificateError extends Error {
  readonly code = 'CERTIFICATE_INVALID';
  constructor(
    message: string,
    readonly context: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'CertificateError';
  }
}

type Key = webcrypto.CryptoKey;

function serial(): string {
  const b = randomBytes(16);
  b[0] = (b[0] ?? 0) & 0x7f; // positive INTEGER
  return b.toString('hex');
}

async function exportKey(key: Key): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

async function importKey(pem: string): Promise<Key> {
  try {
    return await webcrypto.subtle.importKey(
      'pkcs8',
      x509.PemConverter.decode(pem)[0] ?? new ArrayBuffer(0),
      KEY_ALG,
      true,
      ['sign'],
    );
  } catch (e) {
    throw new CertificateError(`the CA private key is not a PKCS#8 ECDSA P-256 key: ${(e as Error).message}`);
  }
}

/** Creates a self-signed CA valid for `days` from `now`. */
export async function createCa(commonName: string, now: Date, days: number): Promise<PemPair> {
  const keys = await webcrypto.subtle.generateKey(KEY_ALG, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${commonName}`,
    notBefore: new Date(now.getTime() - SKEW_MS),
    notAfter: new Date(now.getTime() + days * DAY_MS),
    signingAlgorithm: SIGN_ALG,
    keys: keys as never,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey as never),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: await exportKey(keys.privateKey) };
}

/** What a leaf certificate is for. */
export interface LeafRequest {
  readonly commonName: string;
  /** DNS SANs; server certificates must have at least one. */
  readonly dnsNames: readonly string[];
  /** IP SANs (external load balancer addresses). */
  readonly ipAddresses?: readonly string[];
  /** `server` certificates also allow client auth: nodes dial peers with them. */
  readonly usage: 'server' | 'client';
  readonly organization?: string;
}

/** Issues a leaf certificate signed by `ca`, valid for `days` from `now`. */
export async function issueLeaf(ca: PemPair, req: LeafRequest, now: Date, days: number): Promise<PemPair> {
  if (req.usage === 'server' && req.dnsNames.length === 0)
    throw new CertificateError('a server certificate needs at least one DNS name', { cn: req.commonName });
  let caCert: x509.X509Certificate;
  try {
    caCert = new x509.X509Certificate(ca.certPem);
  } catch (e) {
    throw new CertificateError(`the CA certificate does not parse: ${(e as Error).message}`);
  }
  const caKey = await importKey(ca.keyPem);
  const keys = await webcrypto.subtle.generateKey(KEY_ALG, true, ['sign', 'verify']);
  const eku =
    req.usage === 'server'
      ? [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]
      : [x509.ExtendedKeyUsage.clientAuth];
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
    new x509.ExtendedKeyUsageExtension(eku, false),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey as never),
    await x509.AuthorityKeyIdentifierExtension.create(caCert, false),
  ];
  const sans = [
    ...req.dnsNames.map((value) => ({ type: 'dns' as const, value })),
    ...(req.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value })),
  ];
  if (sans.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(sans));
  const subject = req.organization ? `CN=${req.commonName}, O=${req.organization}` : `CN=${req.commonName}`;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject,
    issuer: caCert.subject,
    notBefore: new Date(now.getTime() - SKEW_MS),
    notAfter: new Date(now.getTime() + days * DAY_MS),
    signingAlgorithm: SIGN_ALG,
    publicKey: keys.publicKey as never,
    signingKey: caKey as never,
    extensions,
  });
  return { certPem: cert.toString('pem'), keyPem: await exportKey(keys.privateKey) };
}

/** A fresh 32-byte gossip key, base64. */
export function gossipKey(): string {
  return randomBytes(32).toString('base64');
}
