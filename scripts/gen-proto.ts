/**
 * `npm run gen`: regenerates the TypeScript code of the node's protos (node/api/**) into
 * node/src/gen/ with buf and ts-proto, both from node_modules (no network).
 *
 * ts-proto options and why:
 * - outputServices=grpc-js: service definitions and clients for @grpc/grpc-js.
 * - esModuleInterop, importSuffix=.js: ESM sources run by tsx and type-checked by tsc
 *   with NodeNext resolution.
 * - forceLong=number: offsets and indexes are dense counters that cannot reach 2^53 in
 *   practice, and the log's API uses numbers; a uint64 above Number.MAX_SAFE_INTEGER is
 *   rejected when decoding (grpc-js answers INTERNAL "Error deserializing request").
 * - useOptionals=messages: message-typed fields are optional properties.
 * - env=node: bytes are Buffers.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (this file lives in scripts/). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Where the committed generated code lives. */
export const defaultOutDir = join(repoRoot, 'node', 'src', 'gen');

/** The ts-proto options used for every generation (see the file comment). */
export const tsProtoOptions = [
  'outputServices=grpc-js',
  'esModuleInterop=true',
  'importSuffix=.js',
  'forceLong=number',
  'useOptionals=messages',
  'env=node',
] as const;

/**
 * Generates the code for node/api into `outDir` (emptied first). Throws with buf's
 * output when generation fails.
 */
export function generate(outDir: string = defaultOutDir): void {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const template = {
    version: 'v2',
    plugins: [
      {
        local: join(repoRoot, 'node_modules', '.bin', 'protoc-gen-ts_proto'),
        out: outDir,
        opt: [...tsProtoOptions],
      },
    ],
  };
  // The plugin is a `#!/usr/bin/env node` script: put this process's Node first on PATH so
  // it runs under the same Node as we do.
  const env = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}` };
  const result = spawnSync(
    join(repoRoot, 'node_modules', '.bin', 'buf'),
    ['generate', join('node', 'api'), '--template', JSON.stringify(template)],
    { cwd: repoRoot, env, encoding: 'utf8' },
  );
  if (result.status !== 0) {
    throw new Error(`buf generate failed (exit ${String(result.status)}): ${result.stderr || String(result.error)}`);
  }
}

/** Lists the files under `dir`, relative to it, sorted. */
export function listFiles(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...listFiles(dir, rel));
    else out.push(rel);
  }
  return out.sort();
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  generate();
  console.log(`generated ${listFiles(defaultOutDir).join(', ')} into ${defaultOutDir}`);
}
