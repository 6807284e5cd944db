/**
 * The ConfigMap of a cluster: the node configuration (`node.yaml`), the Casbin ACL model and
 * policy, and the external addresses the operator observed (`external.yaml`).
 *
 * Contract with the node (`commitlog agent --config /etc/commitlog/config/node.yaml
 * --node-id $(POD_NAME)`): every path is absolute; `{nodeId}` in a path is replaced by the
 * node id. `bootstrap.allowed` is read only at start with empty state. Files are re-read
 * when they change (ACL policy, external addresses), so only `node.yaml` minus the bootstrap
 * block feeds the pod template's config hash.
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

/** The node configuration document (without the pod-specific id, which comes from args). */
export function nodeConfig(c: CommitLogCluster, spec: ResolvedSpec, inputs: ModelInputs): Record<string, unknown> {
  const n = c.metadata.name;
  const ns = c.metadata.namespace;
  const names = namesOf(n);
  const seeds = Array.from({ length: Math.max(1, Math.min(3, spec.replicas)) }, (_, i) =>
    `${names.pod(i)}.${names.headlessService}.${ns}.svc:${spec.ports.gossip}`);
  return {
    cluster: {
      name: n,
      id: inputs.clusterId,
      bootstrap: { allowed: inputs.bootstrap === Bootstrap.allowed, nodeId: names.pod(0) },
    },
    dataDir: PATHS.data,
    rpc: { port: spec.ports.rpc, advertiseHost: `{nodeId}.${names.headlessService}.${ns}.svc` },
    gossip: { port: spec.ports.gossip, seeds, keyFile: `${PATHS.gossip}/key` },
    http: { port: spec.ports.http },
    tls: spec.tls.enabled
      ? { enabled: true, caFile: `${PATHS.tls}/ca.crt`, certFile: `${PATHS.tls}/{nodeId}.crt`, keyFile: `${PATHS.tls}/{nodeId}.key` }
      : { enabled: false },
    acl: spec.tls.enabled
      ? { modelFile: `${PATHS.config}/acl-model.conf`, policyFile: `${PATHS.config}/acl-policy.csv` }
      : null,
    externalAddressesFile: `${PATHS.config}/external.yaml`,
    log: {
      segmentBytes: spec.log.segmentBytes,
      retentionBytes: spec.log.retentionBytes ?? null,
      retentionHours: spec.log.retentionHours ?? null,
      fsync: spec.log.fsync,
    },
  };
}

/** Hash of the configuration that needs a restart to take effect (everything but bootstrap). */
export function configHash(config: Record<string, unknown>): string {
  const cluster = config.cluster as Record<string, unknown>;
  const stable = { ...config, cluster: { ...cluster, bootstrap: undefined } };
  return createHash('sha256').update(JSON.stringify(stable)).digest('hex').slice(0, 16);
}

/** The ConfigMap `<name>-config`. */
export function configMap(c: CommitLogCluster, spec: ResolvedSpec, inputs: ModelInputs, config: Record<string, unknown>): V1ConfigMap {
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
      'node.yaml': stringify(config, { lineWidth: 0 }),
      'acl-model.conf': ACL_MODEL,
      'acl-policy.csv': aclPolicy(spec),
      'external.yaml': stringify(external, { lineWidth: 0 }),
    },
  };
}
