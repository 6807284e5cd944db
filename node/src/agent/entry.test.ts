/**
 * The two entry points of the agent — node/src/agent/main.ts (npm start, process tests)
 * and `commitlog agent` (node/src/cli/main.ts, the image) — resolve the same flags,
 * environment and config file to the same configuration, and refuse a bad one alike.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureLocalPki, localPkiFlags, type LocalPki } from './local-pki.js';

const SRC = join(import.meta.dirname, '..');
const ENTRIES = {
  'agent/main.ts': [join(SRC, 'agent', 'main.ts')],
  'cli/main.ts agent': [join(SRC, 'cli', 'main.ts'), 'agent'],
} as const;

interface Exit {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(entry: readonly string[], args: readonly string[], env: NodeJS.ProcessEnv): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', ...entry, ...args], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('agent entry points: agent/main.ts and `commitlog agent` resolve identically', function () {
  // Two tsx processes per case on a busy machine; no timing is asserted.
  this.timeout(120_000);
  let dir: string;
  let pki: LocalPki;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'commitlog-entry-'));
    pki = (await ensureLocalPki(dir)).paths;
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const both = (args: readonly string[], env: NodeJS.ProcessEnv): Promise<Exit[]> =>
    Promise.all(Object.values(ENTRIES).map((e) => run(e, args, env)));

  it('the same flags, env and config file print the same resolved configuration', async () => {
    const file = join(dir, 'node.yaml');
    writeFileSync(file, 'membership-resync-ms: 2500\nraft-preset: test\nstart-join-addrs: [127.0.0.1:18401]\n');
    const flags = Object.entries(localPkiFlags(pki)).flatMap(([k, v]) => [`--${k}`, String(v)]);
    const args = [
      '--print-config',
      '--config-file',
      file,
      '--data-dir',
      join(dir, 'data'),
      '--rpc-port',
      '0',
      ...flags,
    ];
    const env = { COMMITLOG_NODE_NAME: 'n7', COMMITLOG_SHUTDOWN_TRANSFER_MS: '1234', COMMITLOG_CLUSTER_ID: 'c1' };
    const [a, b] = await both(args, env);
    assert.ok(a && b);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    assert.equal(a.stdout, b.stdout);
    const config = JSON.parse(a.stdout) as Record<string, unknown>;
    assert.equal(config.nodeName, 'n7');
    assert.equal(config.clusterId, 'c1');
    assert.equal(config.shutdownTransferMs, 1234);
    assert.equal(config.membershipResyncMs, 2500);
    assert.equal(config.raftPreset, 'test');
    assert.deepEqual(config.joinAddrs, ['127.0.0.1:18401']);
  });

  it('a bad configuration exits 2 from both with the same problems', async () => {
    const [a, b] = await both(['--print-config', '--rpc-port', '99999', '--external-addr', 'host:99999'], {
      COMMITLOG_ROLE: 'boss',
    });
    assert.ok(a && b);
    const problems = (e: Exit): string[] => e.stderr.split('\n').filter((l) => l.startsWith('  - '));
    assert.equal(a.code, 2, a.stderr);
    assert.equal(b.code, 2, b.stderr);
    assert.deepEqual(problems(a), problems(b));
    assert.ok(problems(a).some((p) => p.includes('--rpc-port: expected an integer in [0, 65535]')));
    assert.ok(problems(a).some((p) => p.includes('--external-addr: expected host:port, got "host:99999"')));
    assert.ok(problems(a).some((p) => p.includes('COMMITLOG_ROLE: expected one of voter|learner')));
  });
});
