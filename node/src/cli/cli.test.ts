/**
 * The CLI end to end: `commitlog certs init`, then `commitlog agent` as a real child
 * process with mutual TLS and the ACL, then the client commands against it, then SIGTERM.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { once } from 'node:events';
import { certsInit } from './certs-command.js';
import { consume, produce, servers } from './client-commands.js';

const main = join(import.meta.dirname, 'main.ts');
const aclDir = join(import.meta.dirname, '..', '..', 'config', 'acl');

function collect(): { out: PassThrough; text: () => string } {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  return { out, text: () => Buffer.concat(chunks).toString('utf8') };
}

describe('commitlog CLI (agent process + client commands)', function () {
  this.timeout(40_000);
  let dir: string;
  let agent: ChildProcess | undefined;
  let rpcPort = 0;
  let httpPort = 0;
  let stderr = '';
  let stdout = '';

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'commitlog-cli-'));
    await certsInit({ outDir: join(dir, 'certs') });
    const c = join(dir, 'certs');
    agent = spawn(process.execPath, ['--import', 'tsx', main, 'agent',
      '--data-dir', join(dir, 'data'), '--rpc-port', '0', '--http-port', '0', '--node-name', 'cli-test',
      '--server-tls-cert-file', join(c, 'server.pem'), '--server-tls-key-file', join(c, 'server-key.pem'), '--server-tls-ca-file', join(c, 'ca.pem'),
      '--acl-model-file', join(aclDir, 'model.conf'), '--acl-policy-file', join(aclDir, 'policy.csv')], { stdio: ['ignore', 'pipe', 'pipe'] });
    agent.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    let buf = '';
    await new Promise<void>((resolve, reject) => {
      agent?.on('exit', (code) => reject(new Error(`agent exited early (${code}): ${stderr}`)));
      agent?.stdout?.on('data', (d: Buffer) => {
        buf += d.toString();
        stdout = buf;
        for (const line of buf.split('\n')) {
          if (!line.includes('agent started')) continue;
          const j = JSON.parse(line) as { rpcPort: number; httpPort: number };
          rpcPort = j.rpcPort;
          httpPort = j.httpPort;
          resolve();
        }
      });
    });
  });

  after(() => {
    if (agent && agent.exitCode === null) agent.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  const flags = (cn: string) => ({
    addr: `127.0.0.1:${rpcPort}`,
    caFile: join(dir, 'certs', 'ca.pem'),
    certFile: join(dir, 'certs', `${cn}-client.pem`),
    keyFile: join(dir, 'certs', `${cn}-client-key.pem`),
    serverName: 'localhost',
  });

  it('produce prints offsets; consume prints the values back; servers lists this node as leader', async () => {
    const p = collect();
    await produce(['first', 'second'], flags('root'), p.out);
    assert.equal(p.text(), '0\n1\n');
    const c = collect();
    await consume({ ...flags('root'), offset: 0, json: true }, c.out);
    assert.deepEqual(c.text().trim().split('\n').map((l) => JSON.parse(l) as unknown), [{ offset: 0, value: 'first' }, { offset: 1, value: 'second' }]);
    const s = collect();
    await servers(flags('root'), s.out);
    assert.match(s.text(), /^cli-test\t127\.0\.0\.1:\d+\tleader\n$/);
  });

  it('consume --follow delivers a record produced later', async () => {
    const c = collect();
    const following = consume({ ...flags('root'), offset: 2, follow: true, max: 1 }, c.out);
    await produce(['later'], flags('root'), collect().out);
    await following;
    assert.equal(c.text(), 'later\n');
  });

  it('nobody is refused with PERMISSION_DENIED', async () => {
    await assert.rejects(produce(['x'], flags('nobody'), collect().out), (err: { code?: number; details?: string }) => err.code === 7 && err.details === 'nobody not permitted to produce');
  });

  it('serves /metrics, /healthz and /readyz on the HTTP port', async () => {
    const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    assert.match(metrics, /commitlog_grpc_requests_total\{method="\/log\.v1\.Log\/ProduceStream",code="OK"\} \d+/);
    assert.match(metrics, /commitlog_log_highest_offset \d+/);
    assert.match(metrics, /commitlog_log_fsync_duration_seconds_count [1-9]/);
    assert.equal((await fetch(`http://127.0.0.1:${httpPort}/healthz`)).status, 200);
    assert.equal((await fetch(`http://127.0.0.1:${httpPort}/readyz`)).status, 200);
  });

  it('stops cleanly on SIGTERM, logging one line per request', async () => {
    agent?.kill('SIGTERM');
    const [code] = (await once(agent as ChildProcess, 'exit')) as [number | null];
    assert.equal(code, 0, stderr);
    const requests = stdout.split('\n').filter((l) => l.includes('"msg":"request"')).map((l) => JSON.parse(l) as Record<string, unknown>);
    const denied = requests.find((r) => r.code === 'PERMISSION_DENIED');
    assert.deepEqual(denied && Object.keys(denied).filter((k) => ['method', 'subject', 'code', 'ms'].includes(k)).sort(), ['code', 'method', 'ms', 'subject']);
    assert.equal(denied?.subject, 'nobody');
  });
});
