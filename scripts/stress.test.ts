import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseRun, runningTestFrom, summarize } from './stress.js';

const root = resolve(import.meta.dirname, '..');

describe('test:stress (scripts/stress.ts)', function () {
  this.timeout(120_000);

  it('runs the files N times under load and reports the flaky file with its failing test', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stress-test-'));
    try {
      const out = join(dir, 'result.json');
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          join(root, 'scripts/stress.ts'),
          '--runs',
          '3',
          '--load',
          'spin',
          '--load-procs',
          '1',
          '--out',
          out,
          'scripts/testdata/stress-fixture.ts',
        ],
        { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let text = '';
      child.stdout.on('data', (b: Buffer) => {
        text += b.toString();
      });
      child.stderr.on('data', (b: Buffer) => {
        text += b.toString();
      });
      const code = await new Promise<number | null>((r) => child.on('exit', r));
      assert.equal(code, 1, `a failed run makes the script exit 1:\n${text}`);
      assert.match(text, /run 2\/3: 1 passed, 1 failed .*fails in run 2 only/);
      assert.match(text, /2 of 3 runs passed/);
      const result = JSON.parse(readFileSync(out, 'utf8')) as {
        perFile: { file: string; runs: number; failedRuns: number; failures: string[] }[];
        runs: { ok: boolean; progressFile?: string; failures: { message: string; detail: string }[] }[];
      };
      assert.deepEqual(
        result.runs.map((r) => r.ok),
        [true, false, true],
      );
      // The failed run's progress file outlives the run directory, beside the result.
      assert.deepEqual(
        result.runs.map((r) => r.progressFile),
        [undefined, join(dir, 'result.run-2.progress'), undefined],
      );
      assert.match(
        readFileSync(join(dir, 'result.run-2.progress'), 'utf8'),
        /end rss=\d+MB \S*stress-fixture\.ts :: stress fixture fails in run 2 only/,
      );
      assert.deepEqual(
        result.perFile.map((f) => [f.file, f.runs, f.failedRuns]),
        [['scripts/testdata/stress-fixture.ts', 3, 1]],
      );
      assert.match(result.perFile[0]?.failures[0] ?? '', /fails in run 2 only: the second run fails$/);
      // The JSON keeps the whole message (an agent test's carries the agents' logs) and the stack.
      const failure = result.runs[1]?.failures[0];
      assert.equal(failure?.message, 'the second run fails');
      assert.match(
        failure?.detail ?? '',
        /the second run fails\n--- agent n1 log ---\nn1 listening\n[^]*stress-fixture\.ts/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stops its load and the run in progress when it is terminated, and reports the runs done by then', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stress-term-'));
    const out = join(dir, 'result.json');
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(root, 'scripts/stress.ts'),
        '--runs',
        '1000',
        '--load',
        'spin',
        '--load-procs',
        '1',
        '--out',
        out,
        'scripts/testdata/stress-fixture.ts',
      ],
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let text = '';
    const started = new Promise<void>((r) =>
      child.stdout.on('data', (b: Buffer) => {
        text += b.toString();
        if (/run 1\/1000/.test(text)) r();
      }),
    );
    const exited = new Promise<number | null>((r) => child.on('exit', r));
    await started;
    const pids = (/\(pids ([\d ]+)\)/.exec(text)?.[1] ?? '').split(' ').map(Number);
    assert.equal(pids.length, 1, text);
    child.kill('SIGTERM');
    assert.equal(await exited, 143);
    const alive = (pid: number): boolean => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    for (const deadline = Date.now() + 10_000; pids.some(alive);) {
      assert.ok(Date.now() < deadline, `load process ${pids.join(' ')} still running 10 s after the script stopped`);
      await new Promise((r) => setTimeout(r, 50));
    }
    try {
      // The runs finished before the signal are in the result (at least run 1, whose line we saw).
      const result = JSON.parse(readFileSync(out, 'utf8')) as {
        runsPlanned: number;
        stoppedBy?: string;
        runs: { run: number }[];
      };
      assert.equal(result.runsPlanned, 1000);
      assert.ok(result.runs.length >= 1, JSON.stringify(result));
      assert.deepEqual(
        result.runs.map((r) => r.run),
        result.runs.map((_, i) => i + 1),
      );
      assert.match(result.stoppedBy ?? '', new RegExp(`^SIGTERM after ${result.runs.length} of 1000 runs, `));
      assert.match(text, new RegExp(`stopped by SIGTERM after ${result.runs.length} of 1000 runs`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stops a run whose memory passes the limit, with a diagnostic report, instead of leaving it to the OOM killer', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stress-mem-'));
    try {
      const out = join(dir, 'result.json');
      const reports = join(dir, 'reports');
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          join(root, 'scripts/stress.ts'),
          '--runs',
          '1',
          '--load',
          'none',
          '--rss-limit-mb',
          '300',
          '--report-dir',
          reports,
          '--out',
          out,
          'scripts/testdata/stress-memory-fixture.ts',
        ],
        { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let text = '';
      child.stdout.on('data', (b: Buffer) => (text += b.toString()));
      child.stderr.on('data', (b: Buffer) => (text += b.toString()));
      const code = await new Promise<number | null>((r) => child.on('exit', r));
      assert.equal(code, 1, text);
      assert.match(text, /MEMORY: run 1: pid \d+ reached \d+ MB \(limit 300\)/);
      const result = JSON.parse(readFileSync(out, 'utf8')) as {
        runs: { ok: boolean; peakMb: number; memoryFinding?: string }[];
      };
      assert.equal(result.runs[0]?.ok, false);
      assert.ok((result.runs[0]?.peakMb ?? 0) >= 400, `peak ${result.runs[0]?.peakMb} MB`);
      assert.match(result.runs[0]?.memoryFinding ?? '', /Anonymous: \d+ kB/);
      assert.match(
        result.runs[0]?.memoryFinding ?? '',
        /running since \S+ \(rss=\d+MB at its start\): \S*stress-memory-fixture\.ts :: stress memory fixture holds 400 MB until it is stopped/,
        'the finding names the test that was running',
      );
      const written = readdirSync(reports).filter((f) => f.endsWith('.json'));
      assert.equal(written.length, 1, `one diagnostic report in ${reports}: ${written.join(' ')}`);
      const report = JSON.parse(readFileSync(join(reports, written[0] ?? ''), 'utf8')) as {
        header?: { trigger?: string };
        javascriptHeap?: { totalMemory?: number };
      };
      assert.equal(report.header?.trigger, 'Signal');
      assert.ok((report.javascriptHeap?.totalMemory ?? 0) > 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names the test in progress from the progress file, or says that none was', () => {
    const start = '2026-12-02T13:00:00.000Z start rss=180MB /r/a.test.ts :: suite a test';
    const end = '2026-12-02T13:00:01.000Z end rss=190MB /r/a.test.ts :: suite a test';
    assert.equal(runningTestFrom(''), 'no test had started');
    assert.equal(
      runningTestFrom(`${start}\n`),
      'running since 2026-12-02T13:00:00.000Z (rss=180MB at its start): /r/a.test.ts :: suite a test',
    );
    assert.equal(
      runningTestFrom(`${start}\n${end}\n`),
      'between tests; the last one ended 2026-12-02T13:00:01.000Z (rss=190MB): /r/a.test.ts :: suite a test',
    );
    assert.match(runningTestFrom('garbage'), /unreadable at: garbage/);
  });

  it('summarizes per file: a timed-out run counts against every file in it', () => {
    const a = parseRun(
      1,
      {
        stats: { passes: 2, failures: 0 },
        tests: [{ file: join(root, 'x.test.ts') }, { file: join(root, 'y.test.ts') }],
      },
      10,
      0,
      1,
    );
    const b = {
      ...parseRun(
        2,
        {
          stats: { passes: 1, failures: 1 },
          tests: [{ file: join(root, 'x.test.ts') }, { file: join(root, 'y.test.ts') }],
          failures: [{ file: join(root, 'y.test.ts'), fullTitle: 't', err: { message: 'boom\nstack' } }],
        },
        10,
        1,
        1,
      ),
    };
    const c = {
      ...parseRun(3, { tests: [{ file: join(root, 'x.test.ts') }] }, 10, null, 1),
      ok: false,
      timedOut: true,
    };
    assert.equal(b.ok, false);
    assert.deepEqual(
      summarize([a, b, c]).map((f) => [f.file, f.runs, f.failedRuns, f.failures]),
      [
        ['x.test.ts', 3, 1, []],
        ['y.test.ts', 2, 1, ['t: boom']],
      ],
    );
  });
});
