/**
 * `tsx bench/cluster/memory.ts`: where a node's resident memory goes after load (issue 15).
 * Starts a 3-node commitlog cluster as `npm start` does, runs `npm run bench:cluster`'s
 * workloads against it in the bench's order, and prints per node: VmRSS, the anonymous and
 * file-backed parts (/proc/<pid>/smaps_rollup), the V8 heap (used / committed, per space) and
 * external memory the node's own /metrics reports, and "other anon" = anonymous − V8's
 * committed heap (malloc: Buffers' backing stores, TLS and HTTP/2 state, thread stacks).
 * Environment variables (MALLOC_ARENA_MAX …) reach the nodes.
 *
 * Workloads (`--workloads`, comma-separated, run in that order each round): `ROLE.cN` (unary
 * Produce of 256 bytes, N callers, ROLE leader or follower; `leader` and `follower` alone
 * mean c=64), `stream` (ProduceStream, 256 in flight, one record per request), `streamBatch`
 * (the same, 32 records per request), `consume` / `consumeBatch` (ConsumeStream from a
 * follower from offset 0, up to 200,000 records, one per message / batch_records 256). The
 * default `bench` is the bench's round: leader and follower at c = 1, 16, 64, 256, then
 * stream, streamBatch, consume, consumeBatch. Each round prints the server CPU per operation
 * (3 nodes) of each workload.
 *
 * Flags: --seconds S (each workload's measured window, default 2.5, as the bench), --rounds N
 * (default 3), --flag F (an extra agent flag, repeatable), --node-arg A (an extra argument of
 * `node` itself, e.g. `--node-arg=--max-semi-space-size=64`, repeatable), --each (report after
 * every workload, not only after each round), --idle S (after the last round, report again
 * every S seconds, 3 times: does the memory fall back when idle?), --heap-snapshot DIR (at the
 * end, a heap snapshot of the node with the largest RSS into DIR, via --heapsnapshot-signal),
 * --root DIR (run the nodes from another checkout, e.g. the commit before a change).
 */
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import type { LogClient } from '../../node/src/gen/v1/log.js';
import { benchPki, CommitlogCluster, waitFor } from './clusters.js';
import { closedLoop, consumeStream, produceOp, produceStream, type RunResult, type Window } from './load.js';
import { rssMiB } from './proc-stat.js';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '2.5' },
    rounds: { type: 'string', default: '3' },
    flag: { type: 'string', multiple: true, default: [] },
    'node-arg': { type: 'string', multiple: true, default: [] },
    workloads: { type: 'string', default: 'bench' },
    each: { type: 'boolean', default: false },
    idle: { type: 'string' },
    'heap-snapshot': { type: 'string' },
    root: { type: 'string' },
  },
});
const w: Window = { warmupMs: 700, measureMs: Number(args.seconds) * 1000 };
const BENCH_ROUND = [1, 16, 64, 256]
  .flatMap((c) => [`leader.c${c}`, `follower.c${c}`])
  .concat(['stream', 'streamBatch', 'consume', 'consumeBatch']);
const workloads = args.workloads
  .split(',')
  .flatMap((x) => (x === 'bench' ? BENCH_ROUND : x === 'leader' || x === 'follower' ? [`${x}.c64`] : [x]));
const SNAPSHOT_SIGNAL = 'SIGUSR2';

/** smaps_rollup of `pid` in MiB per field (Rss, Anonymous, …). */
function smaps(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8').matchAll(/^(\w+):\s+(\d+) kB/gm))
    out[m[1] as string] = Number(m[2]) / 1024;
  return out;
}

/** The node's heap and external memory from its /metrics, in MiB. */
async function metrics(port: number): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const pick = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN) / 2 ** 20;
  return {
    heapUsed: pick('commitlog_nodejs_heap_size_used_bytes'),
    heapTotal: pick('commitlog_nodejs_heap_size_total_bytes'),
    external: pick('commitlog_nodejs_external_memory_bytes'),
    ...Object.fromEntries(
      [...text.matchAll(/^commitlog_nodejs_heap_space_size_total_bytes\{space="(\w+)"\} (\S+)$/gm)].map((m) => [
        m[1] as string,
        Number(m[2]) / 2 ** 20,
      ]),
    ),
  };
}

const r0 = (x: number | undefined): number => Math.round(x ?? NaN);

async function report(c: CommitlogCluster, when: string): Promise<void> {
  for (const [i, pid] of c.pids().entries()) {
    const s = smaps(pid);
    const m = await metrics(c.httpPort(i));
    const anon = s.Anonymous ?? 0;
    process.stdout.write(
      `${when} node-${i}: rss ${r0(rssMiB(pid))} MiB (anon ${r0(anon)}, file ${r0((s.Rss ?? 0) - anon)}), ` +
        `heap ${r0(m.heapUsed)}/${r0(m.heapTotal)} MiB (new ${r0(m.new)}, old ${r0(m.old)}, large ${r0(m.large_object)}, code ${r0(m.code)}), ` +
        `external ${r0(m.external)} MiB, other anon ${r0(anon - (m.heapTotal ?? 0))} MiB; load ${loadavg()[0]?.toFixed(2)}\n`,
    );
  }
}

async function nextOffset(client: LogClient): Promise<number> {
  return new Promise((res) =>
    client.consume({ offset: Number.MAX_SAFE_INTEGER }, (e) =>
      res(Number(e?.metadata.get('commitlog-next-offset')[0] ?? 0)),
    ),
  );
}

/** The run of workload `name` against `leader` / `follower`. */
function runOf(name: string, c: CommitlogCluster, leader: LogClient, follower: LogClient): () => Promise<RunResult> {
  const unary = /^(leader|follower)\.c(\d+)$/.exec(name);
  if (unary) {
    const client = unary[1] === 'leader' ? leader : follower;
    return () => closedLoop(produceOp(client), Number(unary[2]), w, c.pids());
  }
  const consume = (batch: number) => async () =>
    consumeStream(follower, Math.min(200_000, await nextOffset(follower)), c.pids(), batch);
  const named: Record<string, () => Promise<RunResult>> = {
    stream: () => produceStream(leader, 256, w, c.pids()),
    streamBatch: () => produceStream(leader, 256, w, c.pids(), 32),
    consume: consume(0),
    consumeBatch: consume(256),
  };
  const run = named[name];
  if (run === undefined)
    throw new Error(
      `--workloads: "${name}" is none of bench, ROLE.cN, leader, follower, ${Object.keys(named).join(', ')}`,
    );
  return run;
}

const snapshotDir = args['heap-snapshot'];
if (snapshotDir !== undefined) mkdirSync(snapshotDir, { recursive: true });
const { pki, dir, credentials } = await benchPki();
const c = await CommitlogCluster.start({
  name: 'commitlog',
  root: args.root,
  flags: args.flag,
  nodeArgs: [
    ...args['node-arg'],
    ...(snapshotDir === undefined
      ? []
      : [`--heapsnapshot-signal=${SNAPSHOT_SIGNAL}`, `--diagnostic-dir=${snapshotDir}`]),
  ],
  pki,
  credentials,
});
try {
  await report(c, 'idle');
  for (let r = 0; r < Number(args.rounds); r++) {
    const line: string[] = [];
    for (const name of workloads) {
      const li = await waitFor('a leader', 30_000, () => c.leaderIndex());
      const leader = c.client(li);
      const follower = c.client((li + 1) % 3);
      try {
        const x = await runOf(name, c, leader, follower)();
        line.push(`${name} ${x.opsPerSec}/s ${x.serverCpuUsPerOp} µs/op${x.errors ? ` (${x.errors} errors)` : ''}`);
      } finally {
        leader.close();
        follower.close();
      }
      if (args.each) await report(c, `round ${r} after ${name}`);
    }
    process.stdout.write(
      `round ${r} (server CPU per op, 3 nodes): ${line.join(', ')}; load ${loadavg()[0]?.toFixed(2)}\n`,
    );
    await report(c, `after round ${r}`);
  }
  if (args.idle !== undefined)
    for (let k = 1; k <= 3; k++) {
      await sleep(Number(args.idle) * 1000);
      await report(c, `idle ${k * Number(args.idle)} s after`);
    }
  if (snapshotDir !== undefined) {
    const pids = c.pids();
    const largest = pids.reduce((a, b) => (rssMiB(b) > rssMiB(a) ? b : a));
    const before = readdirSync(snapshotDir).length;
    process.kill(largest, SNAPSHOT_SIGNAL);
    // The node writes the snapshot on its main thread: once the file exists and the node
    // answers /metrics again, the file is complete.
    await waitFor('the heap snapshot', 120_000, async () =>
      readdirSync(snapshotDir).filter((f) => f.endsWith('.heapsnapshot')).length > before ? true : undefined,
    );
    await metrics(c.httpPort(pids.indexOf(largest)));
    process.stdout.write(`heap snapshot of node-${pids.indexOf(largest)} (pid ${largest}) in ${snapshotDir}\n`);
  }
} finally {
  await c.stop();
  rmSync(dir, { recursive: true, force: true });
}
