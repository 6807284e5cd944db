/**
 * Validation of a CommitLogCluster beyond what the CRD schema and CEL rules check (and again
 * for what they check, so objects that bypassed them — older CRD versions, fakes — are safe).
 * Every message is the exact text a user sees in the `Ready` condition and in an Event.
 */
import { resolveSpec, type ResolvedSpec } from '../api/defaults.js';
import { RULES } from '../api/schema.js';
import { parseDuration } from '../api/duration.js';
import type { CommitLogCluster, TlsSpec } from '../api/types.js';
import { parseQuantity } from './quantity.js';

/** Outcome of {@link validateCluster}: the resolved spec, or every problem found. */
export type Validation =
  { readonly ok: true; readonly spec: ResolvedSpec } | { readonly ok: false; readonly errors: readonly string[] };

const DNS_1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const IMAGE = /^[^\s]+$/;

function isCidr(s: string): boolean {
  const [addr, bits, extra] = s.split('/');
  if (addr === undefined || bits === undefined || extra !== undefined || !/^\d{1,3}$/.test(bits)) return false;
  const n = Number(bits);
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(addr)) return n <= 32 && addr.split('.').every((o) => Number(o) <= 255);
  if (addr.includes(':') && /^[0-9a-fA-F:.]+$/.test(addr)) return n <= 128;
  return false;
}

const MIN = 60_000;

/** The problems of `spec.tls.leafValidity` / `leafRenewBefore` (the CRD's rules, again). */
function leafDurationErrors(tls: TlsSpec): string[] {
  const { leafValidity: v, leafRenewBefore: r } = tls;
  if (v === undefined && r === undefined) return [];
  if (v === undefined || r === undefined) return [RULES.leafTogether];
  const validity = parseDuration(v);
  const renew = parseDuration(r);
  const errors: string[] = [];
  if (validity === undefined || validity < 10 * MIN || validity > 87_600 * 60 * MIN)
    errors.push(`${RULES.leafValidityMin} (got "${v}")`);
  if (renew === undefined || renew < 5 * MIN) errors.push(`${RULES.leafRenewBeforeMin} (got "${r}")`);
  if (validity !== undefined && renew !== undefined && renew >= validity) errors.push(RULES.leafRenewBeforeValidity);
  return errors;
}

/** Checks `c` and resolves its defaults. Pure. */
export function validateCluster(c: CommitLogCluster): Validation {
  const errors: string[] = [];
  const name = c.metadata.name;
  const spec = resolveSpec(c.spec);
  if (name.length > 40) errors.push(RULES.nameLength);
  if (!DNS_1035.test(name))
    errors.push(
      `metadata.name "${name}" must start with a letter and contain only lowercase letters, digits and '-': Service names are derived from it`,
    );
  if (!Number.isInteger(spec.replicas) || spec.replicas < 1) errors.push(RULES.replicasMin);
  if (spec.replicas > 15) errors.push(RULES.replicasMax);
  if (!IMAGE.test(spec.image)) errors.push(`spec.image "${spec.image}" is not a valid image reference`);

  const size = parseQuantity(spec.storage.size);
  if (size === undefined || size <= 0)
    errors.push(`spec.storage.size "${spec.storage.size}" is not a positive quantity (examples: 1Gi, 500Mi)`);
  for (const kind of ['requests', 'limits'] as const) {
    for (const [res, q] of Object.entries(spec.resources[kind] ?? {})) {
      if (parseQuantity(q) === undefined)
        errors.push(`spec.resources.${kind}.${res} "${q}" is not a quantity (examples: 500m, 1, 256Mi)`);
    }
  }
  for (const [res, req] of Object.entries(spec.resources.requests ?? {})) {
    const lim = spec.resources.limits?.[res];
    const r = parseQuantity(req);
    const l = lim === undefined ? undefined : parseQuantity(lim);
    if (r !== undefined && l !== undefined && r > l)
      errors.push(`spec.resources.requests.${res} (${req}) exceeds spec.resources.limits.${res} (${lim})`);
  }

  const { rpc, gossip, http } = spec.ports;
  if (rpc === gossip || rpc === http || gossip === http) errors.push(RULES.portsDistinct);
  if (spec.tls.renewBeforeDays >= spec.tls.validityDays) errors.push(RULES.renewBeforeValidity);
  errors.push(...leafDurationErrors(c.spec.tls ?? {}));
  if (!spec.tls.enabled) errors.push(RULES.tlsRequired);

  const users = new Set<string>();
  for (const u of spec.acl.users) {
    if (u.name === 'commitlog-operator') errors.push(RULES.aclReservedUser);
    if (users.has(u.name)) errors.push(`spec.acl.users lists "${u.name}" twice`);
    users.add(u.name);
  }
  for (const r of spec.acl.rules) {
    if (!users.has(r.user)) {
      errors.push(RULES.aclRuleUser);
      break;
    }
  }

  if (spec.external.type !== 'LoadBalancer' && spec.external.loadBalancerSourceRanges.length > 0)
    errors.push(RULES.sourceRangesNeedLb);
  spec.external.loadBalancerSourceRanges.forEach((r, i) => {
    if (!isCidr(r))
      errors.push(`spec.external.loadBalancerSourceRanges[${i}] "${r}" is not a CIDR (example: 203.0.113.0/24)`);
  });

  if (spec.log.segmentBytes < 1024) errors.push(RULES.segmentMin);
  if (spec.log.retentionBytes !== undefined && spec.log.retentionBytes < spec.log.segmentBytes) {
    errors.push('spec.log.retentionBytes must be at least spec.log.segmentBytes: retention deletes whole segments');
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, spec };
}
