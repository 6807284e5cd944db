/**
 * A logger for tests that keeps every line, so tests can assert what was repaired.
 */
import { type LogLogger } from '../logger.js';

/** One captured log line. */
export interface CapturedLine {
  readonly level: 'info' | 'warn' | 'error';
  readonly obj: object;
  readonly msg: string | undefined;
}

/** A {@link LogLogger} that records lines in `lines`. */
export function captureLogger(): LogLogger & { readonly lines: CapturedLine[]; warnings(): string[] } {
  const lines: CapturedLine[] = [];
  return {
    lines,
    info: (obj, msg) => lines.push({ level: 'info', obj, msg }),
    warn: (obj, msg) => lines.push({ level: 'warn', obj, msg }),
    error: (obj, msg) => lines.push({ level: 'error', obj, msg }),
    warnings: () => lines.filter((l) => l.level === 'warn').map((l) => l.msg ?? ''),
  };
}
