/**
 * Whether an existing certificate can be kept: parses, chains to the current CA, matches the
 * key, names what it must name, and does not expire within the renewal window.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import type { PemPair } from '../model/inputs.js';

/** Why a certificate must be (re)issued; `null` = keep it. */
export type RenewReason =
  'missing' | 'unparsable' | 'other-ca' | 'key-mismatch' | 'names-changed' | 'expiring' | 'validity-shortened' | null;

/** Slack over a configured lifetime before a certificate counts as issued for a longer one (the issuer back-dates notBefore). */
const LIFETIME_SLACK_MS = 10 * 60_000;

/** What a kept certificate must satisfy. */
export interface Expectation {
  readonly caCertPem: string;
  readonly commonName: string;
  readonly dnsNames: readonly string[];
  readonly ipAddresses?: readonly string[];
  readonly now: Date;
  readonly renewBeforeDays: number;
  /**
   * The lifetime certificates are issued for now, in days: one issued for clearly longer
   * (validity shortened since) is re-issued at once instead of at the end of its old lifetime.
   */
  readonly validityDays?: number;
}

function sans(cert: X509Certificate, prefix: 'DNS:' | 'IP Address:'): string[] {
  return (cert.subjectAltName ?? '')
    .split(', ')
    .filter((s) => s.startsWith(prefix))
    .map((s) => s.slice(prefix.length));
}

/** Decides whether `existing` can be kept under `want`. */
export function renewReason(existing: PemPair | undefined, want: Expectation): RenewReason {
  if (!existing) return 'missing';
  let cert: X509Certificate;
  let ca: X509Certificate;
  try {
    cert = new X509Certificate(existing.certPem);
    ca = new X509Certificate(want.caCertPem);
  } catch {
    return 'unparsable';
  }
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return 'other-ca';
  try {
    if (!cert.checkPrivateKey(createPrivateKey(existing.keyPem))) return 'key-mismatch';
  } catch {
    return 'unparsable';
  }
  const cn = /(?:^|\n)CN=([^\n]*)/.exec(cert.subject)?.[1];
  const names = sans(cert, 'DNS:').sort().join(',');
  const ips = sans(cert, 'IP Address:').sort().join(',');
  if (
    cn !== want.commonName ||
    names !== [...want.dnsNames].sort().join(',') ||
    ips !== [...(want.ipAddresses ?? [])].sort().join(',')
  )
    return 'names-changed';
  const validTo = new Date(cert.validTo).getTime();
  if (validTo - want.now.getTime() < want.renewBeforeDays * 86_400_000) return 'expiring';
  if (
    want.validityDays !== undefined &&
    validTo - new Date(cert.validFrom).getTime() > want.validityDays * 86_400_000 + LIFETIME_SLACK_MS
  )
    return 'validity-shortened';
  return null;
}

/** notAfter of a PEM certificate, or `undefined` when it does not parse. */
export function notAfter(certPem: string): Date | undefined {
  try {
    return new Date(new X509Certificate(certPem).validTo);
  } catch {
    return undefined;
  }
}

/** SHA-256 fingerprint of a PEM certificate (lowercase hex, no colons): how a rotation names a CA. */
export function fingerprint(certPem: string): string {
  return new X509Certificate(certPem).fingerprint256.replaceAll(':', '').toLowerCase();
}

/** Whether `certPem` was issued and signed by the CA `caPem` (false when either does not parse). */
export function issuedBy(certPem: string, caPem: string): boolean {
  try {
    const cert = new X509Certificate(certPem);
    const ca = new X509Certificate(caPem);
    return cert.checkIssued(ca) && cert.verify(ca.publicKey);
  } catch {
    return false;
  }
}
