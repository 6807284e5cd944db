/**
 * The CLI end to end: `commitlog agent --bootstrap` (the cluster agent: log + Raft + gossip +
 * gRPC) as a real child process on 127.0.0.1 with free ports, mutual TLS and the ACL; then
 * `commitlog produce` / `consume` as real child processes against it; then SIGTERM.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { ensureLocalPki, localPkiFlags, type LocalPki } from '../agent/local-pki.js';
import { eventually } from '../agent/testing/cluster.js';
import { freePort } from '../agent/testing/processes.js';
import { consume, produce, servers } from './client-commands.js';
import { cli, collect, startCliAgent, type CliAgent } from './testing/fixtures.js';

describe('commitlog agent (cluster agent of one, real process) + client commands', function () {
  // A bound for a loaded machine (a tsx start took over 40 s at load 25), not a condition.
  this.timeout(150_000);
  let dir: string;
  let pki: LocalPki;
  let agent: CliAgent;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'commitlog-cli-'));
    pki = (await ensureLocalPki(dir)).paths;
    const [gossip, rpc, http] = [await freePort(), await freePort(), await freePort()];
    // Cluster options from the YAML config file too: it accepts every cluster agent key.
    const config = join(dir, 'node.yaml');
    // request-log-level info: the per-request line is at debug by default; this test reads it.
    writeFileSync(config, 'cluster-id: cli-test\nraft-preset: test\ngossip-preset: local\nrequest-log-level: info\n');
    agent = await startCliAgent([
      'agent',
      '--bootstrap',
      '--node-name',
      'cli-node',
      '--data-dir',
      join(dir, 'data'),
      '--config-file',
      config,
      '--bind-addr',
      `127.0.0.1:${gossip}`,
      '--rpc-port',
      String(rpc),
      '--http-port',
      String(http),
      ...Object.entries(localPkiFlags(pki)).flatMap(([k, v]) => [`--${k}`, v]),
    ]);
    assert.equal(agent.rpcPort, rpc);
    assert.match(agent.stdout(), /"clusterId":"cli-test"/);
    // Ready = a leader is known and this node is in the configuration (it elects itself).
    await eventually(
      'readyz 200',
      async () => (await fetch(`http://127.0.0.1:${agent.httpPort}/readyz`)).status === 200,
      15_000,
    );
  });

  after(() => {
    if (agent?.proc.exitCode === null && agent.proc.signalCode === null) agent.proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  const clientArgs = (cn: 'root' | 'nobody'): string[] => [
    '--addr',
    `127.0.0.1:${agent.rpcPort}`,
    '--ca-file',
    pki.ca,
    '--server-name',
    'localhost',
    '--cert-file',
    cn === 'root' ? pki.rootCert : pki.nobodyCert,
    '--key-file',
    cn === 'root' ? pki.rootKey : pki.nobodyKey,
  ];
  const flags = (cn: 'root' | 'nobody') => ({
    addr: `127.0.0.1:${agent.rpcPort}`,
    caFile: pki.ca,
    serverName: 'localhost',
    certFile: cn === 'root' ? pki.rootCert : pki.nobodyCert,
    keyFile: cn === 'root' ? pki.rootKey : pki.nobodyKey,
  });

  it('`commitlog produce` prints offsets and `commitlog consume` prints the values back (both as processes)', async () => {
    const p = await cli(['produce', ...clientArgs('root'), 'first', 'second']);
    assert.deepEqual({ code: p.code, out: p.stdout }, { code: 0, out: '0\n1\n' }, p.stderr);
    const c = await cli(['consume', ...clientArgs('root'), '--offset', '0', '--json']);
    assert.equal(c.code, 0, c.stderr);
    assert.deepEqual(
      c.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as unknown),
      [
        { offset: 0, value: 'first' },
        { offset: 1, value: 'second' },
      ],
    );
  });

  it('servers lists this node as the leader; consume --follow delivers a record produced later', async () => {
    const s = collect();
    await servers(flags('root'), s.out);
    assert.match(s.text(), new RegExp(`^cli-node\\t127\\.0\\.0\\.1:${agent.rpcPort}\\tleader\\n$`));
    const c = collect();
    const following = consume({ ...flags('root'), offset: 2, follow: true, max: 1 }, c.out);
    await produce(['later'], flags('root'), collect().out);
    await following;
    assert.equal(c.text(), '2\tlater\n', 'plain output is <offset> TAB <value>');
  });

  it('consume at the end prints nothing; past the end it fails with OUT_OF_RANGE and the bounds', async () => {
    const atEnd = collect();
    await consume({ ...flags('root'), offset: 3 }, atEnd.out);
    assert.equal(atEnd.text(), '');
    const past = await cli(['consume', ...clientArgs('root'), '--offset', '100']);
    assert.equal(past.code, 66, 'EX_NOINPUT: the error table row of offset-out-of-range');
    assert.match(past.stderr, /OUT_OF_RANGE: offset 100 is outside the committed log \[0, 3\)/);
  });

  it('nobody is refused with PERMISSION_DENIED (the ACL applies); the process exits 77 (EX_NOPERM)', async () => {
    await assert.rejects(
      produce(['x'], flags('nobody'), collect().out),
      (err: { code?: number; details?: string }) => err.code === 7 && err.details === 'nobody not permitted to produce',
    );
    const refused = await cli(['produce', ...clientArgs('nobody'), 'x']);
    assert.equal(refused.code, 77, refused.stderr);
  });

  it('binary values round-trip with --encoding hex and base64 (both as processes); a bad value is a usage error that appends nothing', async () => {
    const bytes = Buffer.from([0xff, 0x00, 0xfe, 0x80, 0x0a, 0x41]);
    const p = await cli(['produce', ...clientArgs('root'), '--encoding', 'hex', bytes.toString('hex')]);
    assert.deepEqual({ code: p.code, out: p.stdout }, { code: 0, out: '3\n' }, p.stderr);
    const p2 = await cli(['produce', ...clientArgs('root'), '--encoding', 'base64', bytes.toString('base64')]);
    assert.deepEqual({ code: p2.code, out: p2.stdout }, { code: 0, out: '4\n' }, p2.stderr);
    const hex = await cli(['consume', ...clientArgs('root'), '--offset', '3', '--encoding', 'hex']);
    assert.deepEqual(
      { code: hex.code, out: hex.stdout },
      { code: 0, out: `3\t${bytes.toString('hex')}\n4\t${bytes.toString('hex')}\n` },
      hex.stderr,
    );
    const b64 = await cli(['consume', ...clientArgs('root'), '--offset', '3', '--encoding', 'base64', '--json']);
    assert.equal(b64.code, 0, b64.stderr);
    for (const line of b64.stdout.trim().split('\n'))
      assert.deepEqual(Buffer.from((JSON.parse(line) as { value: string }).value, 'base64'), bytes);
    const bad = await cli(['produce', ...clientArgs('root'), '--encoding', 'hex', 'abc']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /not hex/);
    const unknown = await cli(['produce', ...clientArgs('root'), '--encoding', 'latin1', 'x']);
    assert.equal(unknown.code, 2);
    const after = collect();
    await consume({ ...flags('root'), offset: 5 }, after.out);
    assert.equal(after.text(), '', 'nothing was appended by the refused commands');
  });

  it('--addr commitlog:///seed,seed goes through the load-balancing resolver (a dead first seed is skipped)', async () => {
    const dead = await freePort();
    const target = `commitlog:///127.0.0.1:${dead},127.0.0.1:${agent.rpcPort}`;
    const args = [
      '--addr',
      target,
      '--ca-file',
      pki.ca,
      '--server-name',
      'localhost',
      '--cert-file',
      pki.rootCert,
      '--key-file',
      pki.rootKey,
    ];
    const p = await cli(['produce', ...args, 'balanced']);
    assert.deepEqual({ code: p.code, out: p.stdout }, { code: 0, out: '5\n' }, p.stderr);
    const c = await cli(['consume', ...args, '--offset', '5', '--json']);
    assert.equal(c.code, 0, c.stderr);
    assert.deepEqual(JSON.parse(c.stdout) as unknown, { offset: 5, value: 'balanced' });
  });

  it('serves Raft and server metrics, /healthz and /readyz on the HTTP port', async () => {
    const metrics = await (await fetch(`http://127.0.0.1:${agent.httpPort}/metrics`)).text();
    assert.match(metrics, /commitlog_grpc_requests_total\{method="\/log\.v1\.Log\/ProduceStream",code="OK"\} \d+/);
    assert.match(metrics, /commitlog_log_fsync_duration_seconds_count [1-9]/);
    assert.match(metrics, /commitlog_raft_/);
    assert.equal((await fetch(`http://127.0.0.1:${agent.httpPort}/healthz`)).status, 200);
  });

  it('stops with exit code 0 on SIGTERM, having logged one line per request', async () => {
    agent.proc.kill('SIGTERM');
    const [code] = (await once(agent.proc, 'exit')) as [number | null];
    assert.equal(code, 0, agent.stderr());
    const requests = agent
      .stdout()
      .split('\n')
      .filter((l) => l.includes('"msg":"request"'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const denied = requests.find((r) => r.code === 'PERMISSION_DENIED');
    assert.equal(denied?.subject, 'nobody');
    assert.match(agent.stdout(), /"msg":"agent stopped"/);
  });
});

describe('commitlog agent: usage errors exit 2 with a clear message', function () {
  // A bound for a loaded machine (a tsx start took over 40 s at load 25), not a condition.
  this.timeout(150_000);

  it('an unknown flag', async () => {
    const r = await cli(['agent', '--bogus']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown option '--bogus'/);
  });

  it('no TLS: names the problem and points to --standalone for a plaintext dev node', async () => {
    const r = await cli(['agent', '--data-dir', join(tmpdir(), 'commitlog-never-created'), '--insecure']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /a cluster needs mutual TLS/);
    assert.match(r.stderr, /commitlog agent --standalone --insecure/);
  });

  it('a cluster option with --standalone is refused, not ignored', async () => {
    const r = await cli([
      'agent',
      '--standalone',
      '--insecure',
      '--bootstrap',
      '--data-dir',
      join(tmpdir(), 'commitlog-never-created'),
    ]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--bootstrap: not accepted with --standalone/);
  });
});

describe('commitlog agent --standalone (plaintext development node, real process)', function () {
  // A bound for a loaded machine (a tsx start took over 40 s at load 25), not a condition.
  this.timeout(150_000);
  let dir: string;
  let agent: ChildProcess | undefined;
  before(() => void (dir = mkdtempSync(join(tmpdir(), 'commitlog-standalone-'))));
  after(() => {
    if (agent?.exitCode === null && agent.signalCode === null) agent.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves produce/consume without TLS and exits 0 on SIGTERM', async () => {
    const a = await startCliAgent([
      'agent',
      '--standalone',
      '--insecure',
      '--data-dir',
      join(dir, 'data'),
      '--rpc-port',
      '0',
      '--http-port',
      '0',
      '--node-name',
      'dev',
    ]);
    agent = a.proc;
    const addr = `127.0.0.1:${a.rpcPort}`;
    await produce(['plain', 'b', 'c', 'd', 'e'], { addr, insecure: true }, collect().out);
    const c = collect();
    await consume({ addr, insecure: true, offset: 0 }, c.out);
    assert.equal(c.text(), '0\tplain\n1\tb\n2\tc\n3\td\n4\te\n');
    // The CLI reads batches (issue 15): --max stops inside one, after exactly that many.
    const some = collect();
    await consume({ addr, insecure: true, offset: 1, max: 2 }, some.out);
    assert.equal(some.text(), '1\tb\n2\tc\n');
    a.proc.kill('SIGTERM');
    const [code] = (await once(a.proc, 'exit')) as [number | null];
    assert.equal(code, 0, a.stderr());
  });
});
