/**
 * `npm run test:mutants -- [--seeds N] [--only id,id] [--all-seeds] [--markdown]`: applies each
 * mutant of mutants.ts to a throw-away copy of node/src (never to the working tree), runs the
 * randomized simulator on it (`test:sim`, stopping at the first failing seed), and classifies
 * it: `killed` (a safety invariant or the linearizability checker failed: the seed is
 * printed), `crashed` (the node threw a core or storage consistency error instead),
 * `survived`. With `--all-seeds` every seed runs (`test:sim --keep-going`) and each mutant
 * also reports how many seeds killed it (the robustness of the kill: `kills/seeds`); it is
 * killed when at least one seed killed it. Exits 1 unless every mutant is killed.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { INVARIANT_NAMES, NOT_LINEARIZABLE } from './invariant-violation.js';
import { type Mutant, mutants } from './mutants.js';

const INVARIANTS = new RegExp(`^(${[...INVARIANT_NAMES, NOT_LINEARIZABLE].join('|')}):`);

const program = new Command()
  .name('test:mutants')
  .option('--seeds <n>', 'seeds per mutant (the run stops at the first failure)', '40')
  .option('--only <ids>', 'comma-separated mutant ids')
  .option('--all-seeds', 'run every seed and count the seeds that kill each mutant')
  .option('--markdown', 'print the kill table as markdown');
program.parse();
const o = program.opts<{ seeds: string; only?: string; allSeeds?: boolean; markdown?: boolean }>();

const root = process.cwd();
const only = o.only?.split(',');
const chosen = mutants.filter((m) => only === undefined || only.includes(m.id));

interface Outcome {
  readonly mutant: Mutant;
  readonly verdict: 'killed' | 'crashed' | 'survived' | 'broken';
  readonly seed: number | null;
  readonly detail: string;
  readonly ms: number;
  /** With --all-seeds: seeds that killed it (an invariant or the checker), and seeds that crashed it. */
  readonly kills?: number;
  readonly crashes?: number;
}

function run(m: Mutant): Outcome {
  const started = performance.now();
  const dir = mkdtempSync(join(tmpdir(), 'commitlog-mutant-'));
  try {
    cpSync(join(root, 'node', 'src'), join(dir, 'node', 'src'), { recursive: true });
    for (const f of ['package.json', 'tsconfig.json']) cpSync(join(root, f), join(dir, f));
    symlinkSync(realpathSync(join(root, 'node_modules')), join(dir, 'node_modules'));
    const path = join(dir, m.file);
    const text = readFileSync(path, 'utf8');
    const hits = text.split(m.find).length - 1;
    if (hits !== 1)
      return { mutant: m, verdict: 'broken', seed: null, detail: `find text occurs ${hits} times in ${m.file}`, ms: 0 };
    writeFileSync(path, text.replace(m.find, m.replace));
    const r = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        'node/src/raft/sim/cli.ts',
        '--seeds',
        o.seeds,
        '--duration',
        '2000',
        ...(o.allSeeds === true ? ['--keep-going'] : []),
        ...(m.flags ?? []),
      ],
      {
        cwd: dir,
        encoding: 'utf8',
        timeout: (o.allSeeds === true ? 60 : 20) * 60_000,
        maxBuffer: 256 * 1024 * 1024,
      },
    );
    const ms = Math.round(performance.now() - started);
    if (o.allSeeds === true) return allSeeds(m, r.status, r.stderr, r.stdout, ms);
    const failed = /seed (\d+) FAILED: (.*)/.exec(r.stderr);
    if (r.status === 0) return { mutant: m, verdict: 'survived', seed: null, detail: `${o.seeds} seeds passed`, ms };
    if (failed === null)
      return {
        mutant: m,
        verdict: 'crashed',
        seed: null,
        detail: (r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ').slice(0, 200),
        ms,
      };
    const error = failed[2] ?? '';
    return {
      mutant: m,
      verdict: INVARIANTS.test(error) ? 'killed' : 'crashed',
      seed: Number(failed[1]),
      detail: error.slice(0, 160),
      ms,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Classifies a --keep-going run: killed when any seed killed it; the first killing seed is shown. */
function allSeeds(m: Mutant, status: number | null, stderr: string, stdout: string, ms: number): Outcome {
  const failures = [...stderr.matchAll(/seed (\d+) FAILED: (.*)/g)].map((x) => ({
    seed: Number(x[1]),
    error: x[2] ?? '',
  }));
  const kills = failures.filter((f) => INVARIANTS.test(f.error));
  const crashes = failures.length - kills.length;
  const first = kills[0] ?? failures[0];
  const counts = { kills: kills.length, crashes };
  if (status === 0)
    return { mutant: m, verdict: 'survived', seed: null, detail: `${o.seeds} seeds passed`, ms, ...counts };
  if (first === undefined)
    return {
      mutant: m,
      verdict: 'crashed',
      seed: null,
      detail: (stderr || stdout).trim().split('\n').slice(-3).join(' | ').slice(0, 200),
      ms,
      ...counts,
    };
  return {
    mutant: m,
    verdict: kills.length > 0 ? 'killed' : 'crashed',
    seed: first.seed,
    detail: first.error.slice(0, 160),
    ms,
    ...counts,
  };
}

/** `kills/seeds (crashes c) ` with --all-seeds, else nothing. */
function robustness(x: Outcome): string {
  if (x.kills === undefined) return '';
  return `${x.kills}/${o.seeds}${x.crashes ? ` (crashed ${x.crashes})` : ''} `;
}

const outcomes: Outcome[] = [];
const t0 = performance.now();
for (const m of chosen) {
  const out = run(m);
  outcomes.push(out);
  process.stdout.write(
    `${out.verdict.padEnd(8)} ${m.id.padEnd(32)} ${robustness(out)}${out.seed === null ? '' : `seed ${out.seed}: `}${out.detail} (${out.ms} ms)\n`,
  );
}
if (o.markdown === true) {
  process.stdout.write(
    '\n| mutant | area | bug | verdict | seeds that kill | first failing seed: what failed | ms |\n| --- | --- | --- | --- | --- | --- | --- |\n',
  );
  for (const x of outcomes) {
    process.stdout.write(
      `| \`${x.mutant.id}\` | ${x.mutant.area} | ${x.mutant.what} | ${x.verdict} | ${robustness(x).trim()} | ${x.seed === null ? '' : `${x.seed}: `}${x.detail.replace(/\|/g, '\\|')} | ${x.ms} |\n`,
    );
  }
}
const killed = outcomes.filter((x) => x.verdict === 'killed').length;
process.stdout.write(
  `${JSON.stringify({ mutants: outcomes.length, killed, crashed: outcomes.filter((x) => x.verdict === 'crashed').map((x) => x.mutant.id), survived: outcomes.filter((x) => x.verdict === 'survived').map((x) => x.mutant.id), broken: outcomes.filter((x) => x.verdict === 'broken').map((x) => x.mutant.id), ms: Math.round(performance.now() - t0) })}\n`,
);
process.exit(killed === outcomes.length ? 0 : 1);
