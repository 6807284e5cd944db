/**
 * A local Kubernetes node for the end-to-end tier, without Docker: the test control plane
 * (test/controlplane/, with the scheduler) plus containerd + runc, the CNI bridge, a kubelet,
 * kube-proxy, CoreDNS as cluster DNS and the test-tier LoadBalancer/volume addons, all as
 * child processes of this one.
 *
 * It must run inside the namespaces and cgroup that test/node/node.sh creates (it reads
 * COMMITLOG_NODE_DIR, COMMITLOG_NODE_CGROUP, COMMITLOG_NODE_IP): every address it uses exists
 * only there, and node.sh removes whatever is left when this process is gone. Images are
 * imported into containerd from OCI archives (`npm run images`); pods must use
 * imagePullPolicy Never or IfNotPresent.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, cpSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, DiscoveryV1Api } from '@kubernetes/client-node';
import { testbinDir } from '../controlplane/config.js';
import { startControlPlane, type ControlPlane } from '../controlplane/control-plane.js';
import { freePorts, waitFor200 } from '../controlplane/net.js';
import { ManagedProcess } from '../controlplane/process.js';
import { Addons } from './addons.js';
import {
  addresses,
  cniConfig,
  containerdConfig,
  corefile,
  kubeletConfig,
  kubeProxyConfig,
  nodeName,
  type NodeDirs,
} from './config.js';

/** An OCI archive to import, and the repository name it is imported under (docker.io/library/<name>:<tag>). */
export interface ImageArchive {
  readonly name: string;
  readonly tag: string;
  readonly archive: string;
}

/** Thrown when the node cannot start; names the component and carries its log tail. */
export class LocalNodeError extends Error {
  readonly code = 'local-node' as const;
  constructor(
    readonly component: string,
    message: string,
  ) {
    super(`local node: ${component}: ${message}`);
    this.name = 'LocalNodeError';
  }
}

/** The binaries test/node/build.sh puts next to the control plane's. */
export const nodeBinaries = ['kubelet', 'kube-proxy', 'kubectl', 'coredns'] as const;

function binary(name: (typeof nodeBinaries)[number]): string {
  const p = join(testbinDir(), name);
  try {
    accessSync(p, constants.X_OK);
  } catch {
    throw new LocalNodeError(name, `not built (expected ${p}); run: bash test/node/build.sh`);
  }
  return p;
}

/** The full reference containerd stores an image under (what a pod's `image: name:tag` means). */
export function fullRef(i: { readonly name: string; readonly tag: string }): string {
  return `docker.io/library/${i.name}:${i.tag}`;
}

/** A running node; {@link stop} ends every process it started. */
export class LocalNode {
  readonly #procs: ManagedProcess[] = [];
  #addons: Addons | null = null;

  private constructor(
    readonly cp: ControlPlane,
    readonly dirs: NodeDirs,
  ) {}

  /**
   * Starts the node. `images` are imported into containerd; `pause` is the pod sandbox image
   * (its entrypoint must keep running). Bounded by `startTimeoutMs` (default 240 s).
   */
  static async start(opts: {
    readonly images: readonly ImageArchive[];
    readonly pause: ImageArchive;
    readonly startTimeoutMs?: number;
  }): Promise<LocalNode> {
    const root = process.env['COMMITLOG_NODE_DIR'];
    const cgroupRoot = process.env['COMMITLOG_NODE_CGROUP'];
    if (root === undefined || cgroupRoot === undefined || process.env['COMMITLOG_NODE_IP'] !== addresses.nodeIp) {
      throw new LocalNodeError(
        'environment',
        'run inside `bash test/node/node.sh run -- …` (it creates the namespaces and the cgroup)',
      );
    }
    const deadline = Date.now() + (opts.startTimeoutMs ?? 240_000);
    for (const b of nodeBinaries) binary(b);
    const cp = await startControlPlane({
      scheduler: true,
      startTimeoutMs: Math.max(60_000, deadline - Date.now() - 60_000),
      apiServerFlags: [
        // Pods reach the API server through the `kubernetes` Service → the node address.
        `--advertise-address=${addresses.nodeIp}`,
        '--bind-address=0.0.0.0',
        '--endpoint-reconciler-type=lease',
        '--kubelet-preferred-address-types=InternalIP',
      ],
    });
    const dirs: NodeDirs = {
      root,
      containerd: join(root, 'containerd'),
      cniConf: join(root, 'cni', 'net.d'),
      cniIpam: join(root, 'cni', 'ipam'),
      kubelet: join(root, 'kubelet'),
      podLogs: join(root, 'pod-logs'),
    };
    const node = new LocalNode(cp, dirs);
    try {
      await node.#boot(opts.images, opts.pause, cgroupRoot, deadline);
    } catch (e) {
      await node.stop();
      throw e;
    }
    return node;
  }

  async #run(name: string, bin: string, args: readonly string[]): Promise<ManagedProcess> {
    const p = await ManagedProcess.start(name, bin, args, join(this.dirs.root, `${name}.log`));
    this.#procs.push(p);
    return p;
  }

  #ctr(args: readonly string[]): string {
    const r = spawnSync(
      'ctr',
      ['--address', join(this.dirs.containerd, 'containerd.sock'), '--namespace', 'k8s.io', ...args],
      { encoding: 'utf8' },
    );
    if (r.status !== 0) throw new LocalNodeError('ctr', `ctr ${args.join(' ')}: ${r.stderr || r.stdout}`);
    return r.stdout;
  }

  async #until(
    what: string,
    deadline: number,
    proc: ManagedProcess | null,
    check: () => Promise<boolean> | boolean,
  ): Promise<void> {
    let last = '';
    for (;;) {
      if (proc?.exitStatus != null)
        throw new LocalNodeError(proc.name, `exited while waiting for ${what}\n${proc.describeExit()}`);
      try {
        if (await check()) return;
      } catch (e) {
        last = (e as Error).message;
      }
      if (Date.now() > deadline)
        throw new LocalNodeError(
          proc?.name ?? what,
          `timed out waiting for ${what} (${last})\n${proc?.describeExit() ?? ''}`,
        );
      await sleep(250);
    }
  }

  async #boot(
    images: readonly ImageArchive[],
    pause: ImageArchive,
    cgroupRoot: string,
    deadline: number,
  ): Promise<void> {
    const d = this.dirs;
    for (const p of [d.containerd, d.cniConf, d.cniIpam, d.kubelet, d.podLogs]) mkdirSync(p, { recursive: true });
    const [kubeletHealth, proxyHealth, proxyMetrics, dnsHealth, dnsReady] = (await freePorts(5)) as [
      number,
      number,
      number,
      number,
      number,
    ];

    writeFileSync(join(d.cniConf, '10-commitlog.conflist'), cniConfig(d));
    writeFileSync(join(d.containerd, 'config.toml'), containerdConfig(d, fullRef(pause)));
    const containerd = await this.#run('containerd', 'containerd', [
      '--config',
      join(d.containerd, 'config.toml'),
      '--log-level',
      'warn',
    ]);
    await this.#until(
      'the containerd socket',
      deadline,
      containerd,
      () => existsSync(join(d.containerd, 'containerd.sock')) && (this.#ctr(['version']), true),
    );
    for (const img of [pause, ...images]) {
      this.#ctr(['images', 'import', '--base-name', `docker.io/library/${img.name}`, img.archive]);
      if (!this.#ctr(['images', 'ls', '-q']).split('\n').includes(fullRef(img))) {
        throw new LocalNodeError('ctr', `importing ${img.archive} did not create ${fullRef(img)}`);
      }
    }

    const resolvConf = join(d.root, 'resolv.conf');
    writeFileSync(resolvConf, '');
    writeFileSync(
      join(d.root, 'kubelet.yaml'),
      kubeletConfig(d, { cgroupRoot, healthzPort: kubeletHealth, resolvConf }),
    );
    const kubeletKc = await this.cp.kubeConfigFor({
      user: `system:node:${nodeName}`,
      groups: ['system:nodes', 'system:masters'],
    });
    const kubelet = await this.#run('kubelet', binary('kubelet'), [
      `--config=${join(d.root, 'kubelet.yaml')}`,
      `--kubeconfig=${kubeletKc.kubeconfigPath}`,
      `--root-dir=${d.kubelet}`,
      `--cert-dir=${join(d.root, 'kubelet-pki')}`,
      `--hostname-override=${nodeName}`,
      `--node-ip=${addresses.nodeIp}`,
      '--v=1',
    ]);
    const core = this.cp.kubeConfig.makeApiClient(CoreV1Api);
    await this.#until(`node ${nodeName} Ready`, deadline, kubelet, async () => {
      const n = await core.readNode({ name: nodeName });
      return (n.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
    });

    writeFileSync(
      join(d.root, 'kube-proxy.yaml'),
      kubeProxyConfig({
        kubeconfig: (await this.cp.kubeConfigFor({ user: 'system:kube-proxy' })).kubeconfigPath,
        healthzPort: proxyHealth,
        metricsPort: proxyMetrics,
      }),
    );
    const proxy = await this.#run('kube-proxy', binary('kube-proxy'), [
      `--config=${join(d.root, 'kube-proxy.yaml')}`,
      '--v=1',
    ]);
    await this.#until('kube-proxy healthz', deadline, proxy, async () => {
      await waitFor200(`http://127.0.0.1:${proxyHealth}/healthz`, Date.now() + 1_000);
      return true;
    });

    // Cluster DNS: CoreDNS on the node address, behind the kube-dns Service (no selector: the
    // endpoint is this process, not a pod).
    const dnsKc = await this.cp.kubeConfigFor({ user: 'system:coredns', groups: ['system:masters'] });
    writeFileSync(
      join(d.root, 'Corefile'),
      corefile({ kubeconfig: dnsKc.kubeconfigPath, healthPort: dnsHealth, readyPort: dnsReady }),
    );
    const dns = await this.#run('coredns', binary('coredns'), ['-conf', join(d.root, 'Corefile')]);
    await core.createNamespacedService({
      namespace: 'kube-system',
      body: {
        metadata: { name: 'kube-dns', labels: { 'k8s-app': 'kube-dns' } },
        spec: {
          clusterIP: addresses.dnsIp,
          ports: [
            { name: 'dns', port: 53, protocol: 'UDP' },
            { name: 'dns-tcp', port: 53, protocol: 'TCP' },
          ],
        },
      },
    });
    await this.cp.kubeConfig.makeApiClient(DiscoveryV1Api).createNamespacedEndpointSlice({
      namespace: 'kube-system',
      body: {
        metadata: {
          name: 'kube-dns-node',
          labels: {
            'kubernetes.io/service-name': 'kube-dns',
            'endpointslice.kubernetes.io/managed-by': 'commitlog-test-node',
          },
        },
        addressType: 'IPv4',
        endpoints: [{ addresses: [addresses.nodeIp], conditions: { ready: true } }],
        ports: [
          { name: 'dns', port: 53, protocol: 'UDP' },
          { name: 'dns-tcp', port: 53, protocol: 'TCP' },
        ],
      },
    });
    await this.#until('CoreDNS ready', deadline, dns, async () => {
      await waitFor200(`http://127.0.0.1:${dnsReady}/ready`, Date.now() + 1_000);
      return true;
    });

    this.#addons = await Addons.start(this.cp.kubeConfig, {
      loadBalancerCidr: addresses.loadBalancerCidr,
      volumeDir: join(d.root, 'volumes'),
    });
  }

  /** Copies every component's log and the pods' logs into `dest` (for a failed run). */
  collectLogs(dest: string): void {
    mkdirSync(dest, { recursive: true });
    for (const p of this.#procs) if (existsSync(p.logPath)) cpSync(p.logPath, join(dest, `${p.name}.log`));
    for (const c of ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler']) {
      const f = join(this.cp.dir, `${c}.log`);
      if (existsSync(f)) cpSync(f, join(dest, `${c}.log`));
    }
    if (existsSync(this.dirs.podLogs))
      cpSync(this.dirs.podLogs, join(dest, 'pods'), { recursive: true, dereference: true });
    if (this.#addons?.lastError != null) writeFileSync(join(dest, 'addons.error'), this.#addons.lastError + '\n');
  }

  /** Stops the addons, the node's processes (reverse start order) and the control plane. */
  async stop(): Promise<void> {
    await this.#addons?.stop();
    for (const p of [...this.#procs].reverse()) await p.stop(5_000);
    await this.cp.stop();
  }
}
