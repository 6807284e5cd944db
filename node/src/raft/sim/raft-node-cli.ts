/**
 * `npm run test:sim -- --driver raftnode …` (cli.ts): runs seeds of the production-loop
 * simulator (raft-node-sim.ts) and prints one JSON line of totals; a failure prints the seed,
 * the error, the trace tail and the replay command. Same contract as the RawNode driver:
 * exit 1 at the first failure, or with `--keep-going` after every seed ran.
 */
import { raftNodeOptionsOf, type SimCliFlags } from './cli-options.js';
import { simulateRaftNodes } from './raft-node-sim.js';

/** Runs `seeds`; returns the exit status. */
export async function runRaftNodeDriver(o: SimCliFlags, seeds: readonly number[]): Promise<number> {
  const started = performance.now();
  const totals = { acked: 0, operations: 0, kills: 0, stalls: 0, ticksDropped: 0 };
  let powerCutsInjected = 0;
  const unknown: number[] = [];
  const failed: number[] = [];
  let lincheckMaxSteps = 0;
  let done = 0;
  for (const seed of seeds) {
    const r = await simulateRaftNodes(raftNodeOptionsOf(o, seed));
    done++;
    if (!r.ok) {
      if (o.verbose !== true) process.stderr.write(`${r.trace.slice(o.keepGoing === true ? -20 : -60).join('\n')}\n`);
      process.stderr.write(`\nseed ${r.seed} FAILED: ${r.error}\nreplay: ${r.replay}\n`);
      if (o.keepGoing !== true) return 1;
      failed.push(seed);
      continue;
    }
    totals.acked += r.stats.acked;
    totals.operations += r.stats.operations;
    powerCutsInjected += r.stats.powerCuts;
    totals.kills += r.stats.kills;
    totals.stalls += r.stats.stalls;
    totals.ticksDropped += r.stats.ticksDropped;
    lincheckMaxSteps = Math.max(lincheckMaxSteps, r.stats.lincheckSteps);
    if (r.stats.linearizable === 'unknown') unknown.push(seed);
    if (o.keepGoing === true && done % 100 === 0)
      process.stderr.write(
        `progress: ${done} of ${seeds.length} seeds, through seed ${seed}, failed [${failed.join(' ')}], ${Math.round(performance.now() - started)} ms\n`,
      );
  }
  const ms = Math.round(performance.now() - started);
  process.stdout.write(
    `${JSON.stringify({ driver: 'raftnode', seeds: seeds.length, ok: failed.length === 0, ...(o.keepGoing === true ? { failed } : {}), powerCuts: o.powerCuts, ...totals, powerCutsInjected, lincheckUnknown: unknown, lincheckMaxSteps, ms, seedsPerSecond: Math.round((seeds.length / ms) * 10000) / 10 })}\n`,
  );
  return failed.length === 0 ? 0 : 1;
}
