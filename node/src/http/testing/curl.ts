/**
 * Runs the real `curl` (Debian package `curl`) for the JSON API's tests and parses its
 * `-i` output: the final status, headers and body (100 Continue blocks skipped).
 */
import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';

/** What one curl run returned. */
export interface CurlResult {
  /** curl's exit code (0 = the transfer worked, whatever the HTTP status). */
  readonly exit: number | null;
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /** The body's bytes. */
  readonly raw: Buffer;
  readonly stderr: string;
  /** The body parsed as JSON (throws if it is not). */
  json<T = Record<string, unknown>>(): T;
}

/** TLS files curl presents and trusts. */
export interface CurlTls {
  readonly ca: string;
  readonly cert?: string;
  readonly key?: string;
}

/** `--cacert … [--cert … --key …]`. */
export function tlsArgs(t: CurlTls): string[] {
  return ['--cacert', t.ca, ...(t.cert && t.key ? ['--cert', t.cert, '--key', t.key] : [])];
}

function parse(out: Buffer): { status: number; headers: Record<string, string>; body: string; raw: Buffer } {
  let rest = out;
  for (;;) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) return { status: 0, headers: {}, body: rest.toString('utf8'), raw: rest };
    const lines = rest.subarray(0, end).toString('latin1').split('\r\n');
    const status = Number(/^HTTP\/[\d.]+ (\d{3})/.exec(lines[0] ?? '')?.[1] ?? 0);
    rest = rest.subarray(end + 4);
    if (status >= 100 && status < 200) continue;
    const headers: Record<string, string> = {};
    for (const l of lines.slice(1)) {
      const i = l.indexOf(':');
      if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
    }
    return { status, headers, body: rest.toString('utf8'), raw: rest };
  }
}

/** Runs `curl -sS -i <args>`; `input` is piped to its stdin (for `--data-binary @-`). */
export function curl(
  args: readonly string[],
  opts: { input?: Readable | Buffer; timeoutMs?: number } = {},
): Promise<CurlResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(
      'curl',
      ['-sS', '-i', '--max-time', String(Math.ceil((opts.timeoutMs ?? 30_000) / 1000)), ...args],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    const out: Buffer[] = [];
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => out.push(d));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.stdin.on('error', () => {}); // curl may stop reading stdin once the server said no
    if (Buffer.isBuffer(opts.input)) p.stdin.end(opts.input);
    else if (opts.input) opts.input.pipe(p.stdin);
    else p.stdin.end();
    p.once('error', reject);
    p.once('close', (exit) => {
      const r = parse(Buffer.concat(out));
      resolve({
        exit,
        ...r,
        stderr,
        json<T>(): T {
          try {
            return JSON.parse(r.body) as T;
          } catch {
            throw new Error(
              `curl ${args.join(' ')}: body is not JSON (status ${r.status}, exit ${exit}): ${r.body.slice(0, 500)} ${stderr}`,
            );
          }
        },
      });
    });
  });
}
