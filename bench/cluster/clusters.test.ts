import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommitlogCluster, ROOT, benchPki, waitFor } from './clusters.js';

/** Pids of the live processes whose command line mentions `needle` (from /proc). */
function processesMentioning(needle: string): number[] {
  const found: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8');
      const state = /^State:\s+(\S)/m.exec(readFileSync(`/proc/${d}/status`, 'utf8'))?.[1];
      if (cmd.includes(needle) && state !== 'Z') found.push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

describe('bench:cluster: the systems under test', () => {
  let fake: string;
  let pkiDir: string | undefined;
  beforeEach(() => {
    // A checkout whose agent stays up as node-0 and node-2 but exits at once as node-1.
    fake = mkdtempSync(join(tmpdir(), 'commitlog-bench-fake-root-'));
    mkdirSync(join(fake, 'node/src/agent'), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules'), join(fake, 'node_modules'));
    writeFileSync(
      join(fake, 'node/src/agent/main.ts'),
      [
        "const name = process.argv.find((a) => a.startsWith('--node-name='))?.slice(12);",
        "if (name === 'node-1') { process.stderr.write('node-1 refuses to start\\n'); process.exit(3); }",
        'setInterval(() => {}, 1000);',
        '',
      ].join('\n'),
    );
  });
  afterEach(() => {
    for (const pid of processesMentioning(fake)) process.kill(pid, 'SIGKILL'); // only what this test started
    rmSync(fake, { recursive: true, force: true });
    if (pkiDir !== undefined) rmSync(pkiDir, { recursive: true, force: true });
  });

  it('a commitlog cluster whose start fails midway leaves no node process behind', async function () {
    this.timeout(120_000);
    const { pki, dir, credentials } = await benchPki();
    pkiDir = dir;
    await assert.rejects(
      CommitlogCluster.start({ name: 'fails', root: fake, pki, credentials }),
      /fails\/node-1 exited: node-1 refuses to start/,
    );
    // The other two were started (they never exit on their own) and must be stopped by now;
    // the bounded wait only covers /proc catching up with an exit already awaited.
    await waitFor('no agent of the failed start to be left', 10_000, () =>
      Promise.resolve(processesMentioning(fake).length === 0 ? true : undefined),
    ).catch(() => assert.fail(`left running: ${processesMentioning(fake).join(', ')}`));
  });
});
