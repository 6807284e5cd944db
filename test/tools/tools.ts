/**
 * The third-party tools of the ecosystem tests (grpcurl, grpc_health_probe, promtool),
 * built from their Go modules by test/tools/build.sh into a cache outside the repository.
 *
 * {@link ensureTools} runs the build script (a no-op when every binary is up to date, as
 * after `.ci/run`) and answers where the binaries are, or why they could not be built —
 * the only reason a test that needs them may skip, and it prints that reason.
 */
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';

const BUILD = join(import.meta.dirname, 'build.sh');

/** The binaries build.sh produces (prometheus only when asked: {@link ensurePrometheus}). */
export type ToolName = 'grpcurl' | 'grpc_health_probe' | 'promtool' | 'prometheus';

/** Where the tools are, or why they are not. */
export type Tools =
  { readonly ok: true; path(name: ToolName): string } | { readonly ok: false; readonly reason: string };

let pending: Promise<Tools> | undefined;
let pendingPrometheus: Promise<Tools> | undefined;

/** Builds (if needed) and locates the tools; at most one build per test process. */
export function ensureTools(): Promise<Tools> {
  return (pending ??= build([]));
}

/** Builds (if needed) the Prometheus server (`build.sh prometheus`: minutes when cold). */
export function ensurePrometheus(): Promise<Tools> {
  return (pendingPrometheus ??= build(['prometheus']));
}

async function build(names: readonly string[]): Promise<Tools> {
  const dir = spawnSync('bash', [BUILD, '--print-dir'], { encoding: 'utf8' }).stdout.trim();
  const p = spawn('bash', [BUILD, ...names], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  p.stdout.on('data', (d: Buffer) => (out += d.toString()));
  p.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => {
    p.once('error', () => resolve(-1));
    p.once('close', resolve);
  });
  if (code !== 0)
    return {
      ok: false,
      reason: `bash test/tools/build.sh ${names.join(' ')} failed (exit ${String(code)}):\n${out.trim().split('\n').slice(-15).join('\n')}`,
    };
  return { ok: true, path: (name) => join(dir, name) };
}

/** Result of running a tool to completion. */
export interface ToolRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `bin args…` (stdin from `input`), killed after `timeoutMs`. */
export async function runTool(
  bin: string,
  args: readonly string[],
  opts: { input?: string; timeoutMs?: number } = {},
): Promise<ToolRun> {
  // No input: stdin is /dev/null. Writing an empty stdin raced the tool's exit on a busy machine
  // (EPIPE, stress run 9 of 20 under load 30). With input, a tool that exits without reading it
  // is judged by its exit code and output, not by the broken pipe.
  const p = spawn(bin, args, { stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  p.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  p.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  if (p.stdin !== null) {
    p.stdin.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') stderr += `\n[runTool] stdin: ${err.message}`;
    });
    p.stdin.end(opts.input);
  }
  const t = setTimeout(() => p.kill('SIGKILL'), opts.timeoutMs ?? 20_000);
  const code = await new Promise<number | null>((resolve) => p.once('close', resolve));
  clearTimeout(t);
  return { code, stdout, stderr };
}
