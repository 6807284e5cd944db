/**
 * The minimal logger the log reports repairs through. pino's `Logger` satisfies it.
 */

/** A structured logger: `(context, message)`, as pino takes it. */
export interface LogLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** A logger that drops everything (the default). */
export const silentLogger: LogLogger = {
  info: () => {},
  warn: () => {},
  error: () => {},
};
