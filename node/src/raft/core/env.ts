/**
 * What the core takes from its environment instead of reaching for globals: a random
 * source (election jitter) and a logger. Injected so a seeded simulation replays exactly.
 */

/** A source of random integers. */
export interface Rng {
  /** A uniformly distributed integer in [0, maxExclusive). */
  nextInt(maxExclusive: number): number;
}

/**
 * A small, fast, seeded PRNG (mulberry32). Deterministic for a given seed; not for
 * cryptography. The shell seeds it from real entropy, the simulator from its seed.
 */
export function seededRng(seed: number): Rng & { nextFloat(): number } {
  let a = seed >>> 0;
  const nextFloat = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { nextFloat, nextInt: (n: number) => Math.floor(nextFloat() * n) };
}

/** Structured fields attached to a log line. */
export type LogFields = Readonly<Record<string, string | number | boolean | null>>;

/** The logger the core writes through (pino-compatible argument order: fields, then message). */
export interface RaftLogger {
  debug(fields: LogFields, msg: string): void;
  info(fields: LogFields, msg: string): void;
  warn(fields: LogFields, msg: string): void;
}

/** A logger that drops everything. */
export const silentLogger: RaftLogger = { debug: () => {}, info: () => {}, warn: () => {} };
