/**
 * Test support for the model: the examples as the API server would return them.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'yaml';
import type { CommitLogCluster } from '../../api/types.js';

const root = resolve(import.meta.dirname, '../../../..');

/** Loads `examples/<file>` with namespace `default`, a fixed uid and generation 1. */
export function loadExample(file: string): CommitLogCluster {
  const doc = parse(readFileSync(resolve(root, 'examples', file), 'utf8')) as CommitLogCluster;
  return {
    ...doc,
    metadata: { ...doc.metadata, namespace: 'default', uid: '00000000-0000-4000-8000-000000000001', generation: 1 },
  };
}
