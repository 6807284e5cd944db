import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultOutDir, generate, listFiles } from '../../scripts/gen-proto.js';

describe('generated gRPC code (node/src/gen)', function () {
  this.timeout(60_000);

  it('is what `npm run gen` produces from node/api today (run `npm run gen` if this fails)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'commitlog-gen-'));
    try {
      generate(dir);
      const fresh = listFiles(dir);
      assert.deepEqual(listFiles(defaultOutDir), fresh, 'generated file list differs');
      assert.ok(fresh.length >= 3, 'expected log, admin and health code');
      for (const file of fresh) {
        assert.equal(
          readFileSync(join(defaultOutDir, file), 'utf8'),
          readFileSync(join(dir, file), 'utf8'),
          `node/src/gen/${file} is stale: run \`npm run gen\``,
        );
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
