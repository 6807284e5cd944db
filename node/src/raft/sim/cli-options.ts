/**
 * The flags of `npm run test:sim` and how they become {@link SimOptions}: one definition,
 * used by the CLI (cli.ts) and by the test that parses every printed replay command
 * ({@link replayCommand}) with it, so a failure never prints a command the CLI refuses.
 */
import { Command } from 'commander';
import type { RaftNodeSimOptions } from './raft-node-sim-options.js';
import type { SimOptions } from './sim-options.js';

/** The parsed flags (commander's camel-cased names). */
export interface SimCliFlags {
  readonly seeds: string;
  readonly from: string;
  readonly seed?: string;
  readonly voters: string;
  readonly duration: string;
  readonly intensity: string;
  readonly staleReads?: boolean;
  readonly earlyAcks?: boolean;
  readonly verbose?: boolean;
  /** On unless `--no-power-cuts`. */
  readonly powerCuts: boolean;
  readonly retries?: string;
  /** Run every seed and report all failing ones, not just the first. */
  readonly keepGoing?: boolean;
  /** Run the generic linearizability search beside the one-pass check; a seed fails when they disagree. */
  readonly crossCheck?: boolean;
  /** `raw` (simulate.ts: RawNode stepped by the simulator) or `raftnode` (raft-node-sim.ts: the production loop). */
  readonly driver: string;
}

/** A fresh command with every `test:sim` flag (parse it once). */
export function simCommand(): Command {
  return new Command()
    .name('test:sim')
    .option('--seeds <n>', 'number of seeds to run', '100')
    .option('--from <s>', 'first seed', '1')
    .option('--seed <s>', 'run exactly this seed')
    .option('--voters <n>', 'initial voters', '3')
    .option('--duration <units>', 'time units of faults per seed', '3000')
    .option('--intensity <k>', 'multiply every fault rate by k', '1')
    .option('--stale-reads', 'run the deliberately broken read path (the checker must reject it)')
    .option('--early-acks', 'run the deliberately broken produce path that acknowledges before commit')
    .option(
      '--no-power-cuts',
      'run nodes on MemoryStorage instead of the real log and stable store on a simulated disk with power cuts',
    )
    .option('--retries <how>', 'clients retry indeterminate produces: idempotent (producer ids) or plain')
    .option(
      '--driver <loop>',
      'raw: the simulator steps RawNode itself (simulate.ts); raftnode: the production RaftNode loop on virtual time (raft-node-sim.ts)',
      'raw',
    )
    .option(
      '--cross-check',
      'also run the generic linearizability search beside the one-pass check against the final log; fail a seed where they disagree',
    )
    .option('--keep-going', 'run every seed and report all failing seeds (exit 1 if any failed), not just the first')
    .option('--verbose', 'print the full trace');
}

/** The seeds the flags ask for: `--seed`, or `--seeds` from `--from`. */
export function seedsOf(o: SimCliFlags): number[] {
  return o.seed !== undefined
    ? [Number(o.seed)]
    : Array.from({ length: Number(o.seeds) }, (_, i) => Number(o.from) + i);
}

/**
 * The options of the run of `seed` under flags `o`.
 * @throws Error when `--retries` is neither `idempotent` nor `plain`.
 */
export function simOptionsOf(o: SimCliFlags, seed: number): SimOptions {
  if (o.retries !== undefined && o.retries !== 'idempotent' && o.retries !== 'plain')
    throw new Error(`--retries must be idempotent or plain, got ${o.retries}`);
  return {
    seed,
    voters: Number(o.voters),
    duration: Number(o.duration),
    intensity: Number(o.intensity),
    staleReads: o.staleReads === true,
    earlyAcks: o.earlyAcks === true,
    verbose: o.verbose === true,
    powerCuts: o.powerCuts,
    ...(o.retries !== undefined ? { retries: o.retries } : {}),
    ...(o.crossCheck === true ? { crossCheck: true } : {}),
  };
}

/**
 * The options of the production-loop driver's run of `seed` under flags `o`.
 * @throws Error for a flag that driver does not have (the broken-on-purpose client paths, retries), or a bad number.
 */
export function raftNodeOptionsOf(o: SimCliFlags, seed: number): RaftNodeSimOptions {
  const unsupported = [
    o.staleReads === true ? '--stale-reads' : null,
    o.earlyAcks === true ? '--early-acks' : null,
    o.retries !== undefined ? '--retries' : null,
  ].filter((f) => f !== null);
  if (unsupported.length > 0) throw new Error(`--driver raftnode has no ${unsupported.join(', ')} (only --driver raw)`);
  const voters = Number(o.voters);
  const duration = Number(o.duration);
  const intensity = Number(o.intensity);
  if (!Number.isSafeInteger(voters) || voters < 1)
    throw new Error(`--voters must be a positive integer, got ${o.voters}`);
  if (!(duration > 0)) throw new Error(`--duration must be a positive number of time units, got ${o.duration}`);
  if (!(intensity > 0)) throw new Error(`--intensity must be a positive number, got ${o.intensity}`);
  return {
    seed,
    voters,
    duration,
    intensity,
    powerCuts: o.powerCuts,
    verbose: o.verbose === true,
    ...(o.crossCheck === true ? { crossCheck: true } : {}),
  };
}

/**
 * The driver the flags ask for.
 * @throws Error when `--driver` is neither `raw` nor `raftnode`.
 */
export function driverOf(o: SimCliFlags): 'raw' | 'raftnode' {
  if (o.driver !== 'raw' && o.driver !== 'raftnode')
    throw new Error(`--driver must be raw or raftnode, got ${o.driver}`);
  return o.driver;
}
