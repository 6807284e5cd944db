/**
 * `npm run test:sim -- [--driver raw|raftnode] [--seeds N] [--from S] [--seed S] [--verbose] [--stale-reads | --early-acks] [--voters 5] [--no-power-cuts] [--retries idempotent|plain] [--cross-check] [--keep-going]`:
 * runs simulator seeds — of simulate.ts (`raw`, the default: the simulator steps RawNode
 * itself) or of raft-node-sim.ts (`raftnode`: the production loop; raft-node-cli.ts) — and prints one JSON line of totals; on a failure prints the seed,
 * the error, the trace tail and the command that replays it, and exits 1. With
 * `--keep-going` every seed runs, each failure is printed as it happens (`seed N FAILED: …`
 * and its replay line), the totals list the failing seeds, and the exit status is 1 if any failed.
 */
import { driverOf, seedsOf, simCommand, simOptionsOf, type SimCliFlags } from './cli-options.js';
import { runRaftNodeDriver } from './raft-node-cli.js';
import { simulate } from './simulate.js';

const o = simCommand().parse().opts<SimCliFlags>();
const seeds = seedsOf(o);
if (driverOf(o) === 'raftnode') process.exit(await runRaftNodeDriver(o, seeds));
const started = performance.now();
let acked = 0;
let ops = 0;
let powerCuts = 0;
const unknown: number[] = [];
let maxSteps = 0;
let livenessMax = 0;
const failed: number[] = [];
let done = 0;
for (const seed of seeds) {
  const r = await simulate(simOptionsOf(o, seed));
  if (!r.ok) {
    if (o.verbose !== true) process.stderr.write(`${r.trace.slice(o.keepGoing === true ? -20 : -60).join('\n')}\n`);
    process.stderr.write(`\nseed ${r.seed} FAILED: ${r.error}\nreplay: ${r.replay}\n`);
    if (o.keepGoing !== true) process.exit(1);
    failed.push(seed);
    done++;
    continue;
  }
  acked += r.stats.acked;
  if (r.stats.linearizable === 'unknown') unknown.push(seed);
  maxSteps = Math.max(maxSteps, r.stats.lincheckSteps);
  livenessMax = Math.max(livenessMax, r.stats.livenessUnits);
  ops += r.stats.operations;
  powerCuts += r.stats.powerCuts;
  // A long --keep-going run shows how far it got (a run stopped early still tells what passed).
  if (o.keepGoing === true && ++done % 100 === 0)
    process.stderr.write(
      `progress: ${done} of ${seeds.length} seeds, through seed ${seed}, failed [${failed.join(' ')}], ${Math.round(performance.now() - started)} ms\n`,
    );
}
process.stdout.write(
  `${JSON.stringify({ seeds: seeds.length, ok: failed.length === 0, ...(o.keepGoing === true ? { failed } : {}), powerCuts: o.powerCuts, acked, operations: ops, powerCutsInjected: powerCuts, lincheckUnknown: unknown, lincheckMaxSteps: maxSteps, livenessMaxUnits: livenessMax, ms: Math.round(performance.now() - started) })}\n`,
);
process.exit(failed.length === 0 ? 0 : 1);
