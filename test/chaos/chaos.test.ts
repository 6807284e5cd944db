import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { verdict, type ProduceOutcome, type ReadOutcome } from './check.js';
import { deleteNet, netNames, netnsUnavailable } from './netns.js';

const SCRIPT = fileURLToPath(new URL('../../scripts/chaos.ts', import.meta.url));

let clock = 0;
const ack = (producer: number, value: string, offset?: number): ProduceOutcome => ({
  producer,
  value,
  call: ++clock,
  ret: ++clock,
  at: 0,
  sentAt: 0,
  ...(offset === undefined ? { error: 'UNAVAILABLE' } : { offset }),
});
const logs = (...ls: string[][]): Map<string, string[]> => new Map(ls.map((l, i) => [`c${i}`, l]));

describe('chaos tier: the verdict over a run', () => {
  it('accepts identical logs holding every acknowledged record once at its offset', () => {
    const v = verdict(logs(['a', 'b'], ['a', 'b'], ['a', 'b']), [ack(0, 'a', 0), ack(1, 'b', 1)], [], 10_000);
    assert.deepEqual(v.problems, []);
    assert.equal(v.linearizable, 'ok');
  });

  it('reports an acknowledged record that is missing as lost', () => {
    const v = verdict(logs(['a'], ['a']), [ack(0, 'a', 0), ack(0, 'b', 1)], [], 0);
    assert.equal(v.lost, 1);
    assert.match(v.problems.join('\n'), /acknowledged b \(offset 1\) is missing/);
  });

  it('reports a value written twice as a duplicate, even when its call failed', () => {
    const v = verdict(logs(['a', 'a']), [ack(0, 'a')], [], 0);
    assert.equal(v.duplicates, 1);
  });

  it('reports nodes whose logs differ', () => {
    const v = verdict(logs(['a', 'b'], ['a', 'c']), [], [], 0);
    assert.match(v.problems.join('\n'), /c1 differs from c0: 2 vs 2 records, first difference at offset 1/);
  });

  it('reports a read that disagrees with the final log, and a history that is not linearizable', () => {
    const read: ReadOutcome = { offset: 0, value: 'b', call: ++clock, ret: ++clock };
    const v = verdict(logs(['a', 'b']), [ack(0, 'a', 0), ack(0, 'b', 1)], [read], 10_000);
    assert.match(v.problems.join('\n'), /read\(0\) returned b/);
    assert.equal(v.linearizable, 'illegal');
  });
});

describe('chaos tier: a short seeded run (3 agents in network namespaces, seed 1, 20 s of faults)', function () {
  this.timeout(300_000);
  let pid: number | undefined;

  before(function () {
    const why = netnsUnavailable();
    if (why !== undefined) {
      console.log(`    SKIPPED: the chaos tier needs its own network namespaces: ${why}`);
      this.skip();
    }
  });

  after(() => {
    // The script removes its namespaces itself; if it was killed, remove them here by name.
    if (pid !== undefined) deleteNet(netNames(`clc${pid}`, 3));
  });

  it('loses no acknowledged record, writes none twice, and every node ends with the same log', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT, '--seed', '1', '--secs', '20'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    pid = child.pid;
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-6000)));
    // Bounded: a run that hangs is stopped (SIGTERM: the script removes its namespaces).
    const timer = setTimeout(() => child.kill('SIGTERM'), 280_000);
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    clearTimeout(timer);
    assert.equal(code, 0, `chaos run failed:\n${out}\n${err}`);
    const s = JSON.parse(out) as { ok: boolean; lost: number; duplicates: number; acked: number; linearizable: string };
    assert.equal(s.lost, 0);
    assert.equal(s.duplicates, 0);
    assert.ok(s.acked > 0, 'the producers got acknowledgements');
    assert.notEqual(s.linearizable, 'illegal');
  });
});
