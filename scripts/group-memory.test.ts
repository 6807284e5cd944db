import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { groupMemory, memoryBreakdown } from './group-memory.js';

describe('groupMemory (test:stress memory sampling)', function () {
  this.timeout(30_000);

  it('sums the resident memory of a process group and names its largest process', async () => {
    // A detached child is its own group leader; it holds 200 MB of touched memory.
    const child = spawn(
      process.execPath,
      [
        '-e',
        'globalThis.b = Buffer.alloc(200 * 2 ** 20, 1); process.stdout.write("ready\\n"); setInterval(() => {}, 1000);',
      ],
      { detached: true, stdio: ['ignore', 'pipe', 'ignore'] },
    );
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.once('data', () => resolve());
        child.once('exit', (c) => reject(new Error(`the child exited (${c})`)));
      });
      const pid = child.pid ?? assert.fail('no pid');
      const m = groupMemory(pid);
      assert.equal(m.processes, 1);
      assert.equal(m.largest?.pid, pid);
      assert.ok((m.largest?.rssMb ?? 0) >= 200, `largest ${m.largest?.rssMb} MB`);
      assert.ok(m.totalMb >= m.largest.rssMb);
      assert.match(m.largest.cmd, /Buffer\.alloc/);
      assert.match(memoryBreakdown(pid), /Anonymous: \d+ kB/);
      assert.deepEqual(groupMemory(2 ** 22 + 12345), { totalMb: 0, processes: 0, largest: undefined }, 'no such group');
    } finally {
      child.kill('SIGKILL');
    }
  });
});
