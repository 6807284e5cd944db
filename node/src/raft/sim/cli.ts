/**
 * `npm run test:sim -- [--seeds N] [--from S] [--seed S] [--verbose] [--stale-reads | --early-acks] [--voters 5] [--no-power-cuts] [--retries idempotent|plain]`:
 * runs simulator seeds and prints one JSON line of totals; on a failure prints the seed,
 * the error, the trace tail and the command that replays it, and exits 1.
 */
import { Command } from 'commander';
import { simulate } from './simulate.js';

const program = new Command()
  .name('test:sim')
  .option('--seeds <n>', 'number of seeds to run', '100')
  .option('--from <s>', 'first seed', '1')
  .option('--seed <s>', 'run exactly this seed')
  .option('--voters <n>', 'initial voters', '3')
  .option('--duration <units>', 'time units of faults per seed', '3000')
  .option('--intensity <k>', 'multiply every fault rate by k', '1')
  .option('--stale-reads', 'run the deliberately broken read path (the checker must reject it)')
  .option('--early-acks', 'run the deliberately broken produce path that acknowledges before commit')
  .option(
    '--no-power-cuts',
    'run nodes on MemoryStorage instead of the real log and stable store on a simulated disk with power cuts',
  )
  .option('--retries <how>', 'clients retry indeterminate produces: idempotent (producer ids) or plain')
  .option('--verbose', 'print the full trace');
program.parse();
const o = program.opts<{
  seeds: string;
  from: string;
  seed?: string;
  voters: string;
  duration: string;
  intensity: string;
  staleReads?: boolean;
  earlyAcks?: boolean;
  verbose?: boolean;
  powerCuts: boolean;
  retries?: string;
}>();
if (o.retries !== undefined && o.retries !== 'idempotent' && o.retries !== 'plain')
  throw new Error(`--retries must be idempotent or plain, got ${o.retries}`);

const seeds =
  o.seed !== undefined ? [Number(o.seed)] : Array.from({ length: Number(o.seeds) }, (_, i) => Number(o.from) + i);
const started = performance.now();
let acked = 0;
let ops = 0;
let powerCuts = 0;
const unknown: number[] = [];
for (const seed of seeds) {
  const r = await simulate({
    seed,
    voters: Number(o.voters),
    duration: Number(o.duration),
    intensity: Number(o.intensity),
    staleReads: o.staleReads === true,
    earlyAcks: o.earlyAcks === true,
    verbose: o.verbose === true,
    powerCuts: o.powerCuts,
    ...(o.retries !== undefined ? { retries: o.retries as 'idempotent' | 'plain' } : {}),
  });
  if (!r.ok) {
    if (o.verbose !== true) process.stderr.write(`${r.trace.slice(-60).join('\n')}\n`);
    process.stderr.write(`\nseed ${r.seed} FAILED: ${r.error}\nreplay: ${r.replay}\n`);
    process.exit(1);
  }
  acked += r.stats.acked;
  if (r.stats.linearizable === 'unknown') unknown.push(seed);
  ops += r.stats.operations;
  powerCuts += r.stats.powerCuts;
}
process.stdout.write(
  `${JSON.stringify({ seeds: seeds.length, ok: true, powerCuts: o.powerCuts, acked, operations: ops, powerCutsInjected: powerCuts, lincheckUnknown: unknown, ms: Math.round(performance.now() - started) })}\n`,
);
