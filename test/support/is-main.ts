/**
 * Whether the module of `meta` is the program node was started with (`node --import tsx f.ts`).
 * `import.meta.main` says this only from Node 22.18 / 24.2; on older runtimes it is undefined,
 * so a script guarded by it silently does nothing (the chaos run then printed nothing and its
 * driver reported OK on Node 20).
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** True when `meta` belongs to the entry module of this process. */
export function isMain(meta: ImportMeta): boolean {
  const entry = process.argv[1];
  return entry !== undefined && resolve(entry) === fileURLToPath(meta.url);
}
