import assert from 'node:assert/strict';
import { DUPLICATE_RECORD } from './sim-options.js';
import { simulate } from './simulate.js';

// Clients that retry every indeterminate produce (timed out, node down, lost to a leader
// change) until it is acknowledged, as the client library does, under the simulator's
// faults: drops, partitions, crashes, leader changes, membership changes, snapshots.
// More seeds: `npm run test:sim -- --seeds 2000 --retries idempotent`.
const SEEDS = 40;

describe('raft simulator: exactly-once produce across leader changes', function () {
  this.timeout(600_000);

  it(`with producer ids, no log ever holds a value twice and the history stays linearizable (${SEEDS} seeds, MemoryStorage and power cuts)`, async () => {
    let hidden = 0;
    let leaders = 0;
    for (let seed = 1; seed <= SEEDS; seed++) {
      const r = await simulate({ seed, duration: 2000, retries: 'idempotent', powerCuts: seed % 2 === 0 });
      if (!r.ok) assert.fail(`seed ${r.seed}: ${r.error}\nreplay: ${r.replay}\n${r.trace.slice(-30).join('\n')}`);
      assert.equal(r.stats.linearizable, 'ok', `seed ${seed}: the linearizability checker ran out of steps`);
      hidden += r.stats.duplicatesHidden;
      leaders += r.stats.leaders;
    }
    // The runs exercised the case: retries did put second copies into the log, which the
    // state machine hid, across many leader changes.
    assert.ok(hidden > 0, 'some retry reached the log as a duplicate entry and was hidden');
    assert.ok(leaders > SEEDS, `leader changes happened (${leaders} leaders over ${SEEDS} seeds)`);
  });

  it('the control: the same retries without producer ids duplicate records, and the check catches it', async () => {
    const failures: string[] = [];
    for (let seed = 1; seed <= SEEDS && failures.length === 0; seed++) {
      const r = await simulate({ seed, duration: 2000, retries: 'plain' });
      if (!r.ok) failures.push(r.error);
    }
    assert.ok(
      failures.some((e) => e.startsWith(DUPLICATE_RECORD) || e.includes('linearizable')),
      `at-least-once retries must show duplicates: ${failures.join('; ') || 'none'}`,
    );
  });
});
