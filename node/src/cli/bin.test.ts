/**
 * The installable CLI: `npm run build`'s compilation (tsconfig.build.json) to JavaScript,
 * run as plain `node main.js` — no tsx — for a whole session: a standalone agent from the
 * compiled bin, binary values produced and consumed through it, `certs init`, `--version`.
 * (Start-up time is measured in docs/benchmarks.md, not asserted: tests do not time.)
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { once } from 'node:events';

const ROOT = resolve(import.meta.dirname, '..', '..', '..');

describe('the compiled `commitlog` bin (npm run build)', function () {
  this.timeout(180_000);
  let out: string;
  let main: string;
  let work: string;

  before(() => {
    // Inside the repository, so that the compiled files resolve node_modules as the installed bin does.
    out = join(ROOT, 'build', `.test-${process.pid}`);
    const tsc = spawnSync(
      join(ROOT, 'node_modules', '.bin', 'tsc'),
      ['-p', join(ROOT, 'tsconfig.build.json'), '--outDir', out],
      { cwd: ROOT, encoding: 'utf8' },
    );
    assert.equal(tsc.status, 0, `tsc -p tsconfig.build.json failed:\n${tsc.stdout}${tsc.stderr}`);
    main = join(out, 'node', 'src', 'cli', 'main.js');
    work = mkdtempSync(join(tmpdir(), 'commitlog-bin-'));
  });

  after(() => {
    if (out) rmSync(out, { recursive: true, force: true });
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const run = async (args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> => {
    const p = spawn(process.execPath, [main, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const [code] = (await once(p, 'close')) as [number | null];
    return { code, stdout, stderr };
  };

  it("is package.json's bin, starts with a node shebang and prints the version", async () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      bin: Record<string, string>;
      version: string;
    };
    assert.equal(pkg.bin.commitlog, 'build/node/src/cli/main.js');
    assert.ok(readFileSync(main, 'utf8').startsWith('#!/usr/bin/env node\n'));
    const v = await run(['--version']);
    assert.deepEqual({ code: v.code, out: v.stdout }, { code: 0, out: `${pkg.version}\n` }, v.stderr);
  });

  it('runs an agent and round-trips binary values, all from JavaScript', async () => {
    const certs = await run(['certs', 'init', '--out-dir', join(work, 'certs')]);
    assert.equal(certs.code, 0, certs.stderr);
    assert.match(certs.stdout, /root-client\.pem/);
    const agent = spawn(
      process.execPath,
      [
        main,
        'agent',
        '--standalone',
        '--insecure',
        '--data-dir',
        join(work, 'data'),
        '--rpc-port',
        '0',
        '--http-port',
        '0',
        '--node-name',
        'bin',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      const port = await new Promise<number>((resolvePort, reject) => {
        let text = '';
        agent.stdout.on('data', (d: Buffer) => {
          text += d.toString();
          const line = text.split('\n').find((l) => l.includes('"msg":"agent started'));
          if (line) resolvePort((JSON.parse(line) as { rpcPort: number }).rpcPort);
        });
        agent.once('exit', (code) => reject(new Error(`agent exited (${code}): ${text}`)));
      });
      const addr = ['--addr', `127.0.0.1:${port}`, '--insecure'];
      const p = await run([
        'produce',
        ...addr,
        '--encoding',
        'base64',
        Buffer.from([0, 0xff, 0x10]).toString('base64'),
      ]);
      assert.deepEqual({ code: p.code, out: p.stdout }, { code: 0, out: '0\n' }, p.stderr);
      const c = await run(['consume', ...addr, '--encoding', 'hex', '--json']);
      assert.deepEqual({ code: c.code, out: c.stdout }, { code: 0, out: '{"offset":0,"value":"00ff10"}\n' }, c.stderr);
    } finally {
      agent.kill('SIGTERM');
      if (agent.exitCode === null) await once(agent, 'exit');
    }
  });
});
