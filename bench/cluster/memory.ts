/**
 * `tsx bench/cluster/memory.ts`: where a node's resident memory goes after load (issue 15).
 * Starts a 3-node commitlog cluster as `npm start` does, runs the bench's workloads against it
 * (unary Produce at c=64 to the leader and through a follower, ProduceStream with 256 in
 * flight, ConsumeStream from a follower), then prints per node: VmRSS, the anonymous and
 * file-backed parts (/proc/<pid>/smaps_rollup), and the JS heap and external memory the
 * node's own /metrics reports. Environment variables (MALLOC_ARENA_MAX …) reach the nodes.
 *
 * Flags: --seconds S (each workload, default 5), --rounds N (default 2), --flag F (an extra
 * agent flag, repeatable), --node-arg A (an extra argument of `node` itself, e.g.
 * `--node-arg=--max-semi-space-size=64`, repeatable), --workloads leader,follower,stream,consume
 * (which to run, in that order: unary c=64 to the leader / through a follower, ProduceStream,
 * ConsumeStream); each round prints the server CPU per operation of each.
 */
import { readFileSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { benchPki, CommitlogCluster } from './clusters.js';
import { closedLoop, consumeStream, produceOp, produceStream, type RunResult, type Window } from './load.js';
import { rssMiB } from './proc-stat.js';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '2' },
    flag: { type: 'string', multiple: true, default: [] },
    'node-arg': { type: 'string', multiple: true, default: [] },
    workloads: { type: 'string', default: 'leader,follower,stream,consume' },
  },
});
const w: Window = { warmupMs: 500, measureMs: Number(args.seconds) * 1000 };

function smaps(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8').matchAll(/^(\w+):\s+(\d+) kB/gm))
    out[m[1] as string] = Math.round(Number(m[2]) / 1024);
  return out;
}

async function metrics(port: number): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const pick = (name: string): number =>
    Math.round(Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN) / 2 ** 20);
  return {
    heapUsed: pick('commitlog_nodejs_heap_size_used_bytes'),
    heapTotal: pick('commitlog_nodejs_heap_size_total_bytes'),
    external: pick('commitlog_nodejs_external_memory_bytes'),
    ...Object.fromEntries(
      [...text.matchAll(/^commitlog_nodejs_heap_space_size_total_bytes\{space="(\w+)"\} (\S+)$/gm)].map((m) => [
        m[1] as string,
        Math.round(Number(m[2]) / 2 ** 20),
      ]),
    ),
  };
}

async function report(c: CommitlogCluster, when: string): Promise<void> {
  for (const [i, pid] of c.pids().entries()) {
    const s = smaps(pid);
    const m = await metrics(c.httpPort(i));
    process.stdout.write(
      `${when} node-${i}: rss ${Math.round(rssMiB(pid))} MiB (anon ${s.Anonymous}, file ${(s.Rss ?? 0) - (s.Anonymous ?? 0)}), ` +
        `heap ${m.heapUsed}/${m.heapTotal} MiB (new ${m.new}, old ${m.old}, large ${m.large_object}, code ${m.code}), ` +
        `external ${m.external} MiB; load ${loadavg()[0]?.toFixed(2)}\n`,
    );
  }
}

const { pki, dir, credentials } = await benchPki();
const c = await CommitlogCluster.start({
  name: 'commitlog',
  flags: args.flag,
  nodeArgs: args['node-arg'],
  pki,
  credentials,
});
try {
  await report(c, 'idle');
  for (let r = 0; r < Number(args.rounds); r++) {
    const li = await c.leaderIndex();
    const leader = c.client(li);
    const follower = c.client((li + 1) % 3);
    const runs: Record<string, () => Promise<RunResult>> = {
      leader: () => closedLoop(produceOp(leader), 64, w, c.pids()),
      follower: () => closedLoop(produceOp(follower), 64, w, c.pids()),
      stream: () => produceStream(leader, 256, w, c.pids()),
      consume: async () => {
        const upTo = await new Promise<number>((res) =>
          follower.consume({ offset: Number.MAX_SAFE_INTEGER }, (e) =>
            res(Number(e?.metadata.get('commitlog-next-offset')[0] ?? 0)),
          ),
        );
        return consumeStream(follower, Math.min(200_000, upTo), c.pids());
      },
    };
    const line: string[] = [];
    for (const name of args.workloads.split(',')) {
      const run = runs[name];
      if (run === undefined) throw new Error(`--workloads: one of ${Object.keys(runs).join(',')}`);
      const x = await run();
      line.push(`${name} ${x.opsPerSec}/s ${x.serverCpuUsPerOp} µs/op`);
    }
    process.stdout.write(`round ${r} (server CPU per op): ${line.join(', ')}; load ${loadavg()[0]?.toFixed(2)}\n`);
    leader.close();
    follower.close();
    await report(c, `after round ${r}`);
  }
} finally {
  await c.stop();
  rmSync(dir, { recursive: true, force: true });
}
