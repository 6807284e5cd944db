import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const e2e = resolve(import.meta.dirname, '../test/e2e');
const bash = spawnSync('bash', ['-c', 'command -v bash'], { encoding: 'utf8' }).stdout.trim();

describe('test/e2e scripts (npm run test:e2e: kind where Docker exists, the local test node elsewhere)', () => {
  for (const f of ['run.sh', 'flow.sh', 'lib.sh', 'client.sh', 'steps.sh', 'steps-certs.sh', 'steps-volumes.sh']) {
    it(`${f} parses (bash -n)`, () => {
      const r = spawnSync(bash, ['-n', join(e2e, f)], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
    });
  }

  it('says exactly which tools each backend is missing and exits 2 without touching anything', () => {
    // A PATH with only what the script needs before its tool check.
    const bin = mkdtempSync(join(tmpdir(), 'commitlog-e2e-path-'));
    try {
      for (const tool of ['dirname', 'date']) {
        const path = spawnSync('bash', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
        symlinkSync(path, join(bin, tool));
      }
      const r = spawnSync(bash, [join(e2e, 'run.sh')], {
        encoding: 'utf8',
        env: { PATH: bin, HOME: bin },
        timeout: 10_000,
      });
      assert.equal(r.status, 2);
      assert.match(
        r.stderr,
        /test:e2e cannot run: missing docker kind kubectl helm for the kind backend, or go containerd runc ctr iptables mmdebstrap umoci unshare nsenter timeout .*for the local node/,
      );
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });
});
