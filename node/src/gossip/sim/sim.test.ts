import assert from 'node:assert/strict';
import {
  type ScenarioInput,
  type ScenarioName,
  FALSE_FAILURE_LIMIT_PER_MEMBER_MINUTE,
  runScenario,
} from './scenarios.js';

// Seeds: GOSSIP_SIM_SEED=<n> replays one seed; GOSSIP_SIM_SEEDS=<k> runs seeds 1..k
// (the suite's default is a modest 2). Every failure names its seed and the replay command.
const seeds: number[] =
  process.env['GOSSIP_SIM_SEED'] !== undefined
    ? [Number(process.env['GOSSIP_SIM_SEED'])]
    : Array.from({ length: Number(process.env['GOSSIP_SIM_SEEDS'] ?? 2) }, (_, k) => k + 1);

function check(scenario: ScenarioName, n: number, loss: number, extra: Partial<ScenarioInput> = {}): void {
  const failures = seeds
    .map((seed) => runScenario({ scenario, seed, n, loss, ...extra }))
    .filter((r) => !r.ok)
    .map((r) => r.detail);
  assert.deepEqual(failures, [], `\n${failures.join('\n')}`);
}

describe('gossip simulation (seeded, lan preset, virtual time)', function () {
  this.timeout(60_000);

  describe('all live members converge to the same view after joining within the derived bound', () => {
    for (const n of [3, 10, 50])
      for (const loss of [0, 0.1, 0.3]) it(`N=${n}, loss ${loss * 100}%`, () => check('join', n, loss));
  });

  describe('a killed member is marked failed by every live member within the derived bound', () => {
    for (const n of [5, 25, 50])
      for (const loss of [0, 0.1, 0.3]) it(`N=${n}, loss ${loss * 100}%`, () => check('kill', n, loss));
  });

  describe('a member restarted with the same name, a new address and incarnation 0 rejoins everywhere', () => {
    for (const n of [3, 10])
      for (const loss of [0, 0.1]) it(`N=${n}, loss ${loss * 100}%`, () => check('restart', n, loss));
  });

  describe('a graceful leave is recorded as left everywhere and never reported as a failure', () => {
    for (const n of [5, 10, 30])
      for (const loss of [0, 0.1]) it(`N=${n}, loss ${loss * 100}%`, () => check('leave', n, loss));
  });

  describe('after a partition heals, all members agree again within the derived bound', () => {
    for (const n of [6, 20])
      for (const loss of [0, 0.1, 0.3]) it(`N=${n}, loss ${loss * 100}%`, () => check('partition', n, loss));
  });

  describe(`false failure declarations stay ≤ ${FALSE_FAILURE_LIMIT_PER_MEMBER_MINUTE} per member-minute`, () => {
    it('N=20 at 10% loss over 2 virtual minutes', () => check('false-failures', 20, 0.1, { durationMs: 120_000 }));
    it('N=10 without loss over 2 virtual minutes', () => check('false-failures', 10, 0, { durationMs: 120_000 }));
  });

  it('is deterministic: the same seed gives the same run', () => {
    const a = runScenario({ scenario: 'kill', seed: 7, n: 10, loss: 0.1 });
    const b = runScenario({ scenario: 'kill', seed: 7, n: 10, loss: 0.1 });
    assert.deepEqual(a, b);
  });
});
