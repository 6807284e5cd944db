/**
 * Network addresses `host:port`: the one parser and formatter of node/ (Raft transport,
 * gossip, client, agent, agent configuration, CLI).
 *
 * The rules, one place for all of them:
 * - `host:port` for a name or IPv4 address, `[v6]:port` for an IPv6 address (RFC 3986
 *   §3.2.2 brackets); an unbracketed host may not contain `:` (`::1:8400` is ambiguous).
 * - The host is not empty and holds no whitespace, `/`, `[` or `]`.
 * - The port is decimal digits in 1..65535; 0 ("any free port") only where the caller
 *   binds a socket and says so (`{ allowPortZero: true }`).
 * - Parsing returns the host without brackets; formatting adds them back for IPv6.
 *
 * Expected bad input is a value ({@link parseHostPort}); {@link hostPort} throws
 * {@link AddressError} for callers whose input was validated already.
 */

/** A parsed address: the host without brackets and the port. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** Options of {@link parseHostPort}. */
export interface ParseOptions {
  /** Accept port 0 (a bind address: "any free port"). Default false. */
  readonly allowPortZero?: boolean;
}

/** Result of {@link parseHostPort}: the address, or why the text is not one. */
export type ParsedHostPort =
  { readonly ok: true; readonly value: HostPort } | { readonly ok: false; readonly reason: string };

/** Thrown by {@link hostPort} for text that is not a `host:port`. */
export class AddressError extends RangeError {
  readonly code = 'bad-address';
  constructor(
    readonly address: string,
    readonly reason: string,
  ) {
    super(`expected host:port, got ${JSON.stringify(address)}: ${reason}`);
    this.name = 'AddressError';
  }
}

const MAX_PORT = 65535;

const fail = (reason: string): ParsedHostPort => ({ ok: false, reason });

/** Parses `host:port` or `[v6]:port` by the rules of the module header. */
export function parseHostPort(text: string, options: ParseOptions = {}): ParsedHostPort {
  const colon = text.lastIndexOf(':');
  if (colon < 0) return fail('no ":port"');
  let host = text.slice(0, colon);
  const portText = text.slice(colon + 1);
  if (host.startsWith('[')) {
    if (!host.endsWith(']') || host.length < 3) return fail('an IPv6 host is written [v6]:port');
    host = host.slice(1, -1);
    if (!host.includes(':')) return fail('brackets are only for IPv6 hosts');
    if (/[[\]\s/]/.test(host)) return fail('bad IPv6 host');
  } else {
    if (host === '') return fail('empty host');
    if (host.includes(':')) return fail('an IPv6 host needs brackets: [v6]:port');
    if (/[[\]\s/]/.test(host)) return fail('the host may not contain whitespace, "/", "[" or "]"');
  }
  if (!/^\d{1,5}$/.test(portText)) return fail(`the port must be a number in 1..${MAX_PORT}`);
  const port = Number(portText);
  const min = options.allowPortZero === true ? 0 : 1;
  if (port < min || port > MAX_PORT) return fail(`the port must be in ${min}..${MAX_PORT}, got ${port}`);
  return { ok: true, value: { host, port } };
}

/** Whether `text` is a valid `host:port` ({@link parseHostPort}). */
export function isHostPort(text: string, options: ParseOptions = {}): boolean {
  return parseHostPort(text, options).ok;
}

/**
 * Parses `host:port` for a caller whose input is expected to be valid.
 * @throws AddressError naming the text and what is wrong with it.
 */
export function hostPort(text: string, options: ParseOptions = {}): HostPort {
  const r = parseHostPort(text, options);
  if (!r.ok) throw new AddressError(text, r.reason);
  return r.value;
}

/** Formats host and port as `host:port`, bracketing an IPv6 host (`[::1]:8400`); an already bracketed host is kept. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** `addr` with its port replaced (e.g. the port a `:0` bind was given); `addr` must parse with port 0 allowed. */
export function withPort(addr: string, port: number): string {
  return formatHostPort(hostPort(addr, { allowPortZero: true }).host, port);
}
