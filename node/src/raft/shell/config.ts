/**
 * Configuration of the Raft shell (the runner's wall-clock settings), with defaults,
 * validation and presets (STYLE.md 9). Tick counts and flow control are the core's
 * (core/config.ts); the shell turns ticks into time.
 */
import { RaftShellError } from './errors.js';

/** Wall-clock settings of a {@link RaftNode}. */
export interface ShellConfig {
  /** The core's `tick()` runs every this many ms (election timeout = electionTicks × tickMs). */
  readonly tickMs: number;
  /**
   * Commit-only hard-state changes are written to the stable store at most this often
   * (term and vote changes are written before any message goes out). A lost commit index is
   * relearned from the leader, so this only bounds how much a restart re-applies.
   */
  readonly stableFlushMs: number;
  /** How often the runner runs the log's retention (compaction) when retention limits are set. */
  readonly compactIntervalMs: number;
  /** Default bound for `readIndex()`, `transferLeadership()` and membership changes. */
  readonly requestTimeoutMs: number;
  /** Proposals queued while a Ready is being persisted, beyond which `propose` is refused. */
  readonly maxQueuedProposals: number;
}

/** Defaults for a LAN: 100 ms ticks (1–2 s elections with the core's lan preset). */
export const defaultShellConfig: ShellConfig = {
  tickMs: 100,
  stableFlushMs: 1000,
  compactIntervalMs: 10_000,
  requestTimeoutMs: 10_000,
  maxQueuedProposals: 100_000,
};

/**
 * Named presets. `test` uses 20 ms ticks, so in-process clusters elect within ~0.4 s; with
 * 10 ms ticks (a 100–200 ms election timeout) a GC pause or a slow fsync in a process that
 * hosts several nodes caused spurious elections that made tests flaky.
 */
export const shellConfigPresets = {
  lan: defaultShellConfig,
  test: { ...defaultShellConfig, tickMs: 20, stableFlushMs: 200, compactIntervalMs: 200, requestTimeoutMs: 5000 },
} as const satisfies Record<string, ShellConfig>;

/** Invalid shell configuration. */
export class ShellConfigError extends RaftShellError {
  readonly field: string;
  constructor(field: string, why: string) {
    super('RAFT_SHELL_CONFIG_INVALID', `raft shell config: ${field} ${why}`);
    this.name = 'ShellConfigError';
    this.field = field;
  }
}

/**
 * Merges overrides over a preset and validates every field.
 * @throws ShellConfigError naming the first bad field.
 */
export function shellConfig(
  overrides: Partial<ShellConfig> = {},
  preset: keyof typeof shellConfigPresets = 'lan',
): ShellConfig {
  const c: ShellConfig = { ...shellConfigPresets[preset], ...overrides };
  for (const k of Object.keys(defaultShellConfig) as (keyof ShellConfig)[]) {
    const v = c[k];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0)
      throw new ShellConfigError(k, `must be a positive integer, got ${String(v)}`);
  }
  return c;
}
