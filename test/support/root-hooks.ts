/**
 * Mocha root hook plugin (listed under "require" in .mocharc.json): stops the run's shared
 * control plane after all tests, whether they passed or failed. The control plane itself
 * is started lazily by the first test that calls `useControlPlane()`
 * (test/support/control-plane.ts), so runs that never need it pay nothing.
 */
import { appendFileSync } from 'node:fs';
import type { RootHookObject } from 'mocha';
import { stopShared } from './shared-control-plane.js';

/**
 * Where `npm run test:stress` wants each test's start and end recorded (one line each,
 * appended synchronously, so the file names the test that was running when a run had to be
 * stopped: the mocha process can be too busy, or too big, to say it itself).
 */
const PROGRESS = process.env.COMMITLOG_TEST_PROGRESS;

function progress(what: 'start' | 'end', test: Mocha.Runnable | undefined): void {
  if (PROGRESS === undefined || PROGRESS === '' || test === undefined) return;
  const mb = Math.round(process.memoryUsage.rss() / 1048576);
  appendFileSync(
    PROGRESS,
    `${new Date().toISOString()} ${what} rss=${mb}MB ${test.file ?? '?'} :: ${test.fullTitle()}\n`,
  );
}

/** The hooks mocha registers at the root suite. */
export const mochaHooks: RootHookObject = {
  beforeEach(this: Mocha.Context): void {
    progress('start', this.currentTest);
  },
  afterEach(this: Mocha.Context): void {
    progress('end', this.currentTest);
  },
  async afterAll(this: Mocha.Context): Promise<void> {
    this.timeout(60_000);
    await stopShared();
    // Watchdog: mocha runs with exit: false so that a leaked handle shows; but a leak must
    // not hang CI (test:stress saw one run in eight finish every test and never exit). If
    // the process is still alive 60 s after the last test, name what keeps it alive and
    // exit with the code mocha set. The timer is unref'd: it never keeps the process alive.
    setTimeout(() => {
      process.stderr.write(
        `\nmocha: still running 60 s after the last test; open resources: ${process.getActiveResourcesInfo().join(', ')}. Exiting.\n`,
      );
      process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
    }, 60_000).unref();
  },
};
