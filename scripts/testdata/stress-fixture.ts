/**
 * Fixture of scripts/stress.test.ts (not a test of the project): one test that always
 * passes and one that fails in run 2 only, as a timing-dependent test would.
 */
import assert from 'node:assert/strict';

describe('stress fixture', () => {
  it('always passes', () => {
    assert.ok(true);
  });
  it('fails in run 2 only', () => {
    // A multi-line message, as an agent test's (its agents' logs follow the first line).
    assert.notEqual(process.env.COMMITLOG_STRESS_RUN, '2', 'the second run fails\n--- agent n1 log ---\nn1 listening');
  });
});
