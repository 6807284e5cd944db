import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const START = fileURLToPath(new URL('./start.ts', import.meta.url));
const CLI = fileURLToPath(new URL('../node/src/cli/main.ts', import.meta.url));

/** A running `npm start` (scripts/start.ts) with its output collected. */
class StartRun {
  readonly proc: ChildProcess;
  out = '';
  readonly exited: Promise<number | null>;
  constructor(args: string[]) {
    this.proc = spawn(process.execPath, ['--import', 'tsx', START, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc.stdout?.on('data', (d: Buffer) => (this.out += d.toString()));
    this.proc.stderr?.on('data', (d: Buffer) => (this.out += d.toString()));
    this.exited = new Promise((r) => this.proc.once('exit', (code) => r(code)));
  }
  async waitFor(re: RegExp, ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (!re.test(this.out)) {
      if (this.proc.exitCode !== null)
        throw new Error(`start.ts exited (${this.proc.exitCode}) before ${re}:\n${this.out.slice(-3000)}`);
      if (Date.now() > deadline) throw new Error(`no ${re} within ${ms} ms:\n${this.out.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  pids(): number[] {
    return [...this.out.matchAll(/started node-\d \(pid (\d+)\)/g)].map((m) => Number(m[1]));
  }
}

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const t = setTimeout(() => p.kill('SIGKILL'), 20_000);
    p.once('exit', (code) => (clearTimeout(t), resolve({ code, stdout, stderr })));
  });
}

/** Runs one printed shell line (curl) with a bound; resolves with its stdout. */
function sh(line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn('sh', ['-c', line], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const t = setTimeout(() => p.kill('SIGKILL'), 20_000);
    p.once('exit', (code) => {
      clearTimeout(t);
      if (code === 0) resolve(out);
      else reject(new Error(`${line} exited ${code}: ${err}${out}`));
    });
  });
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('npm start (scripts/start.ts): a local 3-node cluster', function () {
  this.timeout(120_000);
  const dir = mkdtempSync(join(tmpdir(), 'commitlog-start-'));
  // Ports base..base+22 in a range the defaults (8400…) and ephemeral ports do not use.
  const base = 21000 + 100 * Math.floor(Math.random() * 80);
  const runs: StartRun[] = [];
  after(async () => {
    for (const r of runs) if (r.proc.exitCode === null) r.proc.kill('SIGINT');
    await Promise.all(runs.map((r) => r.exited));
    for (const r of runs) for (const pid of r.pids()) if (alive(pid)) process.kill(pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts, serves produce and consume through the CLI, stops all three on SIGINT, and restarts from the same data', async () => {
    const first = new StartRun(['--base-port', String(base), '--dir', dir]);
    runs.push(first);
    await first.waitFor(/cluster ready: 3 voters, leader node-\d/, 60_000);
    assert.match(first.out, /starting a new 3-node cluster/);
    const tls = [
      '--ca-file',
      join(dir, 'certs/ca.pem'),
      '--cert-file',
      join(dir, 'certs/root-client.pem'),
      '--key-file',
      join(dir, 'certs/root-client-key.pem'),
    ];
    const produced = await cli(['produce', '--addr', `127.0.0.1:${base + 10}`, ...tls, 'hello']);
    assert.equal(produced.code, 0, produced.stderr);
    assert.equal(produced.stdout, '0\n');
    const consumed = await cli(['consume', '--addr', `127.0.0.1:${base + 20}`, ...tls, '--offset', '0']);
    assert.equal(consumed.code, 0, consumed.stderr);
    assert.equal(consumed.stdout, '0\thello\n');
    // Role names as in `commitlog servers` (leader/voter), and no deprecation warning anywhere.
    const listed = [...first.out.matchAll(/^\s+node-\d\s+127\.0\.0\.1:\d+\s+(\S+)$/gm)].map((m) => m[1]).sort();
    assert.deepEqual(listed, ['leader', 'voter', 'voter'], first.out.slice(-3000));

    // The curl lines it printed work as printed (the README's quick start shows the same for base 8400).
    const printed = first.out
      .slice(first.out.indexOf('JSON over HTTPS with curl'))
      .split('\n')
      .filter((l) => l.startsWith('  curl '))
      .map((l) => l.trim());
    assert.equal(printed.length, 6, first.out.slice(-3000));
    // One after the other: the two writes (the book's POST, then the batch) get their
    // offsets in that order only if the second starts after the first was acknowledged (a
    // stress run had them concurrent: the batch got 1 and 2, the POST 3).
    const outs: string[] = [];
    for (const l of printed) outs.push((await sh(l.replace('from=0&encoding', 'from=0&max=3&encoding'))).trim()); // the tail line follows forever: stop it after 3
    const [bookPost, bookGet, batch, range, servers, tail] = outs;
    assert.equal(bookPost, '{"offset":1}');
    assert.match(bookGet ?? '', /^\{"record":\{"offset":0,"term":\d+,"value":"aGVsbG8="\}\}$/);
    assert.equal(batch, '{"offsets":[2,3]}');
    assert.equal((JSON.parse(range ?? '') as { records: { value: string }[] }).records[0]?.value, 'hello');
    assert.equal((JSON.parse(servers ?? '') as { servers: unknown[] }).servers.length, 3);
    assert.equal(tail?.split('\n').length, 3);

    const pids = first.pids();
    assert.equal(pids.length, 3);
    // Gossip is encrypted: a key was generated in the data dir and every node was given it.
    const key = readFileSync(join(dir, 'gossip.key'), 'utf8').trim();
    assert.equal(Buffer.from(key, 'base64').length, 32);
    for (const pid of pids)
      assert.match(
        readFileSync(`/proc/${pid}/cmdline`, 'utf8'),
        new RegExp(`--gossip-key-file=${join(dir, 'gossip.key')}`),
      );
    first.proc.kill('SIGINT');
    assert.equal(await first.exited, 0, first.out.slice(-3000));
    assert.match(first.out, /all nodes stopped/);
    for (const pid of pids) assert.equal(alive(pid), false, `agent pid ${pid} still running`);
    assert.doesNotMatch(first.out, /DeprecationWarning|\bDEP0\d{3}\b/, 'npm start prints no deprecation warning');

    // A second start reuses the certificates and the data: no second bootstrap, the record is still there.
    const second = new StartRun(['--base-port', String(base), '--dir', dir]);
    runs.push(second);
    await second.waitFor(/cluster ready: 3 voters/, 60_000);
    assert.match(second.out, /restarting the cluster/);
    assert.match(second.out, /node-0 \| .*--bootstrap ignored \(bootstrap happens once\)/);
    assert.doesNotMatch(second.out, /created certificates/);
    assert.equal(readFileSync(join(dir, 'gossip.key'), 'utf8').trim(), key, 'the cluster keeps its gossip key');
    const again = await cli(['consume', '--addr', `127.0.0.1:${base}`, ...tls, '--offset', '0']);
    assert.equal(again.stdout, '0\thello\n1\thello\n2\thello\n3\tworld\n', again.stderr); // the CLI's record and the three curl produced
    second.proc.kill('SIGTERM');
    assert.equal(await second.exited, 0);
    for (const pid of second.pids()) assert.equal(alive(pid), false, `agent pid ${pid} still running`);
  });

  it('exits 1 naming the port when one of its ports is busy', async () => {
    const holder: Server = createServer();
    await new Promise<void>((r) => holder.listen(base + 12, '127.0.0.1', () => r()));
    try {
      const run = new StartRun(['--base-port', String(base), '--dir', dir]);
      runs.push(run);
      assert.equal(await run.exited, 1);
      assert.match(run.out, new RegExp(`${base + 12} \\(node-1 metrics\\)`));
      assert.match(run.out, /--base-port/);
    } finally {
      await new Promise<void>((r) => holder.close(() => r()));
    }
  });
});
