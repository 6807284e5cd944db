/**
 * Whether the module of `meta` is the program node was started with (`node --import tsx f.ts`).
 * `import.meta.main` says this only from Node 22.18 / 24.2; on older runtimes it is undefined,
 * so a script guarded by it silently does nothing. npm scripts run the project's Node 24
 * (node_modules/.bin/node), but this machine's own `node` is 20.20: `node --import tsx
 * test/chaos/run.ts …` from a shell printed nothing and exited 0.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** True when `meta` belongs to the entry module of this process (symlinks resolved, as node does). */
export function isMain(meta: ImportMeta): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(meta.url));
  } catch {
    return false; // the entry is not a file (node -e, the REPL)
  }
}
