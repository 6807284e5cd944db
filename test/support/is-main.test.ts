import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { isMain } from './is-main.js';

// A script guarded by isMain (large-history.ts prints one JSON line when run).
const SCRIPT = fileURLToPath(new URL('../chaos/large-history.ts', import.meta.url));
const run = async (path: string): Promise<string> =>
  (await promisify(execFile)(process.execPath, ['--import', 'tsx', path, '3', '1'])).stdout;

describe('isMain: whether a module is the program node was started with', () => {
  it('is false for a module imported by another program (here: under mocha)', () => {
    assert.equal(isMain(import.meta), false);
  });

  it('is true for the script node was started with, directly and through a symlink', async function () {
    this.timeout(60_000);
    assert.match(await run(SCRIPT), /"outcome":"ok"/);
    const dir = mkdtempSync(join(tmpdir(), 'commitlog-is-main-'));
    try {
      symlinkSync(SCRIPT, join(dir, 'linked.ts'));
      assert.match(await run(join(dir, 'linked.ts')), /"outcome":"ok"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
