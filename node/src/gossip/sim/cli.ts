/**
 * Runs gossip simulation scenarios from the command line, e.g. to replay a failure:
 *   npx tsx node/src/gossip/sim/cli.ts --scenario kill --n 25 --loss 0.1 --seed 1234
 * or to sweep seeds: `--seeds 100` (seeds 1..100). Prints one JSON line per run and exits
 * non-zero if any check failed.
 */
import { parseArgs } from 'node:util';
import { type ScenarioName, runScenario, scenarioNames } from './scenarios.js';

const { values } = parseArgs({
  options: {
    scenario: { type: 'string', default: 'kill' },
    n: { type: 'string', default: '10' },
    loss: { type: 'string', default: '0' },
    seed: { type: 'string' },
    seeds: { type: 'string', default: '1' },
    duration: { type: 'string' },
  },
});
const scenario = values.scenario as ScenarioName;
if (!scenarioNames.includes(scenario)) {
  process.stderr.write(`unknown scenario ${scenario}; one of ${scenarioNames.join(', ')}\n`);
  process.exit(2);
}
const seeds =
  values.seed !== undefined ? [Number(values.seed)] : Array.from({ length: Number(values.seeds) }, (_, k) => k + 1);
let failed = 0;
for (const seed of seeds) {
  const base = { scenario, seed, n: Number(values.n), loss: Number(values.loss) };
  const r = runScenario(values.duration === undefined ? base : { ...base, durationMs: Number(values.duration) });
  if (!r.ok) failed++;
  process.stdout.write(`${JSON.stringify(r)}\n`);
}
process.exit(failed > 0 ? 1 : 0);
