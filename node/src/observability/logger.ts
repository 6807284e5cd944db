/**
 * JSON logs with pino. Every component logs through a child of one root logger so lines
 * carry `{node, component}`; the server adds one line per request
 * `{method, subject, code, ms}` at a configurable level.
 */
import { pino, type Logger as PinoLogger, type Level } from 'pino';

/** The logger type every subsystem accepts. */
export type Logger = PinoLogger;

/** Log levels accepted by {@link createLogger} (pino's, plus "silent"). */
export const LogLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
/** One of {@link LogLevels}. */
export type LogLevel = (typeof LogLevels)[number];

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** Minimum level written; default "info". */
  readonly level?: LogLevel;
  /** Node name put on every line. */
  readonly node?: string;
  /** Where lines go; default stdout (fd 1) through pino's fast destination. */
  readonly destination?: NodeJS.WritableStream | number;
}

/** Creates the root logger (JSON lines, ISO timestamps). */
export function createLogger(opts: LoggerOptions = {}): Logger {
  const dest = opts.destination ?? 1;
  return pino(
    {
      level: opts.level ?? 'info',
      base: opts.node ? { node: opts.node } : {},
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    typeof dest === 'number' ? pino.destination({ fd: dest, sync: false }) : dest,
  );
}

/** A logger that writes nothing (tests, benchmarks). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/** True when `level` is a pino level (for config validation). */
export function isLogLevel(level: string): level is LogLevel {
  return (LogLevels as readonly string[]).includes(level);
}

/** Re-exported for callers that type a per-request level. */
export type { Level };
