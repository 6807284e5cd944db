/**
 * Configuration of the local test node: its address plan and the configuration files of
 * containerd, CNI, the kubelet, kube-proxy and CoreDNS, as pure functions of a few inputs.
 * Why each unusual setting is there is in test/node/README.md (and, measured, in the notes the
 * README cites); the short version is next to each one.
 */

/** Address plan. Every address exists only inside the node's network namespace. */
export const addresses = {
  /** The node's own address (veth cl0, created by node.sh). */
  nodeIp: '10.99.0.1',
  /** Pods (CNI bridge cni0 + host-local). */
  podCidr: '10.244.0.0/24',
  /** ClusterIP Services (the control plane's default range). */
  serviceCidr: '10.0.0.0/24',
  /** The kube-dns Service. */
  dnsIp: '10.0.0.10',
  /** LoadBalancer addresses (addons.ts). */
  loadBalancerCidr: '10.99.1.0/24',
} as const;

/** The node's name in the API. */
export const nodeName = 'commitlog-node';

/** Directories of one node (all under its work directory). */
export interface NodeDirs {
  readonly root: string;
  readonly containerd: string;
  readonly cniConf: string;
  readonly cniIpam: string;
  readonly kubelet: string;
  readonly podLogs: string;
}

/** containerd 1.6 configuration (version 2 schema), everything under `dirs.containerd`. */
export function containerdConfig(dirs: NodeDirs, sandboxImage: string): string {
  return `version = 2
root = "${dirs.containerd}/root"
state = "${dirs.containerd}/state"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "${dirs.containerd}/containerd.sock"

[ttrpc]
  address = "${dirs.containerd}/containerd.sock.ttrpc"

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "${dirs.containerd}/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${sandboxImage}"
  # No CAP_SYS_RESOURCE here: runc cannot lower oom_score_adj (the pause container asks for -998).
  restrict_oom_score_adj = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${dirs.cniConf}"
`;
}

/** CNI: a bridge with host-local addresses from the pod range, and portmap. */
export function cniConfig(dirs: NodeDirs): string {
  return JSON.stringify(
    {
      cniVersion: '0.4.0',
      name: 'commitlog',
      plugins: [
        {
          type: 'bridge',
          bridge: 'cni0',
          isGateway: true,
          ipMasq: true,
          hairpinMode: true,
          ipam: {
            type: 'host-local',
            ranges: [[{ subnet: addresses.podCidr }]],
            routes: [{ dst: '0.0.0.0/0' }],
            dataDir: dirs.cniIpam,
          },
        },
        { type: 'portmap', capabilities: { portMappings: true } },
      ],
    },
    null,
    2,
  );
}

/** KubeletConfiguration (YAML is a superset of JSON). */
export function kubeletConfig(
  dirs: NodeDirs,
  o: { readonly cgroupRoot: string; readonly healthzPort: number; readonly resolvConf: string },
): string {
  return JSON.stringify(
    {
      apiVersion: 'kubelet.config.k8s.io/v1beta1',
      kind: 'KubeletConfiguration',
      // These machines have cgroup v1; kubelets from 1.35 refuse it unless told (KEP-5573).
      failCgroupV1: false,
      cgroupDriver: 'cgroupfs',
      cgroupRoot: o.cgroupRoot,
      address: addresses.nodeIp,
      port: 10250,
      readOnlyPort: 0,
      healthzBindAddress: '127.0.0.1',
      healthzPort: o.healthzPort,
      containerRuntimeEndpoint: `unix://${dirs.containerd}/containerd.sock`,
      imageServiceEndpoint: `unix://${dirs.containerd}/containerd.sock`,
      failSwapOn: false,
      podLogsDir: dirs.podLogs,
      clusterDNS: [addresses.dnsIp],
      clusterDomain: 'cluster.local',
      resolvConf: o.resolvConf,
      // The API server reaches the kubelet (logs, exec) with no client certificate.
      authentication: { anonymous: { enabled: true }, webhook: { enabled: false } },
      authorization: { mode: 'AlwaysAllow' },
      // A shared disk and memory: never evict the test's pods, never collect its images.
      evictionHard: {
        'memory.available': '1%',
        'nodefs.available': '1%',
        'nodefs.inodesFree': '1%',
        'imagefs.available': '1%',
      },
      imageGCHighThresholdPercent: 100,
      imageGCLowThresholdPercent: 99,
      serializeImagePulls: false,
      rotateCertificates: false,
      serverTLSBootstrap: false,
      protectKernelDefaults: false,
      syncFrequency: '10s',
      fileCheckFrequency: '10s',
      nodeStatusUpdateFrequency: '5s',
    },
    null,
    2,
  );
}

/** KubeProxyConfiguration: iptables mode, host-wide conntrack settings left alone. */
export function kubeProxyConfig(o: {
  readonly kubeconfig: string;
  readonly healthzPort: number;
  readonly metricsPort: number;
}): string {
  return JSON.stringify(
    {
      apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
      kind: 'KubeProxyConfiguration',
      mode: 'iptables',
      clusterCIDR: addresses.podCidr,
      hostnameOverride: nodeName,
      bindAddress: addresses.nodeIp,
      healthzBindAddress: `127.0.0.1:${o.healthzPort}`,
      metricsBindAddress: `127.0.0.1:${o.metricsPort}`,
      clientConnection: { kubeconfig: o.kubeconfig },
      // Pod → Service → pod on the same bridge works without br_netfilter when every hop is SNATed.
      iptables: { masqueradeAll: true },
      // 0 = leave nf_conntrack_max and the timeouts as they are.
      conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: '0s' },
    },
    null,
    2,
  );
}

/** CoreDNS serving cluster.local from the API (it runs as a process on the node address). */
export function corefile(o: {
  readonly kubeconfig: string;
  readonly healthPort: number;
  readonly readyPort: number;
}): string {
  return `.:53 {
    errors
    health 127.0.0.1:${o.healthPort}
    ready 127.0.0.1:${o.readyPort}
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig ${o.kubeconfig}
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }
    cache 5
}
`;
}
