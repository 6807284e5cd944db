/** What one run of the production-loop simulator (raft-node-sim.ts) takes and returns, and the command that replays it. */
import { replayRunFlags, type SimFailure, type SimRunOptions } from './sim-options.js';

/** Knobs of one run of the production-loop simulator (the common ones: {@link SimRunOptions}; a time unit is a virtual ms). */
export interface RaftNodeSimOptions extends SimRunOptions {
  /** Power cuts on (default); off: process kills only. */
  readonly powerCuts?: boolean;
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
  | SimFailure;

/** The command that replays a seed of this driver (flags of cli-options.ts). */
export function raftNodeReplayCommand(o: RaftNodeSimOptions): string {
  const cuts = o.powerCuts === false ? ' --no-power-cuts' : '';
  return `npm run test:sim -- --driver raftnode${replayRunFlags(o)}${cuts} --verbose`;
}
