/** What one run of the production-loop simulator (raft-node-sim.ts) takes and returns, and the command that replays it. */

/** Knobs of one run of the production-loop simulator. */
export interface RaftNodeSimOptions {
  readonly seed: number;
  /** Virtual ms of faults (default 3000, i.e. 300 ticks: the RawNode driver's default duration). */
  readonly duration?: number;
  /** Voters (default 3). */
  readonly voters?: number;
  /** Power cuts on (default); off: process kills only. */
  readonly powerCuts?: boolean;
  /** Multiplies every fault rate (default 1). */
  readonly intensity?: number;
  /** Print the trace as it happens. */
  readonly verbose?: boolean;
}

/** What a passing seed did. */
export interface RaftNodeSimStats {
  readonly steps: number;
  readonly acked: number;
  readonly operations: number;
  readonly leaders: number;
  readonly stalls: number;
  readonly kills: number;
  readonly powerCuts: number;
  readonly ticksDropped: number;
  readonly linearizable: 'ok' | 'unknown';
  readonly lincheckSteps: number;
}

/** The outcome of one seed: never thrown, so that the trace comes back either way. */
export type RaftNodeSimResult =
  | { readonly ok: true; readonly seed: number; readonly stats: RaftNodeSimStats; readonly trace: readonly string[] }
  | {
      readonly ok: false;
      readonly seed: number;
      readonly error: string;
      readonly replay: string;
      readonly trace: readonly string[];
    };

/** The command that replays a seed of this driver (flags of cli-options.ts). */
export function raftNodeReplayCommand(o: RaftNodeSimOptions): string {
  const cuts = o.powerCuts === false ? ' --no-power-cuts' : '';
  return `npm run test:sim -- --driver raftnode --seed ${o.seed} --voters ${o.voters ?? 3} --duration ${o.duration ?? 3000} --intensity ${o.intensity ?? 1}${cuts} --verbose`;
}
