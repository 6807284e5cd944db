/**
 * Start-up of the `commitlog` CLI (`npm run bench:cli`). Prints one JSON document: for each
 * variant, the wall and CPU (user + system) time of whole processes, median and max over
 * BENCH_CLI_RUNS runs (default 10), of `--help` and of `servers` against a running
 * standalone agent (one real GetServers call).
 *
 * Variants: `compiled` (build/node/src/cli/main.js from `npm run build`, as the installed
 * bin runs), `tsx` (node/src/cli/main.ts through tsx, what `npm run cli` runs) and, when
 * BENCH_CLI_BEFORE names a checkout of an older commit's node/ tree inside this repository
 * (so that it resolves node_modules), `before` — its main.ts through tsx.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
const RUNS = Number(process.env.BENCH_CLI_RUNS ?? 10);

interface Sample {
  readonly wallMs: number;
  readonly cpuMs: number;
}

/** Runs one process to completion; CPU time from the child's rusage (bash `times` is coarser). */
function once(args: readonly string[]): Sample {
  const start = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', '%U %S', process.execPath, ...args], { encoding: 'utf8' });
  const wallMs = performance.now() - start;
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed (${String(r.status)}): ${r.stderr}`);
  const [user, sys] = (r.stderr.trim().split('\n').pop() ?? '0 0').split(' ').map(Number);
  return { wallMs, cpuMs: ((user ?? 0) + (sys ?? 0)) * 1000 };
}

function summary(samples: readonly Sample[]): object {
  const med = (xs: number[]): number => {
    const s = [...xs].sort((a, b) => a - b);
    return Math.round(s[Math.floor(s.length / 2)] ?? 0);
  };
  const wall = samples.map((s) => s.wallMs);
  const cpu = samples.map((s) => s.cpuMs);
  return { wallMsMedian: med(wall), wallMsMax: Math.round(Math.max(...wall)), cpuMsMedian: med(cpu) };
}

async function startAgent(): Promise<{ port: number; stop: () => void; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'commitlog-bench-cli-'));
  const p = spawn(
    process.execPath,
    [
      join(ROOT, 'build/node/src/cli/main.js'),
      'agent',
      '--standalone',
      '--insecure',
      '--data-dir',
      dir,
      '--rpc-port',
      '0',
      '--http-port',
      '0',
      '--request-log-level',
      'silent',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const port = await new Promise<number>((ok, fail) => {
    let text = '';
    p.stdout.on('data', (d: Buffer) => {
      text += d.toString();
      const line = text.split('\n').find((l) => l.includes('"msg":"agent started'));
      if (line) ok((JSON.parse(line) as { rpcPort: number }).rpcPort);
    });
    p.once('exit', (c) => fail(new Error(`agent exited ${String(c)}`)));
  });
  return { port, dir, stop: () => p.kill('SIGTERM') };
}

const compiled = join(ROOT, 'build/node/src/cli/main.js');
if (!existsSync(compiled)) throw new Error('run `npm run build` first');
const variants: Record<string, readonly string[]> = {
  compiled: [compiled],
  tsx: ['--import', 'tsx', join(ROOT, 'node/src/cli/main.ts')],
};
const before = process.env.BENCH_CLI_BEFORE;
if (before) variants.before = ['--import', 'tsx', join(resolve(before), 'node/src/cli/main.ts')];

const agent = await startAgent();
const results: Record<string, object> = {};
try {
  for (const [name, base] of Object.entries(variants)) {
    once([...base, '--help']); // warm the OS file cache (and Node's compile cache where used)
    const help: Sample[] = [];
    const servers: Sample[] = [];
    for (let i = 0; i < RUNS; i++) {
      help.push(once([...base, '--help']));
      servers.push(once([...base, 'servers', '--addr', `127.0.0.1:${agent.port}`, '--insecure']));
    }
    results[name] = { help: summary(help), servers: summary(servers) };
  }
} finally {
  agent.stop();
  rmSync(agent.dir, { recursive: true, force: true });
}
console.log(
  JSON.stringify(
    {
      date: new Date().toISOString(),
      node: process.version,
      cpus: cpus().length,
      loadavg1: loadavg()[0],
      runs: RUNS,
      results,
    },
    null,
    2,
  ),
);
