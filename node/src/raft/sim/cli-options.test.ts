import assert from 'node:assert/strict';
import { driverOf, raftNodeOptionsOf, seedsOf, simCommand, simOptionsOf, type SimCliFlags } from './cli-options.js';
import { raftNodeReplayCommand, type RaftNodeSimOptions } from './raft-node-sim-options.js';
import { replayCommand, type SimOptions } from './sim-options.js';

/** The options `simulate` actually runs with (its defaults filled in). */
function effective(o: SimOptions): SimOptions {
  return {
    seed: o.seed,
    voters: o.voters ?? 3,
    duration: o.duration ?? 3000,
    intensity: o.intensity ?? 1,
    staleReads: o.staleReads === true,
    earlyAcks: o.earlyAcks === true,
    powerCuts: o.powerCuts === true,
    ...(o.retries !== undefined ? { retries: o.retries } : {}),
    ...(o.crossCheck === true ? { crossCheck: true } : {}),
  };
}

/** The flags of the `npm run test:sim -- …` command line, parsed with the CLI's own definition. */
function flagsOf(command: string): SimCliFlags {
  const prefix = 'npm run test:sim -- ';
  assert.ok(command.startsWith(prefix), command);
  return simCommand()
    .exitOverride()
    .configureOutput({ writeErr: () => {} })
    .parse(command.slice(prefix.length).split(' '), { from: 'user' })
    .opts<SimCliFlags>();
}

/** Parses a RawNode-driver replay command back into its run. */
function parseReplay(command: string): SimOptions {
  const flags = flagsOf(command);
  assert.equal(driverOf(flags), 'raw', command);
  const seeds = seedsOf(flags);
  assert.equal(seeds.length, 1, `${command} runs ${seeds.length} seeds`);
  const { verbose, ...run } = simOptionsOf(flags, seeds[0] ?? NaN);
  assert.equal(verbose, true, 'a replay prints the trace');
  return run;
}

describe('the simulator replay command', () => {
  const runs: readonly SimOptions[] = [
    { seed: 789161764, voters: 3, duration: 3000, intensity: 1, powerCuts: true },
    { seed: 7, duration: 2000, voters: 5 },
    { seed: 8, duration: 2000, intensity: 4, powerCuts: false },
    { seed: 9, duration: 2000, staleReads: true },
    { seed: 10, duration: 2000, earlyAcks: true, powerCuts: true },
    { seed: 11, duration: 2000, retries: 'idempotent', powerCuts: true },
    { seed: 12, duration: 2000, retries: 'plain' },
    { seed: 13, duration: 2000, crossCheck: true },
  ];
  for (const run of runs) {
    it(`parses with the CLI's flags back into the run it replays: ${JSON.stringify(run)}`, () => {
      assert.deepEqual(parseReplay(replayCommand(run.seed, run)), effective(run));
    });
  }

  it('asks for the MemoryStorage backend with --no-power-cuts, and for power cuts (the CLI default) with no flag', () => {
    assert.match(replayCommand(1, { seed: 1 }), / --no-power-cuts /);
    assert.doesNotMatch(replayCommand(1, { seed: 1, powerCuts: true }), /power-cuts/);
  });

  it('the CLI refuses an unknown flag such as --power-cuts (so a replay line must not print it)', () => {
    assert.throws(
      () =>
        simCommand()
          .exitOverride()
          .configureOutput({ writeErr: () => {} })
          .parse(['--power-cuts'], { from: 'user' }),
      /unknown option/,
    );
  });

  for (const run of [
    { seed: 36, voters: 3, duration: 3000, intensity: 1, powerCuts: true },
    { seed: 5, voters: 5, duration: 1500, intensity: 2, powerCuts: false },
    { seed: 6, voters: 3, duration: 1500, intensity: 1, powerCuts: true, crossCheck: true },
  ] satisfies RaftNodeSimOptions[]) {
    it(`parses a --driver raftnode replay back into the run it replays: ${JSON.stringify(run)}`, () => {
      const flags = flagsOf(raftNodeReplayCommand(run));
      assert.equal(driverOf(flags), 'raftnode');
      const seeds = seedsOf(flags);
      assert.deepEqual(seeds, [run.seed]);
      assert.deepEqual(raftNodeOptionsOf(flags, run.seed), { ...run, verbose: true });
    });
  }

  it('refuses the RawNode-only flags and a bad number with --driver raftnode, and an unknown driver', () => {
    const flags = (line: string): SimCliFlags => flagsOf(`npm run test:sim -- --driver raftnode ${line}`);
    assert.throws(() => raftNodeOptionsOf(flags('--stale-reads'), 1), /--driver raftnode has no --stale-reads/);
    assert.throws(() => raftNodeOptionsOf(flags('--retries plain'), 1), /has no --retries/);
    assert.throws(() => raftNodeOptionsOf(flags('--voters two'), 1), /--voters must be a positive integer, got two/);
    assert.throws(() => driverOf(flagsOf('npm run test:sim -- --driver node')), /--driver must be raw or raftnode/);
  });
});
