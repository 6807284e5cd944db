/**
 * Test helpers for the real Kubernetes control plane (test/controlplane/): one control
 * plane per mocha run, started by the first test that asks for it and stopped by the root
 * hook (root-hooks.ts); one namespace per test.
 *
 * If a binary is not built, every test that asks fails with a message naming the binary
 * and `npm run testbin`; nothing is skipped silently.
 *
 * @example
 *   describe('my controller', function () {
 *     this.timeout(120_000);           // the first caller pays for the start-up
 *     let cp: ControlPlane;
 *     before(async () => { cp = await useControlPlane(); });
 *     const ns = useNamespace();        // fresh namespace in each test: ns.name
 *     it('does things', async () => { … cp.kubeConfig … ns.name … });
 *   });
 */
import { randomBytes } from 'node:crypto';
import { CoreV1Api } from '@kubernetes/client-node';
import { join } from 'node:path';
import { repoRoot } from '../controlplane/config.js';
import { startControlPlane, type ControlPlane } from '../controlplane/control-plane.js';
import { installCrds, readCrds } from '../controlplane/crds.js';
import { sharedSlot } from './shared-control-plane.js';

export type { ControlPlane } from '../controlplane/control-plane.js';
export { MissingBinaryError } from '../controlplane/binaries.js';
export { CrdInstallError } from '../controlplane/crds.js';

/** How long a test may wait for the shared control plane to start (cold page cache, busy CPUs). */
export const controlPlaneStartTimeoutMs = 120_000;

/** Options of {@link useControlPlane}. */
export interface UseControlPlaneOptions {
  /**
   * Install the CRDs of crds/ (and wait until Established) before returning. Default true.
   * `false` is for tests of the control plane itself, which must not fail because a CRD does.
   */
  readonly crds?: boolean;
}

/**
 * The run's control plane, started on first use (etcd, kube-apiserver, controller-manager).
 * Every caller gets the same instance, or the same error: a {@link MissingBinaryError} names
 * the binary and `npm run testbin`; a {@link CrdInstallError} names the CRD the API server
 * refused and why.
 */
export async function useControlPlane(opts: UseControlPlaneOptions = {}): Promise<ControlPlane> {
  const slot = sharedSlot();
  if (slot.started === null) {
    // A first caller that wants the CRDs gets them installed before the controller-manager
    // starts, so its garbage collector knows CommitLogCluster from the start (it re-reads
    // discovery only every 30 s). Tests of the control plane itself (crds: false) start
    // without them and never fail because a CRD does.
    const crdDir = opts.crds !== false ? join(repoRoot, 'crds') : null;
    const started = startControlPlane({ crdDir, startTimeoutMs: controlPlaneStartTimeoutMs - 10_000 });
    slot.started = started;
    if (crdDir !== null) slot.crds = started.then((cp) => [...cp.crds]);
  }
  const cp = (await slot.started) as ControlPlane;
  if (opts.crds !== false) {
    slot.crds ??= installCrds(cp.kubeConfig, readCrds(join(repoRoot, 'crds')));
    cp.crds = (await slot.crds) as string[];
  }
  return cp;
}

let counter = 0;

/** A DNS-1123 label for a namespace: `t-<hint>-<n>-<random>`, at most 63 characters. */
export function namespaceName(hint: string): string {
  const slug = hint
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40)
    .replace(/-+$/, '');
  counter += 1;
  return `t-${slug === '' ? 'test' : slug}-${counter}-${randomBytes(2).toString('hex')}`;
}

/** Creates a namespace named after `hint` and returns its name. */
export async function createNamespace(
  cp: ControlPlane,
  hint: string,
  labels: Record<string, string> = {},
): Promise<string> {
  const name = namespaceName(hint);
  await cp.kubeConfig.makeApiClient(CoreV1Api).createNamespace({
    body: { metadata: { name, labels: { 'commitlog.dev/test': 'true', ...labels } } },
  });
  return name;
}

/** Deletes a namespace (the controller-manager then deletes its contents); does not wait. */
export async function deleteNamespace(cp: ControlPlane, name: string): Promise<void> {
  await cp.kubeConfig.makeApiClient(CoreV1Api).deleteNamespace({ name, propagationPolicy: 'Background' });
}

/** The namespace of the current test; `name` throws outside a test. */
export interface NamespaceRef {
  readonly name: string;
}

/**
 * Call inside `describe`: each test gets a fresh namespace (created in `beforeEach`,
 * deleted in `afterEach`), named after the test title.
 */
export function useNamespace(opts: UseControlPlaneOptions = {}): NamespaceRef {
  let current: string | null = null;
  beforeEach(async function () {
    this.timeout(controlPlaneStartTimeoutMs);
    const cp = await useControlPlane(opts);
    current = await createNamespace(cp, this.currentTest?.title ?? 'test');
  });
  afterEach(async function () {
    if (current === null) return;
    const name = current;
    current = null;
    await deleteNamespace(await useControlPlane({ crds: false }), name);
  });
  return {
    get name(): string {
      if (current === null) throw new Error('useNamespace(): no namespace outside a test (call .name inside it())');
      return current;
    },
  };
}
