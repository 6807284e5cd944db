import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { resolveOperatorConfig } from './config.js';

/** Runs the operator's main with `args` and `env`; resolves with its exit code and stderr. */
function runMain(
  args: readonly string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', 'tsx', resolve(import.meta.dirname, 'main.ts'), ...args], {
      // No cluster credentials: a process that got past validation would fail differently (exit 1).
      env: { PATH: process.env.PATH ?? '', KUBECONFIG: '/nonexistent/kubeconfig', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', fail);
    child.on('exit', (code) => done({ code, stderr }));
  });
}

describe("the operator's flags and environment", function () {
  this.timeout(60_000);

  it('defaults: port 8080, concurrency 2, every namespace, the Admin service on', () => {
    const r = resolveOperatorConfig({}, {}, 'host-1');
    assert.deepEqual(r, {
      ok: true,
      config: {
        httpPort: 8080,
        namespaces: [],
        leaderElect: false,
        leaseName: 'commitlog-operator-leader',
        leaseNamespace: 'default',
        concurrency: 2,
        admin: true,
        logLevel: 'info',
        identity: 'host-1',
      },
    });
  });

  it('a flag wins over the environment, the environment over the default', () => {
    const r = resolveOperatorConfig(
      { namespaces: 'a,b' },
      { WATCH_NAMESPACES: 'c', POD_NAMESPACE: 'ops', POD_NAME: 'op-0' },
      'h',
    );
    assert.ok(r.ok);
    assert.deepEqual([r.config.namespaces, r.config.leaseNamespace, r.config.identity], [['a', 'b'], 'ops', 'op-0']);
  });

  it('every invalid value is one message naming its flag or variable', () => {
    const r = resolveOperatorConfig(
      { concurrency: 'abc', httpPort: '70000', logLevel: 'loud', leaseName: 'Bad_Name' },
      { WATCH_NAMESPACES: 'ok,Not_A_Namespace', POD_NAMESPACE: '-x' },
      'h',
    );
    assert.deepEqual(r, {
      ok: false,
      errors: [
        '--http-port: "70000" is not an integer from 0 to 65535',
        '--concurrency: "abc" is not an integer from 1 to 64',
        'WATCH_NAMESPACES: "Not_A_Namespace" is not a namespace name (a DNS-1123 label)',
        '--lease-name: "Bad_Name" is not a DNS-1123 subdomain',
        'POD_NAMESPACE: "-x" is not a namespace name (a DNS-1123 label)',
        '--log-level: "loud" is not one of fatal, error, warn, info, debug, trace, silent',
      ],
    });
    assert.equal(resolveOperatorConfig({ concurrency: '0' }, {}, 'h').ok, false, 'zero workers is refused too');
  });

  it('main exits 2 with a clear message on `--concurrency abc` and on a bad WATCH_NAMESPACES, before connecting', async () => {
    const r = await runMain(['--concurrency', 'abc'], { WATCH_NAMESPACES: 'Bad_NS' });
    assert.equal(r.code, 2, r.stderr);
    assert.equal(
      r.stderr,
      'commitlog-operator: invalid configuration:\n' +
        '  --concurrency: "abc" is not an integer from 1 to 64\n' +
        '  WATCH_NAMESPACES: "Bad_NS" is not a namespace name (a DNS-1123 label)\n',
    );
  });

  it('main exits 2 on an unknown flag', async () => {
    const r = await runMain(['--concurency', '3'], {});
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /unknown option '--concurency'/);
  });
});
