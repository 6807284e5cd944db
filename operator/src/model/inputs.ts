/**
 * What the model needs besides the CommitLogCluster: results of effectful work done by the
 * reconcile (certificates, keys, observed addresses) and its decisions (replicas now,
 * bootstrap). Passing them in keeps the model pure and its output deterministic.
 */

/** A PEM certificate with its PEM private key. */
export interface PemPair {
  readonly certPem: string;
  readonly keyPem: string;
}

/**
 * What the operator's CA Secret `<name>-ca` holds: the CA leaves are issued by when no
 * rotation runs (the old one during a rotation), the CA being rotated to, the rotation's phase
 * (authoritative: Secrets are applied before anything else in a pass, so the phase recorded
 * is never behind the children), and the value of the force-renewal annotation last acted on.
 */
export interface CaStore {
  readonly current: PemPair;
  readonly next?: PemPair;
  /** A phase of certs/rotation.ts other than Idle; absent when no rotation runs. */
  readonly phase?: string;
  /** When `phase` began (RFC 3339 with milliseconds); absent when no rotation runs. */
  readonly phaseSince?: string;
  readonly renewHandled?: string;
}

/**
 * What the operator records of a user-supplied CA (Secret `<name>-ca-record`): the certificate
 * of the CA the leaves were issued under (`current`), during a rotation the certificate of the
 * CA the user put in their Secret (`next`), and the phase. Certificates only, never a key: the
 * user's CA key stays in the user's Secret. The record is what lets the old CA stay trusted
 * after the user replaced it, until the rotation ends.
 */
export interface UserCaRecord {
  readonly current: string;
  readonly next?: string;
  /** A phase of certs/rotation.ts other than Idle; absent when no rotation runs. */
  readonly phase?: string;
  /** When `phase` began (RFC 3339 with milliseconds); absent when no rotation runs. */
  readonly phaseSince?: string;
}

/** Certificates for a cluster with TLS enabled. */
export interface Certificates {
  /**
   * The trust bundle every party accepts (`ca.crt` of every Secret): one CA, or the old and
   * the new one while a rotation is in its first two phases (certs/rotation.ts).
   */
  readonly caCertPem: string;
  /** The operator's CA store `<name>-ca` (CA certificates and keys, rotation phase); absent in hand-made inputs. */
  readonly caStore?: CaStore;
  /** With a user-supplied CA: the operator's record of it (no keys); absent otherwise. */
  readonly caRecord?: UserCaRecord;
  /**
   * Names the trust bundle and the issuing CA (pod template annotation `commitlog.dev/ca`):
   * when it changes, the rolling update restarts every pod onto the new certificates.
   */
  readonly caRevision?: string;
  /** Server certificate of each pod, by pod name. */
  readonly servers: Readonly<Record<string, PemPair>>;
  /** Client certificate of each ACL user, by user name. */
  readonly users: Readonly<Record<string, PemPair>>;
  /** The operator's client certificate (CN commitlog-operator). */
  readonly operator: PemPair;
}

/** Whether the node config lets a node with empty state start a new cluster. */
export const Bootstrap = { allowed: 'allowed', forbidden: 'forbidden' } as const;
/** One of {@link Bootstrap}. */
export type Bootstrap = (typeof Bootstrap)[keyof typeof Bootstrap];

/** Inputs of {@link desiredObjects} besides the cluster. */
export interface ModelInputs {
  /** Cluster id recorded in status; nodes refuse to join a cluster with another id. */
  readonly clusterId: string;
  readonly bootstrap: Bootstrap;
  /** Replicas the StatefulSet should have now (scaling moves one member at a time). */
  readonly statefulSetReplicas: number;
  /** Present exactly when TLS is enabled. */
  readonly certificates?: Certificates;
  /** Base64 of the 32-byte gossip encryption key. */
  readonly gossipKey: string;
  /** External `host:port` of each pod whose external Service has an address, by pod name. */
  readonly externalAddresses: Readonly<Record<string, string>>;
  /**
   * Size in the StatefulSet's volume claim template: the live StatefulSet's (templates cannot
   * change; larger sizes are applied to each PVC), or `spec.storage.size` for a new one.
   */
  readonly volumeClaimSize?: string;
  /**
   * The `commitlog.dev/restart` value the pod template carries (a manual rolling restart):
   * the cluster's annotation, or the live template's once the annotation is removed
   * (reconcile/rollout.ts `restartValue`). Absent = no restart was ever asked for.
   */
  readonly restart?: string;
}
