/**
 * Mocha root hook plugin (listed under "require" in .mocharc.json): stops the run's shared
 * control plane after all tests, whether they passed or failed. The control plane itself
 * is started lazily by the first test that calls `useControlPlane()`
 * (test/support/control-plane.ts), so runs that never need it pay nothing.
 */
import type { RootHookObject } from 'mocha';
import { stopShared } from './shared-control-plane.js';

/** The hooks mocha registers at the root suite. */
export const mochaHooks: RootHookObject = {
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
