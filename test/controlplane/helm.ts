/**
 * Running the helm binary that build.sh builds, isolated from the user's own Helm state:
 * every call gets temporary HELM_CACHE_HOME / HELM_CONFIG_HOME / HELM_DATA_HOME, and no
 * repository or registry is ever contacted (lint and template work offline on a local chart).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubernetesObject } from '@kubernetes/client-node';
import { binaryPath } from './binaries.js';
import { testbinDir } from './config.js';
import { parseManifests } from './crds.js';

/** Result of one helm invocation. */
export interface HelmResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `helm args…` with a bound of `timeoutMs`; resolves with the exit code and output
 * (a non-zero exit is a value, not an exception). Throws {@link MissingBinaryError} when
 * helm is not built.
 */
export function runHelm(
  args: readonly string[],
  opts: { binDir?: string; timeoutMs?: number; kubeconfig?: string } = {},
): Promise<HelmResult> {
  const helm = binaryPath(opts.binDir ?? testbinDir(), 'helm');
  const home = mkdtempSync(join(tmpdir(), 'commitlog-helm-'));
  const env: NodeJS.ProcessEnv = {
    PATH: process.env['PATH'],
    HOME: home,
    HELM_CACHE_HOME: join(home, 'cache'),
    HELM_CONFIG_HOME: join(home, 'config'),
    HELM_DATA_HOME: join(home, 'data'),
    KUBECONFIG: opts.kubeconfig ?? join(home, 'no-kubeconfig'),
  };
  return new Promise((resolve) => {
    execFile(
      helm,
      [...args],
      { env, timeout: opts.timeoutMs ?? 30_000, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        rmSync(home, { recursive: true, force: true });
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
        resolve({
          code,
          stdout,
          stderr: err !== null && typeof err.code !== 'number' ? `${stderr}\n${err.message}` : stderr,
        });
      },
    );
  });
}

/** `helm template` of a local chart into objects; throws with helm's stderr on failure. */
export async function helmTemplate(
  chartDir: string,
  opts: {
    releaseName?: string;
    namespace?: string;
    includeCrds?: boolean;
    set?: readonly string[];
    binDir?: string;
  } = {},
): Promise<KubernetesObject[]> {
  // --skip-tests: test hooks are not part of an install; they run only under `helm test`.
  const args = [
    'template',
    opts.releaseName ?? 'test',
    chartDir,
    '--namespace',
    opts.namespace ?? 'default',
    '--skip-tests',
  ];
  if (opts.includeCrds === true) args.push('--include-crds');
  for (const s of opts.set ?? []) args.push('--set', s);
  const r = await runHelm(args, { binDir: opts.binDir });
  if (r.code !== 0) throw new Error(`helm ${args.join(' ')} exited ${r.code}:\n${r.stderr}`);
  return parseManifests(r.stdout, `helm template ${chartDir}`);
}
