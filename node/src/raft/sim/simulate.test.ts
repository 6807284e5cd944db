import assert from 'node:assert/strict';
import { simulate } from './simulate.js';

// A few hundred seeds of the randomized simulator: lossy/reordering network, partitions,
// crashes losing unpersisted writes (and, on the disk backend, power cuts), restarts, membership changes, transfers, snapshots;
// invariants after every step; linearizability of the client history at the end.
// More seeds: `npm run test:sim -- --seeds 2000`.
const SEEDS = 200;

describe('raft simulator', function () {
  // A hang guard, not a speed requirement: these tests are CPU-bound (about 20 s of CPU for
  // the 200 seeds) and a shared machine under load stretches them several times.
  this.timeout(900_000);

  it(`keeps every safety invariant and a linearizable history over ${SEEDS} seeds`, async () => {
    let acked = 0;
    for (let seed = 1; seed <= SEEDS; seed++) {
      const r = await simulate({ seed, duration: 2000, voters: seed % 4 === 0 ? 5 : 3 });
      if (!r.ok) assert.fail(`seed ${r.seed}: ${r.error}\nreplay: ${r.replay}\n${r.trace.slice(-30).join('\n')}`);
      acked += r.stats.acked;
      assert.equal(r.stats.linearizable, 'ok', `seed ${seed}: the linearizability checker ran out of steps`);
    }
    // The runs did real work: records were acknowledged (and then checked).
    assert.ok(acked > SEEDS * 10, `only ${acked} records acknowledged`);
  });

  it('keeps them with power cuts on the real log and stable store (simulated disk, 25 seeds)', async () => {
    // Nodes run the shell's LogStorage and persistReady on memory-fs.ts: half the crashes
    // cut the power, often at a random file operation inside a persist, and every restart
    // runs the log's and the stable store's recovery. More: `npm run test:sim -- --seeds 2000`.
    let cuts = 0;
    for (let seed = 1; seed <= 25; seed++) {
      const r = await simulate({ seed, duration: 2000, voters: seed % 4 === 0 ? 5 : 3, powerCuts: true });
      if (!r.ok) assert.fail(`seed ${r.seed}: ${r.error}\nreplay: ${r.replay}\n${r.trace.slice(-30).join('\n')}`);
      assert.equal(r.stats.linearizable, 'ok', `seed ${seed}: the linearizability checker ran out of steps`);
      cuts += r.stats.powerCuts;
    }
    assert.ok(cuts >= 25, `only ${cuts} power cuts injected in 25 seeds`);
  });

  it('keeps them under four times the fault rates (50 seeds)', async () => {
    for (let seed = 1; seed <= 50; seed++) {
      const r = await simulate({ seed, duration: 2000, intensity: 4 });
      if (!r.ok) assert.fail(`seed ${r.seed}: ${r.error}\nreplay: ${r.replay}\n${r.trace.slice(-30).join('\n')}`);
    }
  });

  for (const [variant, flag] of [
    ['serves reads without ReadIndex', { staleReads: true }],
    ['acknowledges a produce before commit', { earlyAcks: true }],
  ] as const) {
    it(`the linearizability checker rejects the broken variant that ${variant}`, async () => {
      let error: string | null = null;
      for (let seed = 1; seed <= 20 && error === null; seed++) {
        const r = await simulate({ seed, duration: 2000, ...flag });
        if (!r.ok) error = r.error;
      }
      assert.ok(error !== null, `the broken variant (${variant}) went undetected in 20 seeds`);
      assert.match(error, /history not linearizable/);
    });
  }

  it('is deterministic: a seed replays to the same history', async () => {
    const a = await simulate({ seed: 42, duration: 1000 });
    const b = await simulate({ seed: 42, duration: 1000 });
    assert.ok(a.ok && b.ok);
    assert.deepEqual(a.history, b.history);
  });
});
