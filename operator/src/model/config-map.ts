/**
 * The ConfigMap of a cluster.
 *
 * `node.yaml` is the ONE `--config-file` of the cluster agent (`commitlog agent`; options in
 * node/src/agent/config.ts and node/src/agent/base-config.ts): flat kebab-case keys that are
 * exactly the agent's option names — it refuses unknown keys, and the node contract test
 * (node-contract.test.ts) runs the real agent on what this renders. The file is shared by
 * every pod, so what differs per pod comes from `COMMITLOG_*` environment variables the
 * StatefulSet sets from the downward API (node name, advertise addresses, the pod's own
 * certificate files; the environment takes precedence over the file), the bootstrap
 * permission names its one node (`bootstrap-node`: ordinal 0), the gossip key is a file
 * in the mounted gossip Secret (never in this ConfigMap) and the external address is this
 * pod's entry of `external.yaml`.
 *
 * `acl-model.conf`/`acl-policy.csv` are the Casbin files (re-read by the node when they
 * change); `external.yaml` maps pod → the external `host:port` the operator observed (read
 * by the node at start). The bootstrap flag only matters at a node's first start with an
 * empty disk, so it is left out of the pod template's config hash: flipping it restarts
 * nothing.
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

/** Gossip seeds: the first three pods' headless DNS names, whatever the replicas (see below). */
export const SEED_PODS = 3;

/** The agent's `--config-file` `node.yaml` (options shared by every pod). */
export function nodeConfig(c: CommitLogCluster, spec: ResolvedSpec, inputs: ModelInputs): Record<string, unknown> {
  const n = c.metadata.name;
  const names = namesOf(n);
  // Fixed seeds (not one per replica) keep the config hash stable while scaling; a seed
  // whose pod does not exist yet simply does not resolve (the agent re-resolves DNS on every
  // join attempt, and joining itself is harmless).
  const seeds = Array.from(
    { length: SEED_PODS },
    (_, i) => `${names.pod(i)}.${names.headlessService}.${c.metadata.namespace}.svc:${spec.ports.gossip}`,
  );
  const tls = spec.tls.enabled;
  return {
    'data-dir': PATHS.data,
    'bind-addr': `0.0.0.0:${spec.ports.gossip}`,
    'rpc-port': spec.ports.rpc,
    'http-port': spec.ports.http,
    'cluster-id': inputs.clusterId,
    // Bootstrap exactly once: allowed only until status.bootstrapped, only for ordinal 0,
    // and the agent bootstraps only with an empty data dir. A pod 0 that later loses its
    // disk gets `false` and joins through the seeds instead of starting a second cluster.
    bootstrap: inputs.bootstrap === Bootstrap.allowed,
    'bootstrap-node': names.pod(0),
    'start-join-addrs': seeds.join(','),
    'gossip-key-file': `${PATHS.gossip}/key`,
    'external-addr-file': `${PATHS.config}/external.yaml`,
    'segment-bytes': spec.log.segmentBytes,
    ...(spec.log.retentionBytes !== undefined ? { 'retention-bytes': spec.log.retentionBytes } : {}),
    ...(spec.log.retentionHours !== undefined ? { 'retention-hours': spec.log.retentionHours } : {}),
    ...(tls
      ? {
          'acl-model-file': `${PATHS.config}/acl-model.conf`,
          'acl-policy-file': `${PATHS.config}/acl-policy.csv`,
          'server-tls-ca-file': `${PATHS.tls}/ca.crt`,
          'peer-tls-ca-file': `${PATHS.tls}/ca.crt`,
        }
      : { insecure: true }),
  };
}

/** Hash of the configuration that needs a restart to take effect (all but the bootstrap flag). */
export function configHash(node: Record<string, unknown>): string {
  const stable = { node: { ...node, bootstrap: undefined } };
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
      'node.yaml': stringify(nodeConfig(c, spec, inputs), { lineWidth: 0 }),
      'acl-model.conf': ACL_MODEL,
      'acl-policy.csv': aclPolicy(spec),
      'external.yaml': stringify(external, { lineWidth: 0 }),
    },
  };
}
