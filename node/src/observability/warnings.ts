/**
 * Process warnings that tell an operator nothing. One today: grpc-js passes the dialled
 * host as the TLS servername even when it is an IP address, and Node then emits DEP0123
 * ("Setting the TLS ServerName to an IP address is not permitted by RFC 6066") on the first
 * such connection — every node and CLI call to e.g. 127.0.0.1 did. The certificate is still
 * verified against its IP SANs (our own Raft transport does not set an IP servername at
 * all), so exactly that warning is dropped; every other warning still prints.
 */

/** Warning codes {@link quietKnownWarnings} drops. */
export const QUIET_WARNING_CODES: ReadonlySet<string> = new Set(['DEP0123']);

let installed = false;

/** Drops the warnings of {@link QUIET_WARNING_CODES} from `process.emitWarning` (idempotent). */
export function quietKnownWarnings(): void {
  if (installed) return;
  installed = true;
  const emitWarning = process.emitWarning.bind(process) as (...args: unknown[]) => void;
  process.emitWarning = ((...args: unknown[]) => {
    const code = typeof args[1] === 'object' ? (args[1] as { code?: unknown } | null)?.code : args[2];
    if (typeof code === 'string' && QUIET_WARNING_CODES.has(code)) return;
    emitWarning(...args);
  }) as typeof process.emitWarning;
}
