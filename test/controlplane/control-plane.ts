/**
 * A real Kubernetes control plane for tests, without Docker: etcd, kube-apiserver,
 * kube-controller-manager and (optionally) kube-scheduler, built from the official Go modules
 * by build.sh and run as child processes on free 127.0.0.1 ports, with a generated CA,
 * client-certificate authentication, RBAC, service-account keys and an audit log of writes.
 *
 * No kubelet: pods are never run. This is what controller-runtime's envtest provides, plus
 * the controller-manager so that owner-reference garbage collection and namespace deletion
 * really happen.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { AuditLog, auditPolicyYaml } from './audit.js';
import { binaryPath, MissingBinaryError, missingBinaries, type BinaryName } from './binaries.js';
import {
  firstServiceIp,
  pinnedVersions,
  resolveOptions,
  type ControlPlaneOptions,
  type PinnedVersions,
  type ResolvedControlPlaneOptions,
} from './config.js';
import { installCrds, readCrds } from './crds.js';
import { renderKubeconfig, writeKubeconfig } from './kubeconfig.js';
import { freePorts, waitFor200 } from './net.js';
import {
  createCa,
  createServiceAccountKeys,
  issueClientCert,
  issueServingCert,
  type CertificateAuthority,
  type ClientIdentity,
} from './pki.js';
import { ManagedProcess, registerTempDir, unregisterTempDir } from './process.js';
import { reapStale, tempDirPrefix, writeOwnerFile } from './stale.js';

/** The identity of the admin kubeconfig: a member of system:masters, which RBAC never restricts. */
export const adminIdentity: ClientIdentity = { user: 'commitlog-test-admin', groups: ['system:masters'] };

/** A kubeconfig file and the same configuration loaded. */
export interface UserConfig {
  readonly kubeconfigPath: string;
  readonly kubeConfig: KubeConfig;
}

/** Thrown when a component does not start; the message carries the log tails. */
export class ControlPlaneStartError extends Error {
  readonly code = 'control-plane-start' as const;
  constructor(
    readonly component: string,
    message: string,
  ) {
    super(`control plane: ${component} did not start: ${message}`);
    this.name = 'ControlPlaneStartError';
  }
}

/** Starts a control plane; see {@link ControlPlane}. Throws {@link MissingBinaryError} when a binary is not built. */
export function startControlPlane(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  return ControlPlane.start(opts);
}

/**
 * A running control plane. Contract: {@link stop} ends every process it started (by pid,
 * SIGTERM then SIGKILL) and deletes its temporary directory; if the test process exits or is
 * interrupted first, an exit hook does the same.
 */
export class ControlPlane {
  readonly #procs = new Map<string, ManagedProcess>();
  readonly #userConfigs = new Map<string, UserConfig>();
  #apiServerArgs: string[] = [];
  #stopped = false;
  /** Names of the CRDs installed at start. */
  crds: readonly string[] = [];
  /** The admin kubeconfig (see {@link adminIdentity}). */
  kubeconfigPath = '';
  /** The admin configuration, ready for `makeApiClient`. */
  kubeConfig!: KubeConfig;
  /** The audit log of write requests. */
  audit!: AuditLog;

  private constructor(
    readonly opts: ResolvedControlPlaneOptions,
    /** Temporary directory: logs, certificates, etcd data, kubeconfigs. */
    readonly dir: string,
    /** The API server URL, https://127.0.0.1:<port>. */
    readonly server: string,
    /** Versions of the binaries (from versions.env). */
    readonly versions: PinnedVersions,
    private readonly ca: CertificateAuthority,
    private readonly ports: {
      readonly etcd: number;
      readonly etcdPeer: number;
      readonly api: number;
      readonly kcm: number;
      readonly scheduler: number;
    },
  ) {}

  /** See {@link startControlPlane}. */
  static async start(options: ControlPlaneOptions): Promise<ControlPlane> {
    const opts = resolveOptions(options);
    const needed: BinaryName[] = ['etcd', 'kube-apiserver'];
    if (opts.controllerManager) needed.push('kube-controller-manager');
    if (opts.scheduler) needed.push('kube-scheduler');
    const missing = missingBinaries(opts.binDir, needed);
    if (missing[0] !== undefined) throw new MissingBinaryError(missing[0], join(opts.binDir, missing[0]));

    reapStale();
    const dir = mkdtempSync(join(tmpdir(), tempDirPrefix));
    registerTempDir(dir);
    writeOwnerFile(dir, []);
    const [etcd, etcdPeer, api, kcm, scheduler] = await freePorts(5);
    if (
      etcd === undefined ||
      etcdPeer === undefined ||
      api === undefined ||
      kcm === undefined ||
      scheduler === undefined
    ) {
      throw new Error('freePorts returned too few ports');
    }
    const ca = await createCa('commitlog-test-ca');
    const cp = new ControlPlane(opts, dir, `https://127.0.0.1:${api}`, pinnedVersions(), ca, {
      etcd,
      etcdPeer,
      api,
      kcm,
      scheduler,
    });
    try {
      await cp.#boot();
    } catch (e) {
      await cp.stop();
      throw e;
    }
    return cp;
  }

  async #boot(): Promise<void> {
    const deadline = Date.now() + this.opts.startTimeoutMs;
    const pki = join(this.dir, 'pki');
    mkdirSync(pki);
    const file = (name: string, text: string): string => {
      const p = join(pki, name);
      writeFileSync(p, text, { mode: 0o600 });
      return p;
    };
    const serviceIp = firstServiceIp(this.opts.serviceClusterIpRange);
    const serving = await issueServingCert(this.ca, {
      dns: [
        'localhost',
        'kubernetes',
        'kubernetes.default',
        'kubernetes.default.svc',
        'kubernetes.default.svc.cluster.local',
      ],
      ips: ['127.0.0.1', serviceIp],
    });
    const sa = await createServiceAccountKeys();
    const caFile = file('ca.crt', this.ca.certPem);
    const saPub = file('sa.pub', sa.publicPem);
    const saKey = file('sa.key', sa.privatePem);

    // etcd: plain HTTP on loopback, fsync off (test data is thrown away; the machine is shared).
    const etcdUrl = `http://127.0.0.1:${this.ports.etcd}`;
    const peerUrl = `http://127.0.0.1:${this.ports.etcdPeer}`;
    await this.#run('etcd', [
      '--name=default',
      `--data-dir=${join(this.dir, 'etcd-data')}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=default=${peerUrl}`,
      '--unsafe-no-fsync=true',
      '--log-level=warn',
    ]);
    await this.#waitHealthy('etcd', `${etcdUrl}/health`, deadline);

    const auditLogPath = join(this.dir, 'audit.log');
    writeFileSync(join(this.dir, 'audit-policy.yaml'), auditPolicyYaml);
    this.#apiServerArgs = [
      `--etcd-servers=${etcdUrl}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      // The `kubernetes` Endpoints may not hold a loopback address; no pod needs it here.
      '--endpoint-reconciler-type=none',
      `--secure-port=${this.ports.api}`,
      `--cert-dir=${join(this.dir, 'apiserver-certs')}`,
      `--tls-cert-file=${file('apiserver.crt', serving.certPem)}`,
      `--tls-private-key-file=${file('apiserver.key', serving.keyPem)}`,
      `--client-ca-file=${caFile}`,
      '--authorization-mode=RBAC',
      `--service-cluster-ip-range=${this.opts.serviceClusterIpRange}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${saPub}`,
      `--service-account-signing-key-file=${saKey}`,
      '--allow-privileged=true',
      `--audit-policy-file=${join(this.dir, 'audit-policy.yaml')}`,
      `--audit-log-path=${auditLogPath}`,
      '--audit-log-format=json',
      '--audit-log-mode=blocking',
      '--profiling=false',
      ...this.opts.apiServerFlags,
    ];
    await this.startApiServer(deadline);

    const admin = await this.kubeConfigFor(adminIdentity);
    this.kubeconfigPath = admin.kubeconfigPath;
    this.kubeConfig = admin.kubeConfig;
    this.audit = new AuditLog(auditLogPath, admin.kubeConfig);

    // CRDs first: the controller-manager's garbage collector learns resource types from
    // discovery at start and only every 30 s after, so a CRD installed later would leave
    // owner-reference cascades of custom resources unnoticed for that long.
    if (this.opts.crdDir !== null) {
      this.crds = await installCrds(
        this.kubeConfig,
        readCrds(this.opts.crdDir),
        Math.max(1_000, deadline - Date.now()),
      );
    }
    if (this.opts.controllerManager) {
      await this.#startController(
        'kube-controller-manager',
        this.ports.kcm,
        [
          `--service-account-private-key-file=${saKey}`,
          `--root-ca-file=${caFile}`,
          '--use-service-account-credentials=false',
          `--service-cluster-ip-range=${this.opts.serviceClusterIpRange}`,
        ],
        deadline,
      );
    }
    if (this.opts.scheduler) {
      await this.#startController('kube-scheduler', this.ports.scheduler, [], deadline);
    }
  }

  /**
   * Starts kube-controller-manager or kube-scheduler as `system:<name>` (in system:masters),
   * serving /healthz on 127.0.0.1:`port` with a self-signed certificate, no leader election.
   */
  async #startController(
    name: 'kube-controller-manager' | 'kube-scheduler',
    port: number,
    extra: readonly string[],
    deadline: number,
  ): Promise<void> {
    const kc = await this.kubeConfigFor({ user: `system:${name}`, groups: ['system:masters'] });
    await this.#run(name, [
      `--kubeconfig=${kc.kubeconfigPath}`,
      `--authentication-kubeconfig=${kc.kubeconfigPath}`,
      `--authorization-kubeconfig=${kc.kubeconfigPath}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${port}`,
      `--cert-dir=${join(this.dir, `${name}-certs`)}`,
      '--leader-elect=false',
      ...extra,
    ]);
    await this.#waitHealthy(name, `https://127.0.0.1:${port}/healthz`, deadline, { insecure: true });
  }

  async #run(name: BinaryName, args: readonly string[]): Promise<ManagedProcess> {
    const p = await ManagedProcess.start(name, binaryPath(this.opts.binDir, name), args, join(this.dir, `${name}.log`));
    this.#procs.set(name, p);
    writeOwnerFile(
      this.dir,
      [...this.#procs.values()].filter((q) => q.exitStatus === null).map((q) => q.pid),
    );
    return p;
  }

  async #waitHealthy(
    name: string,
    url: string,
    deadline: number,
    tls?: { ca?: string; cert?: string; key?: string; insecure?: boolean },
  ): Promise<void> {
    const proc = this.#procs.get(name);
    try {
      await waitFor200(url, deadline, tls, () => (proc?.exitStatus != null ? 'the process exited' : null));
    } catch (e) {
      throw new ControlPlaneStartError(name, `${(e as Error).message}\n${proc?.describeExit() ?? ''}`);
    }
  }

  /**
   * A kubeconfig for another identity (client certificate CN=user, O=groups), e.g. the
   * operator's own user so its writes can be told apart in the audit log. Cached per identity.
   */
  async kubeConfigFor(id: ClientIdentity): Promise<UserConfig> {
    const key = JSON.stringify([id.user, id.groups ?? []]);
    const cached = this.#userConfigs.get(key);
    if (cached !== undefined) return cached;
    const cert = await issueClientCert(this.ca, id);
    const safe = id.user.replace(/[^A-Za-z0-9_.-]/g, '_');
    const path = join(this.dir, `kubeconfig-${safe}-${this.#userConfigs.size}.yaml`);
    const uc = {
      kubeconfigPath: path,
      kubeConfig: writeKubeconfig(path, renderKubeconfig(this.server, this.ca.certPem, id.user, cert)),
    };
    this.#userConfigs.set(key, uc);
    return uc;
  }

  /** Stops kube-apiserver only (etcd keeps the data), e.g. to test that clients recover. */
  async stopApiServer(): Promise<void> {
    await this.#procs.get('kube-apiserver')?.stop(this.opts.stopTimeoutMs);
  }

  /** (Re)starts kube-apiserver on the same port with the same flags and waits for /readyz. */
  async startApiServer(deadline = Date.now() + this.opts.startTimeoutMs): Promise<void> {
    const running = this.#procs.get('kube-apiserver');
    if (running !== undefined && running.exitStatus === null) return;
    await this.#run('kube-apiserver', this.#apiServerArgs);
    const admin = await issueClientCert(this.ca, adminIdentity);
    await this.#waitHealthy('kube-apiserver', `${this.server}/readyz`, deadline, {
      ca: this.ca.certPem,
      cert: admin.certPem,
      key: admin.keyPem,
    });
  }

  /** Last lines of a component's log (for failure messages). */
  logTail(component: BinaryName, lines = 30): string {
    return this.#procs.get(component)?.logTail(lines) ?? `(${component} not started)`;
  }

  /** Stops every process (reverse start order) and removes the temporary directory. Idempotent. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const name of ['kube-scheduler', 'kube-controller-manager', 'kube-apiserver', 'etcd']) {
      await this.#procs.get(name)?.stop(this.opts.stopTimeoutMs);
    }
    unregisterTempDir(this.dir);
    if (!this.opts.keepFiles) rmSync(this.dir, { recursive: true, force: true });
  }
}
