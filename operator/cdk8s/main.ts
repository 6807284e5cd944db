/**
 * `npm run synth`: writes crds/, dist/install.yaml and the Helm chart's generated files from
 * the TypeScript definitions. Deterministic: running it twice changes nothing.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { synthesize } from './synth.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
for (const [path, text] of synthesize()) {
  const file = resolve(root, path);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
  process.stdout.write(`wrote ${path}\n`);
}
