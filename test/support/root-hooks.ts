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
  },
};
