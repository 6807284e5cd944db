/**
 * `npm run test:chaos -- [--seed S] [--secs N] [--faults a,b] [--out file.json]` (as root)
 *
 * The chaos tier: builds the network namespaces (test/chaos/netns.ts), runs
 * test/chaos/run.ts inside the bridge namespace (three agents in their own namespaces,
 * producers, a consumer, seeded faults, the final checks), prints its JSON summary and the
 * seed, and always removes the namespaces it created (also on SIGINT/SIGTERM). Exit 1 on
 * any violation or error; 2 when this machine cannot run it (not root, no `ip netns`).
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { createNet, deleteNet, netNames, netnsUnavailable } from '../test/chaos/netns.js';
import { FAULTS, NAMESPACES } from '../test/chaos/faults.js';

const RUN = fileURLToPath(new URL('../test/chaos/run.ts', import.meta.url));

async function main(): Promise<number> {
  const o = new Command()
    .option('--seed <n>', 'RNG seed (default: random)', (v) => Number(v))
    .option('--secs <n>', 'seconds of faults', (v) => Number(v), 60)
    .option('--out <file>', 'also write the JSON summary here')
    .option('--faults <list>', `fault kinds to pick from, comma-separated (default: all of ${FAULTS.join(',')})`)
    .parse()
    .opts<{ seed?: number; secs: number; out?: string; faults?: string }>();
  const unknown = (o.faults ?? '').split(',').filter((f) => f !== '' && !FAULTS.includes(f as never));
  if (unknown.length > 0) {
    process.stderr.write(`chaos: unknown fault kinds: ${unknown.join(', ')}\n`);
    return 64;
  }
  const seed = o.seed ?? Math.floor(Math.random() * 2 ** 31);
  const why = netnsUnavailable();
  if (why !== undefined) {
    process.stderr.write(`chaos: cannot run: ${why}\n`);
    return 2;
  }
  // Unique per run (pid), so concurrent runs never share or delete each other's namespaces.
  const net = netNames(`clc${process.pid}`, NAMESPACES);
  const cleanup = (): void => {
    const left = deleteNet(net);
    if (left.length > 0) process.stderr.write(`chaos: could not remove: ${left.join('; ')}\n`);
  };
  const onSignal = (): void => {
    cleanup();
    process.exit(130);
  };
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
  try {
    createNet(net);
    process.stderr.write(`chaos: seed ${seed}, ${o.secs} s, namespaces ${[net.bridge, ...net.nodes].join(' ')}\n`);
    const child = spawn(
      'ip',
      [
        'netns',
        'exec',
        net.bridge,
        process.execPath,
        '--expose-gc', // run.ts collects before each heap figure it reports
        '--import',
        'tsx',
        RUN,
        `clc${process.pid}`,
        String(seed),
        String(o.secs),
        o.faults ?? '',
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    process.stdout.write(out);
    if (o.out !== undefined) writeFileSync(o.out, out);
    // OK only with a summary that says so: a run that printed nothing has checked nothing.
    const ok = code === 0 && summaryOk(out);
    if (code === 0 && !ok) process.stderr.write('chaos: the run exited 0 without a passing JSON summary\n');
    process.stderr.write(`chaos: seed ${seed}: ${ok ? 'OK' : 'FAILED'}\n`);
    return ok ? 0 : 1;
  } finally {
    cleanup();
  }
}

/** Whether `out` is a JSON summary with `ok: true`. */
function summaryOk(out: string): boolean {
  try {
    return (JSON.parse(out) as { ok?: unknown }).ok === true;
  } catch {
    return false;
  }
}

main().then(
  (c) => process.exit(c),
  (e: unknown) => {
    process.stderr.write(`chaos: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  },
);
