/**
 * Test helpers for the CLI: run `commitlog <args>` (node/src/cli/main.ts) as a real child
 * process, either to completion or as a long-running agent whose start line is awaited.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';

const MAIN = join(import.meta.dirname, '..', 'main.ts');

/** A stream to pass as a command's output, and its text so far. */
export function collect(): { out: PassThrough; text: () => string } {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  return { out, text: () => Buffer.concat(chunks).toString('utf8') };
}

/** Runs `commitlog <args>` to completion (killed after `timeoutMs`). */
export async function cli(
  args: readonly string[],
  timeoutMs = 20_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const t = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((r) => p.once('close', (c) => r(c)));
  clearTimeout(t);
  return { code, stdout, stderr };
}

/** A `commitlog agent` child process that logged its start line. */
export interface CliAgent {
  readonly proc: ChildProcess;
  readonly rpcPort: number;
  readonly httpPort: number;
  /** Everything it wrote to stdout (JSON log lines) / stderr so far. */
  stdout(): string;
  stderr(): string;
}

/**
 * Spawns `commitlog <args>` (an `agent` command) and resolves once it logged "agent
 * started" with its ports; rejects if it exits first or takes longer than `timeoutMs`
 * (killing it then). The caller stops it (SIGTERM, or SIGKILL in `after`). The default
 * bound is for a loaded machine (a tsx start took over 40 s in a CI run at load 25), not a
 * condition: a healthy start resolves as soon as the line is logged.
 */
export async function startCliAgent(args: readonly string[], timeoutMs = 90_000): Promise<CliAgent> {
  // The JSON API on any free port unless the test says otherwise (its default 8403 would collide between tests).
  const env = { COMMITLOG_JSON_PORT: '0', ...process.env };
  const proc = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise<CliAgent>((resolve, reject) => {
    const t = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`agent did not start within ${timeoutMs} ms:\n${out}\n${err}`));
    }, timeoutMs);
    proc.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`agent exited early (${code}):\n${out}\n${err}`));
    });
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.includes('"msg":"agent started'));
      if (line === undefined) return;
      clearTimeout(t);
      const j = JSON.parse(line) as { rpcPort: number; httpPort: number };
      resolve({ proc, rpcPort: j.rpcPort, httpPort: j.httpPort, stdout: () => out, stderr: () => err });
    });
  });
}
