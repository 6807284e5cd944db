/**
 * What one run of the randomized simulator (simulate.ts) takes and returns, and the command
 * that replays it; the part both drivers share (the production-loop driver's own part is in
 * raft-node-sim-options.ts): the common knobs, a failing seed's outcome, the replay flags.
 */
import type { Operation } from '../lincheck/history.js';

/** The knobs of one run that both drivers take (the CLI's common flags, cli-options.ts). */
export interface SimRunOptions {
  readonly seed: number;
  /** Time units of faulty operation: a node ticks every 10 units (default 3000, i.e. 300 ticks). */
  readonly duration?: number;
  /** Voters at the start (default 3). */
  readonly voters?: number;
  /** Multiplies every fault rate of the driver (default 1). */
  readonly intensity?: number;
  /** Print the trace as it happens. */
  readonly verbose?: boolean;
  /**
   * Run the generic linearizability search beside the one-pass check against the final log
   * and fail the seed when their verdicts differ (final-checks.ts `checkHistory`).
   */
  readonly crossCheck?: boolean;
}

/** The outcome of a failing seed, either driver: never thrown, so that the trace comes back either way. */
export interface SimFailure {
  readonly ok: false;
  readonly seed: number;
  readonly error: string;
  /** The command that replays the seed. */
  readonly replay: string;
  readonly trace: readonly string[];
}

/** The common flags of a replay command, ` --seed S --voters V --duration D --intensity I [--cross-check]`, defaults filled in. */
export function replayRunFlags(o: SimRunOptions): string {
  const cross = o.crossCheck === true ? ' --cross-check' : '';
  return ` --seed ${o.seed} --voters ${o.voters ?? 3} --duration ${o.duration ?? 3000} --intensity ${o.intensity ?? 1}${cross}`;
}

/**
 * Knobs of one run of the RawNode driver (simulate.ts). Its `intensity` multiplies drops,
 * duplicates, delays, crashes, partitions, changes, transfers and snapshots.
 */
export interface SimOptions extends SimRunOptions {
  /** Simulated clients (default 6; odd-numbered ones impatient, see clients.ts). */
  readonly clients?: number;
  readonly crashes?: boolean;
  readonly partitions?: boolean;
  readonly membership?: boolean;
  readonly snapshots?: boolean;
  /** The deliberately broken read path (see clients.ts). */
  readonly staleReads?: boolean;
  /** The deliberately broken produce path: acknowledge before commit (see clients.ts). */
  readonly earlyAcks?: boolean;
  /** Check the client history for linearizability. */
  readonly lincheck?: boolean;
  /**
   * Run every node on the shell's real storage (segmented log + stable store, persisted by
   * the shell's persistReady) over a simulated disk: half the crashes are power cuts, often
   * at a random file operation inside a persist, and every restart runs the log's recovery.
   * Compaction is off in this mode.
   */
  readonly powerCuts?: boolean;
  /**
   * Clients retry indeterminate produces until acknowledged (clients.ts): `idempotent` with
   * producer ids and sequences (then no node may hold any value twice: checked at the end),
   * `plain` without (at-least-once; the control that shows what the check catches).
   */
  readonly retries?: 'idempotent' | 'plain';
}

/** Statistics of a passing run. */
export interface SimStats {
  readonly leaders: number;
  readonly acked: number;
  readonly operations: number;
  readonly crashes: number;
  readonly confChanges: number;
  readonly snapshots: number;
  /** Power cuts (disk backend only). */
  readonly powerCuts: number;
  /** The checker's verdict: `unknown` when its step budget ran out (reported, never counted as a pass silently). */
  readonly linearizable: 'ok' | 'unknown' | 'not-checked';
  /** Steps the generic search took (0 when not checked or decided in one pass; its budget is 2,000,000). */
  readonly lincheckSteps: number;
  /** pdata entries the leader's state machine found duplicates and hid (retries: idempotent). */
  readonly duplicatesHidden: number;
  /** Time units from the final heal until a leader committed an entry appended after it (liveness.ts). */
  readonly livenessUnits: number;
}

/** The outcome of one seed. */
export type SimResult =
  | { readonly ok: true; readonly seed: number; readonly stats: SimStats; readonly history: readonly Operation[] }
  | SimFailure;

/** The error prefix of a run whose log holds a value twice (retries: exactly-once violated). */
export const DUPLICATE_RECORD = 'duplicate record';

/** The command that replays a seed (the CLI's flags, cli-options.ts: parsed back in cli-options.test.ts). */
export function replayCommand(seed: number, opts: SimOptions = { seed }): string {
  let flags = replayRunFlags({ ...opts, seed });
  if (opts.staleReads === true) flags += ' --stale-reads';
  if (opts.earlyAcks === true) flags += ' --early-acks';
  // The CLI runs with power cuts unless told not to; a SimOptions run has them only when asked.
  if (opts.powerCuts !== true) flags += ' --no-power-cuts';
  if (opts.retries !== undefined) flags += ` --retries ${opts.retries}`;
  return `npm run test:sim --${flags} --verbose`;
}
