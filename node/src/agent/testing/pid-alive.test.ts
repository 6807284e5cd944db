import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { pidAlive } from './pid-alive.js';

describe('pidAlive (whether a process exists)', () => {
  it('is true for a running process and false once it has exited and been reaped', async () => {
    // GIVEN a child that waits
    const child = spawn('sleep', ['600'], { stdio: 'ignore' });
    const exited = once(child, 'exit');
    const pid = child.pid;
    assert.ok(pid !== undefined, 'sleep did not start');
    try {
      // THEN it is alive, as this process is
      assert.equal(pidAlive(pid), true, 'a running child reads as gone');
      assert.equal(pidAlive(process.pid), true, 'this process reads as gone');
    } finally {
      child.kill('SIGKILL');
    }
    // WHEN it is killed and reaped (the exit event comes after waitpid)
    await exited;
    // THEN it is gone
    assert.equal(pidAlive(pid), false, `pid ${pid} reads as alive after it exited`);
  });
});
