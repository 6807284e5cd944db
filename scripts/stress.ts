/**
 * `npm run test:stress -- [--runs N] [--load sim|spin|none] [--load-procs K] [--out file.json] [files…]`
 *
 * Runs a chosen set of mocha test files N times in a row while a CPU load runs beside them,
 * and reports flakes per file: a test that passes on an idle machine and fails on a busy one
 * depends on timing, which is a defect (CI machines are shared). The default files are the
 * tests that run real processes or a real API server, the ones that meet the scheduler.
 *
 * - Each run is one mocha process over all the files (so the shared control plane starts
 *   once per run, as in `npm test`), with the JSON reporter; failures are attributed to the
 *   file that holds the test or hook. `COMMITLOG_STRESS_RUN` tells a test which run it is in.
 * - Load: `sim` (default) runs the seeded Raft simulator in K processes (default: one per
 *   core), the project's own CPU-heavy JavaScript; `spin` a busy loop; `none` nothing. A
 *   simulator process that stops by itself has found a failing seed: that is reported (with
 *   its output) and it is restarted on fresh seeds.
 * - Every run is bounded (`--run-timeout-ms`); a run that times out is stopped (SIGTERM to
 *   its process group, by pid, SIGKILL 10 s later) and counts as a failure of every file in
 *   it. SIGINT/SIGTERM to the script stop the run in progress and the load the same way,
 *   and the runs completed by then are reported and written to `--out` as usual (with
 *   `stoppedBy`: the signal, and the test the interrupted run was in): a series stopped at the
 *   end of a session keeps its numbers.
 * - Memory: the run's process group is sampled every 2 s (/proc); each run reports its peak
 *   (the group's total and its largest process). A run whose largest process passes
 *   `--rss-limit-mb` (default 8192) gets a Node diagnostic report written into
 *   `--report-dir` (default `.tmp/stress-reports/`; SIGUSR2: the runs have `--report-on-signal`; the report has the
 *   JS heap spaces, so heap vs. off-heap is visible) and its /proc memory split, then it is
 *   stopped and counted as failed: the machine is never left to the kernel's OOM killer.
 * - Output: one line per run as it ends, then a table per file (runs, failed runs, the
 *   failing tests), and the whole result as JSON in `--out` (default
 *   `.tmp/stress-<date>.json`). The progress file of every failed run (and of a run
 *   interrupted by a signal) is kept beside it (`<out>.run-N.progress`, named in a failed run's
 *   `progressFile`): the tests' start and end times there place a failure in the run. Exit 1
 *   if any run failed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { Command } from 'commander';
import { groupMemory, memoryBreakdown, type ProcessMemory } from './group-memory.js';

const root = resolve(import.meta.dirname, '..');

/** The tests that start real processes or a real control plane. */
export const DEFAULT_FILES = [
  'operator/src/**/*.test.ts',
  'test/controlplane/*.test.ts',
  'node/src/agent/**/*.test.ts',
  'node/src/raft/shell/**/*.test.ts',
  'node/src/server/**/*.test.ts',
  'node/src/http/**/*.test.ts',
  'node/src/cli/**/*.test.ts',
  'test/tools/*.test.ts',
  'scripts/start.test.ts',
] as const;

/** One failing test (or hook) of one run. */
export interface Failure {
  readonly file: string;
  readonly title: string;
  /** The first line of the error message (for the per-run line and the table). */
  readonly message: string;
  /**
   * The whole message and stack, at most {@link DETAIL_LIMIT} characters: a failing agent
   * test's message carries the agents' logs, which place the failure (kept in the JSON).
   */
  readonly detail: string;
}

/** The most of a failure's message and stack the JSON keeps (characters). */
export const DETAIL_LIMIT = 64 * 1024;

/** The outcome of one mocha run. */
export interface RunResult {
  readonly run: number;
  readonly ok: boolean;
  readonly passed: number;
  readonly failed: number;
  readonly ms: number;
  readonly timedOut: boolean;
  readonly failures: readonly Failure[];
  /** Files that had at least one test in this run (for the per-file table). */
  readonly files: readonly string[];
  readonly load1: number;
  /** Peak resident memory of the run's process group, and its largest process then (MB). */
  readonly peakMb?: number;
  readonly peakProcess?: ProcessMemory;
  /** Set when the run was stopped for passing the memory limit. */
  readonly memoryFinding?: string;
  /** Where the progress file of a failed run was kept. */
  readonly progressFile?: string;
}

/** Per-file totals over all runs. */
export interface FileSummary {
  readonly file: string;
  readonly runs: number;
  readonly failedRuns: number;
  readonly failures: readonly string[];
}

interface MochaJson {
  readonly stats?: { readonly passes?: number; readonly failures?: number };
  readonly tests?: readonly { readonly file?: string }[];
  readonly failures?: readonly {
    readonly file?: string;
    readonly fullTitle?: string;
    readonly err?: { readonly message?: string; readonly stack?: string };
  }[];
}

/** The message, then the stack unless it repeats the message, cut to {@link DETAIL_LIMIT}. */
function failureDetail(err: { readonly message?: string; readonly stack?: string } | undefined): string {
  const message = err?.message ?? '';
  const stack = err?.stack ?? '';
  const whole = stack.includes(message) ? stack : [message, stack].filter(Boolean).join('\n');
  return whole.length > DETAIL_LIMIT
    ? `${whole.slice(0, DETAIL_LIMIT)}\n… (${whole.length - DETAIL_LIMIT} more characters)`
    : whole;
}

/** Parses mocha's JSON reporter output into a {@link RunResult} (pure; exported for tests). */
export function parseRun(run: number, json: MochaJson, ms: number, exitCode: number | null, load1: number): RunResult {
  const rel = (f: string | undefined): string => (f ? relative(root, f) : '(unknown file)');
  const failures = (json.failures ?? []).map((f) => ({
    file: rel(f.file),
    title: f.fullTitle ?? '(untitled)',
    message: (f.err?.message ?? '').split('\n')[0] ?? '',
    detail: failureDetail(f.err),
  }));
  const files = [...new Set((json.tests ?? []).map((t) => rel(t.file)))].sort();
  const failed = json.stats?.failures ?? failures.length;
  return {
    run,
    ok: exitCode === 0 && failed === 0,
    passed: json.stats?.passes ?? 0,
    failed,
    ms,
    timedOut: false,
    failures,
    files,
    load1,
  };
}

/** Folds runs into one row per file. */
export function summarize(runs: readonly RunResult[]): FileSummary[] {
  const rows = new Map<string, { runs: number; failedRuns: number; failures: Set<string> }>();
  const row = (f: string) => {
    let r = rows.get(f);
    if (!r) rows.set(f, (r = { runs: 0, failedRuns: 0, failures: new Set() }));
    return r;
  };
  for (const r of runs) {
    const failedFiles = new Set(r.failures.map((f) => f.file));
    for (const f of new Set([...r.files, ...failedFiles])) {
      const x = row(f);
      x.runs += 1;
      if (failedFiles.has(f) || r.timedOut) x.failedRuns += 1;
    }
    for (const f of r.failures) row(f.file).failures.add(`${f.title}: ${f.message}`);
  }
  return [...rows.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([file, r]) => ({ file, runs: r.runs, failedRuns: r.failedRuns, failures: [...r.failures] }));
}

/** Starts the CPU load; returns a stop function. */
function startLoad(
  kind: string,
  procs: number,
  onFinding: (text: string) => void,
): { stop: () => void; pids: () => number[] } {
  if (kind === 'none' || procs <= 0) return { stop: () => undefined, pids: () => [] };
  const children = new Set<ChildProcess>();
  let stopping = false;
  let from = 1_000_000 + Math.floor(Math.random() * 1_000_000_000);
  const one = (): void => {
    const args =
      kind === 'spin'
        ? ['-e', 'for (;;) {}']
        : [
            '--import',
            'tsx',
            join(root, 'node/src/raft/sim/cli.ts'),
            '--seeds',
            '100000000',
            '--from',
            String((from += 100_000_000)),
          ];
    const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr?.on('data', (b: Buffer) => {
      err = (err + b.toString()).slice(-4000);
    });
    children.add(child);
    child.on('exit', (code, signal) => {
      children.delete(child);
      if (stopping) return;
      if (code !== 0 || signal) onFinding(`load process ${child.pid ?? '?'} exited (${signal ?? code}):\n${err}`);
      one();
    });
  };
  for (let i = 0; i < procs; i++) one();
  return {
    stop: () => {
      stopping = true;
      for (const c of children) c.kill('SIGKILL');
    },
    pids: () => [...children].flatMap((c) => (c.pid === undefined ? [] : [c.pid])),
  };
}

/**
 * What the progress file (written by test/support/root-hooks.ts) says about the test in
 * progress: the last started test that has not ended, with the time and resident size it
 * started at, or the last test that ended (pure on the file's text; exported for tests).
 */
export function runningTestFrom(text: string): string {
  const lines = text
    .trimEnd()
    .split('\n')
    .filter((l) => l !== '');
  const last = lines.at(-1);
  if (last === undefined) return 'no test had started';
  const m = /^(\S+) (start|end) (rss=\d+MB) (.*)$/.exec(last);
  if (m === null) return `progress file unreadable at: ${last}`;
  return m[2] === 'start'
    ? `running since ${m[1]} (${m[3]} at its start): ${m[4]}`
    : `between tests; the last one ended ${m[1]} (${m[3]}): ${m[4]}`;
}

function runningTest(progressFile: string): string {
  try {
    return runningTestFrom(readFileSync(progressFile, 'utf8'));
  } catch {
    return 'no progress file';
  }
}

/** The mocha process group of the run in progress (killed if the script is stopped). */
let currentRun: number | undefined;
/** The progress file of the run in progress (named when the script is stopped). */
let currentProgress: string | undefined;

/** Runs mocha once over `files`; resolves with the parsed result. */
function runOnce(
  run: number,
  files: readonly string[],
  dir: string,
  timeoutMs: number,
  rssLimitMb: number,
  reportDir: string,
): Promise<RunResult> {
  const out = join(dir, `run-${run}.json`);
  const progressFile = join(dir, `run-${run}.progress`);
  mkdirSync(reportDir, { recursive: true });
  const started = performance.now();
  const load1 = loadavg()[0] ?? 0;
  return new Promise((done) => {
    const child = spawn(
      join(root, 'node_modules/.bin/mocha'),
      ['--reporter', 'json', '--reporter-option', `output=${out}`, ...files],
      {
        cwd: root,
        env: {
          ...process.env,
          COMMITLOG_STRESS_RUN: String(run),
          COMMITLOG_TEST_PROGRESS: progressFile,
          // A runaway JavaScript heap dies at half the limit (at least 1 GiB; for the default
          // limit 4 GiB, about V8's own default here) with a fatal-error report (its JS stack
          // names the allocation site) instead of growing until it is stopped: a SIGUSR2
          // report needs the event loop, which a runaway does not give back.
          NODE_OPTIONS:
            `${process.env.NODE_OPTIONS ?? ''} --report-on-signal --report-on-fatalerror --report-directory=${reportDir} --max-old-space-size=${Math.max(1024, Math.floor(rssLimitMb / 2))}`.trim(),
        },
        stdio: ['ignore', 'ignore', 'pipe'],
        detached: true,
      },
    );
    currentRun = child.pid;
    currentProgress = progressFile;
    let stderr = '';
    child.stderr?.on('data', (b: Buffer) => {
      stderr = (stderr + b.toString()).slice(-4000);
    });
    let timedOut = false;
    // On timeout: SIGTERM to the group (the control plane cleans up), SIGKILL 10 s later.
    const kill = (signal: NodeJS.Signals): void => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, signal);
      } catch {
        /* gone */
      }
    };
    let hard: NodeJS.Timeout | undefined;
    const stopRun = (): void => {
      kill('SIGTERM');
      hard = setTimeout(() => kill('SIGKILL'), 10_000);
    };
    const timer = setTimeout(() => {
      timedOut = true;
      stopRun();
    }, timeoutMs);
    let peakMb = 0;
    let peakProcess: ProcessMemory | undefined;
    let memoryFinding: string | undefined;
    const sampler = setInterval(() => {
      if (child.pid === undefined || memoryFinding !== undefined) return;
      const m = groupMemory(child.pid);
      if (m.totalMb > peakMb) {
        peakMb = Math.round(m.totalMb);
        peakProcess = m.largest && { ...m.largest, rssMb: Math.round(m.largest.rssMb) };
      }
      const big = m.largest;
      if (big === undefined || big.rssMb <= rssLimitMb) return;
      memoryFinding = `pid ${big.pid} reached ${Math.round(big.rssMb)} MB (limit ${rssLimitMb}): ${big.cmd}; ${memoryBreakdown(big.pid)}; ${runningTest(progressFile)}; a diagnostic report goes to ${reportDir}`;
      process.stdout.write(`MEMORY: run ${run}: ${memoryFinding}\n`);
      try {
        process.kill(big.pid, 'SIGUSR2');
      } catch {
        /* gone */
      }
      setTimeout(stopRun, 15_000).unref();
    }, 2_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      clearInterval(sampler);
      if (hard) clearTimeout(hard);
      currentRun = undefined;
      currentProgress = undefined;
      const ms = Math.round(performance.now() - started);
      let json: MochaJson = {};
      try {
        json = JSON.parse(readFileSync(out, 'utf8')) as MochaJson;
      } catch {
        json = {
          failures: [
            {
              file: '(mocha)',
              fullTitle: 'mocha run',
              err: {
                message: timedOut
                  ? `timed out after ${timeoutMs} ms; ${runningTest(progressFile)}`
                  : `exit ${code ?? '?'} without a report: ${stderr.trim().split('\n').pop() ?? ''}`,
                stack: timedOut ? undefined : stderr.trim().slice(-DETAIL_LIMIT),
              },
            },
          ],
        };
      }
      const r = {
        ...parseRun(run, json, ms, timedOut ? null : code, load1),
        peakMb,
        ...(peakProcess ? { peakProcess } : {}),
        ...(memoryFinding ? { memoryFinding } : {}),
      };
      done(timedOut ? { ...r, ok: false, timedOut: true } : memoryFinding ? { ...r, ok: false } : r);
    });
  });
}

async function main(): Promise<void> {
  const program = new Command()
    .name('test:stress')
    .argument('[files...]', 'mocha files or globs', [...DEFAULT_FILES])
    .option('--runs <n>', 'runs in a row', '20')
    .option('--load <kind>', 'sim | spin | none', 'sim')
    .option('--load-procs <k>', 'load processes', String(cpus().length))
    .option('--run-timeout-ms <ms>', 'bound of one run', String(20 * 60_000))
    .option('--rss-limit-mb <mb>', 'stop a run whose largest process passes this resident size', '8192')
    .option(
      '--report-dir <dir>',
      'where a run over the memory limit writes its diagnostic report',
      '.tmp/stress-reports',
    )
    .option('--out <file>', 'JSON result file')
    .parse();
  const o = program.opts<{
    runs: string;
    load: string;
    loadProcs: string;
    runTimeoutMs: string;
    rssLimitMb: string;
    reportDir: string;
    out?: string;
  }>();
  const rssLimitMb = Number(o.rssLimitMb);
  if (!(rssLimitMb > 0)) throw new Error(`--rss-limit-mb must be a positive number, got ${o.rssLimitMb}`);
  const files = program.args.length > 0 ? program.args : [...DEFAULT_FILES];
  const runs = Number(o.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer, got ${o.runs}`);
  if (!['sim', 'spin', 'none'].includes(o.load)) throw new Error(`--load must be sim, spin or none, got ${o.load}`);
  const out = o.out ?? join(root, '.tmp', `stress-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  const dir = mkdtempSync(join(tmpdir(), 'commitlog-stress-'));
  const findings: string[] = [];
  const load = startLoad(o.load, Number(o.loadProcs), (t) => {
    findings.push(t);
    process.stdout.write(`LOAD FINDING: ${t}\n`);
  });
  const stop = (): void => {
    load.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  const results: RunResult[] = [];
  const began = new Date();
  /** Prints the per-file table and writes `out` for the runs done; returns the failed runs. */
  const report = (stoppedBy?: string): number => {
    const table = summarize(results);
    process.stdout.write('\n| file | runs | failed runs |\n|---|---|---|\n');
    for (const t of table) process.stdout.write(`| ${t.file} | ${t.runs} | ${t.failedRuns} |\n`);
    for (const t of table.filter((x) => x.failures.length > 0))
      process.stdout.write(`\n${t.file}:\n${t.failures.map((f) => `  - ${f}`).join('\n')}\n`);
    const failedRuns = results.filter((r) => !r.ok).length;
    if (stoppedBy !== undefined) process.stdout.write(`\nstopped by ${stoppedBy}\n`);
    process.stdout.write(`\n${results.length - failedRuns} of ${results.length} runs passed\n`);
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(
      out,
      `${JSON.stringify({ date: began.toISOString(), cpus: cpus().length, cpu: cpus()[0]?.model, load: o.load, loadProcs: Number(o.loadProcs), files, runsPlanned: runs, ...(stoppedBy !== undefined ? { stoppedBy } : {}), runs: results, perFile: table, loadFindings: findings }, null, 2)}\n`,
    );
    process.stdout.write(`result: ${relative(process.cwd(), out)}\n`);
    return failedRuns;
  };
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    process.once(signal, () => {
      const interrupted =
        currentProgress === undefined
          ? 'between runs'
          : `during run ${results.length + 1}, ${runningTest(currentProgress)}`;
      // The control plane's own SIGTERM handler (test/controlplane/process.ts) stops its children.
      if (currentRun !== undefined)
        try {
          process.kill(-currentRun, 'SIGTERM');
        } catch {
          /* already gone */
        }
      load.stop();
      if (currentProgress !== undefined) keepProgress(currentProgress, out, results.length + 1);
      try {
        report(`${signal} after ${results.length} of ${runs} runs, ${interrupted}`);
      } finally {
        stop();
        process.exit(code);
      }
    });
  }
  try {
    process.stdout.write(
      `stress: ${runs} runs of ${files.join(' ')} with load=${o.load}×${o.loadProcs} (pids ${load.pids().join(' ') || 'none'})\n`,
    );
    for (let i = 1; i <= runs; i++) {
      const ran = await runOnce(i, files, dir, Number(o.runTimeoutMs), rssLimitMb, resolve(o.reportDir));
      const r = ran.ok ? ran : { ...ran, ...keepProgress(join(dir, `run-${i}.progress`), out, i) };
      results.push(r);
      const what = r.ok
        ? 'ok'
        : r.memoryFinding
          ? `MEMORY: ${r.memoryFinding}`
          : r.timedOut
            ? 'TIMED OUT'
            : `FAILED: ${r.failures.map((f) => `${f.file} › ${f.title}: ${f.message}`).join(' | ')}`;
      process.stdout.write(
        `run ${i}/${runs}: ${r.passed} passed, ${r.failed} failed in ${(r.ms / 1000).toFixed(0)} s (load1 ${r.load1.toFixed(1)}, peak ${r.peakMb ?? '?'} MB) ${what}\n`,
      );
    }
  } finally {
    stop();
  }
  const failedRuns = report();
  process.exitCode = failedRuns > 0 || findings.length > 0 ? 1 : 0;
}

/** Copies a failed run's progress file beside `out` (the run directory is removed at the end). */
function keepProgress(progressFile: string, out: string, run: number): { progressFile?: string } {
  const kept = `${out.replace(/\.json$/, '')}.run-${run}.progress`;
  try {
    mkdirSync(dirname(kept), { recursive: true });
    copyFileSync(progressFile, kept);
    return { progressFile: kept };
  } catch {
    return {};
  }
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  await main();
}
