/**
 * The ConfigMap of a cluster.
 *
 * `node.yaml` is the `--config-file` of `commitlog agent` (node/src/cli/agent-config.ts):
 * flat kebab-case keys the agent validates (unknown keys are refused). Pod-specific values
 * (node name, advertise address, the pod's own certificate files) come from `COMMITLOG_*`
 * environment variables set in the StatefulSet, which take precedence over the file.
 *
 * `cluster.yaml` holds the clustered settings the agent does not accept yet (cluster id,
 * the one-time bootstrap permission, gossip seeds and key, log tuning, external address
 * file): the contract for the clustered agent, written now so the operator's bootstrap
 * rule is in place when the agent reads it.
 *
 * `acl-model.conf`/`acl-policy.csv` are the Casbin files; `external.yaml` maps pod → the
 * external `host:port` the operator observed. Files other than `node.yaml`/`cluster.yaml`
 * are re-read by the node when they change, and the bootstrap flag is read only at first
 * start, so only the rest feeds the pod template's config hash.
 */
import { createHash } from 'node:crypto';
import type { V1ConfigMap } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import type { ResolvedSpec } from '../api/defaults.js';
import type { CommitLogCluster } from '../api/types.js';
import { Bootstrap, type ModelInputs } from './inputs.js';
import { commonLabels, namesOf, NODE_CN, OPERATOR_CN, ownerReference, PATHS } from './names.js';

/**
 * Casbin model: subject = client certificate CN, object `*` (the whole log), action
 * produce|consume|admin — the node's model (node/config/acl/model.conf, the book's shape).
 */
export const ACL_MODEL = `[request_definition]
r = sub, obj, act

[policy_definition]
p = sub, obj, act

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = r.sub == p.sub && r.obj == p.obj && r.act == p.act
`;

/** Casbin policy lines of a spec: its rules, plus the operator (admin) and the nodes (forwarding). */
export function aclPolicy(spec: ResolvedSpec): string {
  const lines = spec.acl.rules.flatMap((r) => r.actions.map((a) => `p, ${r.user}, *, ${a}`));
  lines.push(`p, ${OPERATOR_CN}, *, admin`, `p, ${NODE_CN}, *, produce`, `p, ${NODE_CN}, *, consume`);
  return lines.join('\n') + '\n';
}

/** The agent's `--config-file` (options shared by every pod). */
export function nodeConfig(spec: ResolvedSpec): Record<string, unknown> {
  const tls = spec.tls.enabled;
  return {
    'data-dir': PATHS.data,
    'bind-addr': `0.0.0.0:${spec.ports.gossip}`,
    'rpc-port': spec.ports.rpc,
    'http-port': spec.ports.http,
    ...(tls ? {
      'acl-model-file': `${PATHS.config}/acl-model.conf`,
      'acl-policy-file': `${PATHS.config}/acl-policy.csv`,
      'server-tls-ca-file': `${PATHS.tls}/ca.crt`,
      'peer-tls-ca-file': `${PATHS.tls}/ca.crt`,
    } : { insecure: true }),
  };
}

/** Clustered settings (see the file comment): `bootstrap` allows node 0 to start a new cluster. */
export function clusterConfig(c: CommitLogCluster, spec: ResolvedSpec, inputs: ModelInputs): Record<string, unknown> {
  const n = c.metadata.name;
  const ns = c.metadata.namespace;
  const names = namesOf(n);
  const seeds = Array.from({ length: Math.max(1, Math.min(3, spec.replicas)) }, (_, i) =>
    `${names.pod(i)}.${names.headlessService}.${ns}.svc:${spec.ports.gossip}`);
  return {
    'cluster-name': n,
    'cluster-id': inputs.clusterId,
    bootstrap: inputs.bootstrap === Bootstrap.allowed,
    'bootstrap-node': names.pod(0),
    'start-join-addrs': seeds,
    'gossip-key-file': `${PATHS.gossip}/key`,
    'external-addresses-file': `${PATHS.config}/external.yaml`,
    'segment-bytes': spec.log.segmentBytes,
    ...(spec.log.retentionBytes !== undefined ? { 'retention-bytes': spec.log.retentionBytes } : {}),
    ...(spec.log.retentionHours !== undefined ? { 'retention-hours': spec.log.retentionHours } : {}),
    fsync: spec.log.fsync,
  };
}

/** Hash of the configuration that needs a restart to take effect (all but the bootstrap flag). */
export function configHash(node: Record<string, unknown>, cluster: Record<string, unknown>): string {
  const stable = { node, cluster: { ...cluster, bootstrap: undefined } };
  return createHash('sha256').update(JSON.stringify(stable)).digest('hex').slice(0, 16);
}

/** The ConfigMap `<name>-config`. */
export function configMap(c: CommitLogCluster, spec: ResolvedSpec, inputs: ModelInputs): V1ConfigMap {
  const external = Object.fromEntries(Object.entries(inputs.externalAddresses).sort(([a], [b]) => a.localeCompare(b)));
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: namesOf(c.metadata.name).configMap,
      namespace: c.metadata.namespace,
      labels: commonLabels(c.metadata.name, 'config'),
      ownerReferences: [ownerReference(c)],
    },
    data: {
      'node.yaml': stringify(nodeConfig(spec), { lineWidth: 0 }),
      'cluster.yaml': stringify(clusterConfig(c, spec, inputs), { lineWidth: 0 }),
      'acl-model.conf': ACL_MODEL,
      'acl-policy.csv': aclPolicy(spec),
      'external.yaml': stringify(external, { lineWidth: 0 }),
    },
  };
}
