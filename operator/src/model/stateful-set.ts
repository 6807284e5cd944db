/**
 * The StatefulSet of the node pods.
 *
 * Probes are the kubelet's native gRPC probes (`grpc.health.v1`). The kubelet speaks
 * plaintext HTTP/2 to them, so the node must answer health checks — and only health checks —
 * on connections to the RPC port that start with the HTTP/2 preface instead of a TLS
 * ClientHello (its port demultiplexer already tells Raft's 0x01 from TLS by the first byte).
 * Readiness asks for service `log.v1.Log` (serving = caught-up voter); liveness for the
 * server as a whole.
 */
import type { V1Affinity, V1StatefulSet, V1Toleration } from '@kubernetes/client-node';
import type { ResolvedSpec } from '../api/defaults.js';
import type { CommitLogCluster } from '../api/types.js';
import { commonLabels, namesOf, ownerReference, PATHS, selectorLabels } from './names.js';

/** Pod template annotation naming the trust bundle and issuing CA the pods run with. */
export const CA_REVISION_ANNOTATION = 'commitlog.dev/ca';

/**
 * Pod template annotation holding the value of the cluster's `commitlog.dev/restart` the pods
 * were last restarted for (api/types.ts `ANNOTATIONS.restart`): a new value is a new pod
 * template, which the rolling update rolls out.
 */
export const RESTART_ANNOTATION = 'commitlog.dev/restart';

/** UID/GID of the node process in the node image. */
export const NODE_UID = 65532;

function defaultAffinity(n: string): V1Affinity {
  // Preferred, not required: a 5-member cluster on a 3-node kind cluster must still schedule.
  return {
    podAntiAffinity: {
      preferredDuringSchedulingIgnoredDuringExecution: [
        {
          weight: 100,
          podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: selectorLabels(n) } },
        },
      ],
    },
  };
}

/** What the StatefulSet carries besides the spec: decisions and observations of the reconcile (ModelInputs). */
export interface StatefulSetInputs {
  /** Pods the StatefulSet runs now (scaling moves one member at a time). */
  readonly replicas: number;
  /** Hash of the node config (pod template annotation `commitlog.dev/config-hash`): a new config rolls the pods. */
  readonly configHash: string;
  /** Size in the volume claim template; default `spec.storage.size` (templates cannot change once created). */
  readonly claimSize?: string;
  /**
   * Trust bundle and issuing CA (pod template annotation {@link CA_REVISION_ANNOTATION}), so each
   * phase of a CA rotation rolls the pods through the operator's rolling update.
   */
  readonly caRevision?: string;
  /** The restart value the pods run for ({@link RESTART_ANNOTATION}); absent until one was asked for. */
  readonly restart?: string;
}

/**
 * The StatefulSet `<name>`: its pods as the spec says, with what `inputs` decided (replicas,
 * config hash, claim size, CA revision, restart value) in the pod template.
 */
export function statefulSet(c: CommitLogCluster, spec: ResolvedSpec, inputs: StatefulSetInputs): V1StatefulSet {
  const { replicas, configHash, claimSize = spec.storage.size, caRevision, restart } = inputs;
  const n = c.metadata.name;
  const names = namesOf(n);
  const pod = spec.pod;
  const grpcProbe = (service: string | undefined, period: number, failures: number) => ({
    grpc: { port: spec.ports.rpc, ...(service !== undefined ? { service } : {}) },
    periodSeconds: period,
    failureThreshold: failures,
    timeoutSeconds: 3,
  });
  const volumes = [
    // The root filesystem is read-only; the node (and Node.js) may still need a scratch /tmp.
    { name: 'tmp', emptyDir: {} },
    { name: 'config', configMap: { name: names.configMap } },
    { name: 'gossip', secret: { secretName: names.gossipSecret, defaultMode: 0o440 } },
    ...(spec.tls.enabled ? [{ name: 'tls', secret: { secretName: names.serverSecret, defaultMode: 0o440 } }] : []),
  ];
  const mounts = [
    { name: 'data', mountPath: PATHS.data },
    { name: 'tmp', mountPath: '/tmp' },
    { name: 'config', mountPath: PATHS.config, readOnly: true },
    { name: 'gossip', mountPath: PATHS.gossip, readOnly: true },
    ...(spec.tls.enabled ? [{ name: 'tls', mountPath: PATHS.tls, readOnly: true }] : []),
  ];
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: {
      name: names.statefulSet,
      namespace: c.metadata.namespace,
      labels: commonLabels(n, 'node'),
      ownerReferences: [ownerReference(c)],
    },
    spec: {
      replicas,
      serviceName: names.headlessService,
      // Raft membership, not pod order, decides who may serve; the operator alone decides how
      // many pods exist (one step at a time), so pods start and stop in parallel.
      podManagementPolicy: 'Parallel',
      // The operator rolls pods itself (reconcile/rollout.ts): one at a time, only while every
      // member is ready, followers first and the Raft leader last.
      updateStrategy: { type: 'OnDelete' },
      selector: { matchLabels: selectorLabels(n) },
      persistentVolumeClaimRetentionPolicy: {
        whenScaled: spec.storage.whenScaled,
        whenDeleted: spec.storage.whenDeleted,
      },
      template: {
        metadata: {
          labels: { ...(pod.labels ?? {}), ...commonLabels(n, 'node') },
          annotations: {
            ...(pod.annotations ?? {}),
            'commitlog.dev/config-hash': configHash,
            ...(caRevision !== undefined ? { [CA_REVISION_ANNOTATION]: caRevision } : {}),
            ...(restart !== undefined ? { [RESTART_ANNOTATION]: restart } : {}),
          },
        },
        spec: {
          // SIGTERM makes a leader hand leadership over before it stops.
          terminationGracePeriodSeconds: 60,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: NODE_UID,
            runAsGroup: NODE_UID,
            fsGroup: NODE_UID,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          affinity: (pod.affinity as V1Affinity | undefined) ?? defaultAffinity(n),
          ...(pod.nodeSelector ? { nodeSelector: { ...pod.nodeSelector } } : {}),
          ...(pod.tolerations ? { tolerations: pod.tolerations as unknown as V1Toleration[] } : {}),
          ...(pod.priorityClassName ? { priorityClassName: pod.priorityClassName } : {}),
          enableServiceLinks: false,
          // The node never calls the Kubernetes API: no service account token in its file system.
          automountServiceAccountToken: false,
          containers: [
            {
              name: 'node',
              image: spec.image,
              imagePullPolicy: spec.imagePullPolicy,
              args: ['agent', '--config-file', `${PATHS.config}/node.yaml`],
              // Pod-specific agent options: the environment overrides the shared config file,
              // and Kubernetes expands $(POD_NAME) in values.
              env: [
                { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
                { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
                { name: 'COMMITLOG_NODE_NAME', value: '$(POD_NAME)' },
                {
                  name: 'COMMITLOG_ADVERTISE_ADDR',
                  value: `$(POD_NAME).${names.headlessService}.$(POD_NAMESPACE).svc:${spec.ports.rpc}`,
                },
                // Gossip carries addresses in packets: peers dial the pod IP, not a DNS name.
                { name: 'COMMITLOG_GOSSIP_ADVERTISE_ADDR', value: `$(POD_IP):${spec.ports.gossip}` },
                ...(spec.tls.enabled
                  ? [
                      { name: 'COMMITLOG_SERVER_TLS_CERT_FILE', value: `${PATHS.tls}/$(POD_NAME).crt` },
                      { name: 'COMMITLOG_SERVER_TLS_KEY_FILE', value: `${PATHS.tls}/$(POD_NAME).key` },
                      { name: 'COMMITLOG_PEER_TLS_CERT_FILE', value: `${PATHS.tls}/$(POD_NAME).crt` },
                      { name: 'COMMITLOG_PEER_TLS_KEY_FILE', value: `${PATHS.tls}/$(POD_NAME).key` },
                    ]
                  : []),
              ],
              ports: [
                { name: 'rpc', containerPort: spec.ports.rpc, protocol: 'TCP' },
                { name: 'gossip-tcp', containerPort: spec.ports.gossip, protocol: 'TCP' },
                { name: 'gossip-udp', containerPort: spec.ports.gossip, protocol: 'UDP' },
                { name: 'http', containerPort: spec.ports.http, protocol: 'TCP' },
              ],
              startupProbe: grpcProbe(undefined, 5, 60),
              livenessProbe: grpcProbe(undefined, 10, 3),
              readinessProbe: grpcProbe('log.v1.Log', 5, 3),
              ...(spec.resources.requests || spec.resources.limits
                ? {
                    resources: {
                      ...(spec.resources.requests ? { requests: { ...spec.resources.requests } } : {}),
                      ...(spec.resources.limits ? { limits: { ...spec.resources.limits } } : {}),
                    },
                  }
                : {}),
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ['ALL'] },
              },
              volumeMounts: mounts,
            },
          ],
          volumes,
        },
      },
      volumeClaimTemplates: [
        {
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          metadata: { name: 'data', labels: commonLabels(n, 'node') },
          spec: {
            accessModes: ['ReadWriteOnce'],
            resources: { requests: { storage: claimSize } },
            ...(spec.storage.storageClassName !== undefined ? { storageClassName: spec.storage.storageClassName } : {}),
          },
        },
      ],
    },
  };
}
