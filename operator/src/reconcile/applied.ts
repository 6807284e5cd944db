/**
 * "What did the operator last apply?" — every child carries the hash of the desired object
 * it was last applied from (annotation {@link APPLIED_HASH}). A pass applies a child when the
 * hash differs (the desired object changed: a field added, changed or *removed*) or when the
 * live object no longer contains the desired one (someone edited a field the operator owns).
 * Server-side apply then removes every field the operator's field manager owned but no longer
 * sets, so a field removed from the spec disappears from the child; an unchanged cluster
 * still gets no writes, because the hash and the contents both match.
 *
 * Why a hash and not the live object alone: "live contains desired" cannot see a removed
 * field (the live object still has it, and containing more is allowed, since the API server
 * adds defaults), and comparing managed fields would mean reimplementing structured-merge-diff.
 */
import { createHash } from 'node:crypto';
import type { KubeObject } from '../model/index.js';
import { contains } from './compare.js';

/** Annotation holding the sha256 of the desired object the child was last applied from. */
export const APPLIED_HASH = 'commitlog.dev/applied-hash';

/** JSON with object keys sorted, so equal objects hash equally whatever their key order. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (typeof v === 'object' && v !== null) {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/** The hash of a desired object (base64url sha256 of its canonical JSON). */
export function desiredHash(o: KubeObject): string {
  return createHash('sha256').update(canonicalJson(o)).digest('base64url');
}

interface Annotated {
  readonly metadata?: { readonly annotations?: Readonly<Record<string, string>> };
}

/** `o` with the {@link APPLIED_HASH} annotation of its own hash added: what gets applied. */
export function stamped(o: KubeObject): KubeObject {
  const meta = (o.metadata ?? {}) as { readonly annotations?: Readonly<Record<string, string>> };
  return {
    ...o,
    metadata: { ...meta, annotations: { ...(meta.annotations ?? {}), [APPLIED_HASH]: desiredHash(o) } },
  } as KubeObject;
}

/** Why `desired` must be applied over `live`, or undefined when the live child is up to date. */
export function applyReason(live: unknown, desired: KubeObject): 'created' | 'spec-changed' | 'drifted' | undefined {
  if (live === undefined) return 'created';
  if ((live as Annotated).metadata?.annotations?.[APPLIED_HASH] !== desiredHash(desired)) return 'spec-changed';
  return contains(live, desired) ? undefined : 'drifted';
}
