/**
 * Locating the control-plane binaries in the cache that build.sh fills. A missing binary is
 * a {@link MissingBinaryError} whose message names the binary and the command that builds
 * it, so a test that needs it fails with instructions instead of passing or skipping.
 */
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { buildCommand } from './config.js';

/** The binaries build.sh produces. */
export const binaryNames = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'helm'] as const;

/** One of {@link binaryNames}. */
export type BinaryName = (typeof binaryNames)[number];

/** Thrown when a binary the caller needs is not in the cache. */
export class MissingBinaryError extends Error {
  readonly code = 'missing-binary' as const;
  constructor(
    readonly binary: BinaryName,
    readonly path: string,
  ) {
    super(
      `${binary} is not built (expected an executable at ${path}). ` +
        `Build the test control plane with \`${buildCommand}\` (bash test/controlplane/build.sh; ` +
        'the first build compiles Kubernetes from source and takes a while).',
    );
    this.name = 'MissingBinaryError';
  }
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Absolute path of `name` in `binDir`; throws {@link MissingBinaryError} when absent. */
export function binaryPath(binDir: string, name: BinaryName): string {
  const path = join(binDir, name);
  if (!isExecutable(path)) throw new MissingBinaryError(name, path);
  return path;
}

/** The subset of `names` that is missing from `binDir` (empty when all are there). */
export function missingBinaries(binDir: string, names: readonly BinaryName[] = binaryNames): BinaryName[] {
  return names.filter((n) => !isExecutable(join(binDir, n)));
}
