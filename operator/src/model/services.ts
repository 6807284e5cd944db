/**
 * Services of a cluster: the headless Service for peer DNS (publishes not-ready addresses,
 * since a pod must be resolvable to join before it is Ready), the client Service, and one
 * external Service per pod selected by `statefulset.kubernetes.io/pod-name`.
 */
import type { V1Service, V1ServicePort } from '@kubernetes/client-node';
import type { ResolvedSpec } from '../api/defaults.js';
import type { CommitLogCluster } from '../api/types.js';
import { commonLabels, LABELS, namesOf, ownerReference, selectorLabels } from './names.js';

function meta(c: CommitLogCluster, name: string, component: string, annotations?: Readonly<Record<string, string>>) {
  return {
    name,
    namespace: c.metadata.namespace,
    labels: commonLabels(c.metadata.name, component),
    ...(annotations && Object.keys(annotations).length > 0 ? { annotations: { ...annotations } } : {}),
    ownerReferences: [ownerReference(c)],
  };
}

const rpcPort = (spec: ResolvedSpec): V1ServicePort => ({
  name: 'rpc',
  port: spec.ports.rpc,
  targetPort: 'rpc',
  protocol: 'TCP',
});

/** The headless Service `<name>-headless`. */
export function headlessService(c: CommitLogCluster, spec: ResolvedSpec): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(c, namesOf(c.metadata.name).headlessService, 'peers'),
    spec: {
      clusterIP: 'None',
      publishNotReadyAddresses: true,
      selector: selectorLabels(c.metadata.name),
      ports: [
        rpcPort(spec),
        { name: 'gossip-tcp', port: spec.ports.gossip, targetPort: 'gossip-tcp', protocol: 'TCP' },
        { name: 'gossip-udp', port: spec.ports.gossip, targetPort: 'gossip-udp', protocol: 'UDP' },
      ],
    },
  };
}

/** The client Service `<name>`: one stable in-cluster address; clients then use GetServers. */
export function clientService(c: CommitLogCluster, spec: ResolvedSpec): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(c, namesOf(c.metadata.name).clientService, 'client'),
    spec: {
      type: 'ClusterIP',
      selector: selectorLabels(c.metadata.name),
      ports: [rpcPort(spec), { name: 'http', port: spec.ports.http, targetPort: 'http', protocol: 'TCP' }],
    },
  };
}

/** External Services of pods `0..replicas-1`; none when `external.type` is `None`. */
export function externalServices(c: CommitLogCluster, spec: ResolvedSpec, replicas: number): V1Service[] {
  const type = spec.external.type;
  if (type === 'None') return [];
  const names = namesOf(c.metadata.name);
  return Array.from({ length: replicas }, (_, i): V1Service => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(c, names.externalService(i), 'external', spec.external.annotations),
    spec: {
      type,
      // The node must be reachable before it is Ready: a learner catching up serves nothing
      // to clients, but the address is advertised through gossip as soon as it exists.
      publishNotReadyAddresses: true,
      selector: { ...selectorLabels(c.metadata.name), [LABELS.podName]: names.pod(i) },
      ports: [rpcPort(spec)],
      ...(type === 'LoadBalancer' && spec.external.loadBalancerSourceRanges.length > 0
        ? { loadBalancerSourceRanges: [...spec.external.loadBalancerSourceRanges] }
        : {}),
    },
  }));
}
