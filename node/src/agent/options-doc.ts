/**
 * Writes docs/agent-options.md from the option table (options.ts):
 * `npx tsx node/src/agent/options-doc.ts`. A test checks the file is fresh.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { optionsMarkdown } from './options.js';

writeFileSync(join(import.meta.dirname, '..', '..', '..', 'docs', 'agent-options.md'), optionsMarkdown());
