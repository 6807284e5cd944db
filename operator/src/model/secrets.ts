/**
 * Secrets of a cluster, built from certificates and keys the reconcile generated: the
 * operator's CA store (the CA in use and, during a rotation, the next one) or, with a
 * user-supplied CA, the record of its certificates (so the old one stays trusted after the user
 * replaced it, until the rotation ends; no key), the server certificates of all pods (one Secret, files
 * `<pod>.crt`/`<pod>.key`, mounted in every pod), one client certificate Secret per ACL user
 * (`ca.crt`, `tls.crt`, `tls.key`: what a client needs), the operator's own client
 * certificate, and the gossip key.
 */
import type { V1Secret } from '@kubernetes/client-node';
import type { CommitLogCluster } from '../api/types.js';
import type { ModelInputs } from './inputs.js';
import { commonLabels, namesOf, ownerReference } from './names.js';

/** Data keys of the CA being rotated to in `<name>-ca` (next to `tls.crt`/`tls.key`, the current CA). */
export const CA_STORE_KEYS = { nextCert: 'next.crt', nextKey: 'next.key' } as const;

/** Data keys of `<name>-ca-record` (see `UserCaRecord` in inputs.ts). */
export const CA_RECORD_KEYS = { current: 'current.crt', next: 'next.crt' } as const;

/** Annotations on `<name>-ca` (and `phase`, `phaseSince` on `<name>-ca-record`) recording a rotation (see `CaStore` in inputs.ts). */
export const CA_STORE_ANNOTATIONS = {
  phase: 'commitlog.dev/ca-rotation-phase',
  /** When the phase began (RFC 3339 with milliseconds): the dwell of certs/rotation.ts counts from it. */
  phaseSince: 'commitlog.dev/ca-rotation-phase-since',
  renewHandled: 'commitlog.dev/renew-ca-handled',
} as const;

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

function secret(
  c: CommitLogCluster,
  name: string,
  component: string,
  type: string,
  data: Record<string, string>,
): V1Secret {
  const sorted = Object.fromEntries(
    Object.entries(data)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => [k, b64(v)]),
  );
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name,
      namespace: c.metadata.namespace,
      labels: commonLabels(c.metadata.name, component),
      ownerReferences: [ownerReference(c)],
    },
    type,
    data: sorted,
  };
}

/** Every Secret of the cluster for `inputs`. */
export function secrets(c: CommitLogCluster, inputs: ModelInputs): V1Secret[] {
  const names = namesOf(c.metadata.name);
  const out: V1Secret[] = [secret(c, names.gossipSecret, 'gossip', 'Opaque', { key: inputs.gossipKey })];
  const certs = inputs.certificates;
  if (!certs) return out;
  const ca = certs.caCertPem;
  const store = certs.caStore;
  if (store) {
    const ca = secret(c, names.caSecret, 'ca', 'kubernetes.io/tls', {
      'tls.crt': store.current.certPem,
      'tls.key': store.current.keyPem,
      ...(store.next
        ? { [CA_STORE_KEYS.nextCert]: store.next.certPem, [CA_STORE_KEYS.nextKey]: store.next.keyPem }
        : {}),
    });
    const annotations = {
      ...(store.phase !== undefined ? { [CA_STORE_ANNOTATIONS.phase]: store.phase } : {}),
      ...(store.phaseSince !== undefined ? { [CA_STORE_ANNOTATIONS.phaseSince]: store.phaseSince } : {}),
      ...(store.renewHandled !== undefined ? { [CA_STORE_ANNOTATIONS.renewHandled]: store.renewHandled } : {}),
    };
    out.push(Object.keys(annotations).length > 0 ? { ...ca, metadata: { ...ca.metadata, annotations } } : ca);
  }
  const record = certs.caRecord;
  if (record) {
    const r = secret(c, names.caRecordSecret, 'ca-record', 'Opaque', {
      [CA_RECORD_KEYS.current]: record.current,
      ...(record.next !== undefined ? { [CA_RECORD_KEYS.next]: record.next } : {}),
    });
    const annotations = {
      ...(record.phase !== undefined ? { [CA_STORE_ANNOTATIONS.phase]: record.phase } : {}),
      ...(record.phaseSince !== undefined ? { [CA_STORE_ANNOTATIONS.phaseSince]: record.phaseSince } : {}),
    };
    out.push(Object.keys(annotations).length > 0 ? { ...r, metadata: { ...r.metadata, annotations } } : r);
  }
  const serverFiles: Record<string, string> = { 'ca.crt': ca };
  for (const [pod, pair] of Object.entries(certs.servers)) {
    serverFiles[`${pod}.crt`] = pair.certPem;
    serverFiles[`${pod}.key`] = pair.keyPem;
  }
  out.push(secret(c, names.serverSecret, 'server-tls', 'Opaque', serverFiles));
  out.push(
    secret(c, names.operatorSecret, 'operator-tls', 'kubernetes.io/tls', {
      'ca.crt': ca,
      'tls.crt': certs.operator.certPem,
      'tls.key': certs.operator.keyPem,
    }),
  );
  for (const [user, pair] of Object.entries(certs.users).sort(([a], [b]) => a.localeCompare(b))) {
    out.push(
      secret(c, names.userSecret(user), 'client-tls', 'kubernetes.io/tls', {
        'ca.crt': ca,
        'tls.crt': pair.certPem,
        'tls.key': pair.keyPem,
      }),
    );
  }
  return out;
}
