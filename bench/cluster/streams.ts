/**
 * `tsx bench/cluster/streams.ts`: the two streams of issue 15, one record per message (the
 * book's shape) against the opt-in batches (ProduceRequest.batch, ConsumeRequest.batch_records),
 * on a 3-node commitlog cluster started as `npm start` starts it (mutual TLS, fsync on: an
 * acknowledgement means committed on a quorum and fdatasynced there), and optionally on a
 * second cluster from another checkout (`--base ROOT`, e.g. the commit before the change)
 * in the same interleaved rounds. Per workload and round: records/s and the server CPU per
 * record (utime+stime from /proc over the measured window, divided by the records): of the
 * three members for ProduceStream (all of them replicate and fsync every record; also the
 * leader's alone, and the read/write syscalls of the three from /proc/<pid>/io), of the
 * serving follower alone for ConsumeStream (the others only heartbeat meanwhile). Prints one line per sample, then JSON with the medians.
 *
 * Flags: --seconds S (ProduceStream window, default 3), --rounds N (default 3), --batch B
 * (records per ProduceStream request, default 32), --consume-batch B (batch_records,
 * default 256), --consume-max N (records read per ConsumeStream, default 200000),
 * --in-flight N (ProduceStream records unacknowledged, default 256), --base ROOT, --node-arg A (repeatable: an extra `node` argument of every member, e.g.
 * --cpu-prof), --only REGEX (run only the workloads whose name matches). The base cluster runs only the one-record workloads (an older server
 * refuses a batched ProduceRequest: "record is required") unless --base-batches (a base that has
 * the batches, e.g. main since 023f671, runs them too). The batched ProduceStream also runs
 * through a follower (`….viaFollower`: the follower forwards to the leader).
 */
import { rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import type { LogClient } from '../../node/src/gen/v1/log.js';
import { benchPki, CommitlogCluster, waitFor } from './clusters.js';
import { consumeStream, produceStream, type RunResult, type Window } from './load.js';
import { median } from './summary.js';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '3' },
    batch: { type: 'string', default: '32' },
    'consume-batch': { type: 'string', default: '256' },
    'consume-max': { type: 'string', default: '200000' },
    base: { type: 'string' },
    'node-arg': { type: 'string', multiple: true, default: [] },
    only: { type: 'string' },
    'in-flight': { type: 'string', default: '256' },
    'base-batches': { type: 'boolean', default: false },
  },
});
const w: Window = { warmupMs: 500, measureMs: Number(args.seconds) * 1000 };
const BATCH = Number(args.batch);
const CONSUME_BATCH = Number(args['consume-batch']);
const CONSUME_MAX = Number(args['consume-max']);
const IN_FLIGHT = Number(args['in-flight']);

async function nextOffset(client: LogClient): Promise<number> {
  return new Promise((res) =>
    client.consume({ offset: Number.MAX_SAFE_INTEGER }, (e) =>
      res(Number(e?.metadata.get('commitlog-next-offset')[0] ?? 0)),
    ),
  );
}

interface Sample extends RunResult {
  readonly round: number;
  readonly workload: string;
  readonly cluster: string;
  /** ProduceStream: the leader's CPU µs per record (of {@link RunResult.cpuUsPerOpByPid}). */
  readonly leaderCpuUsPerOp?: number;
}

const { pki, dir, credentials } = await benchPki();
const nodeArgs = args['node-arg'];
const clusters = [await CommitlogCluster.start({ name: 'commitlog', nodeArgs, pki, credentials })];
if (args.base)
  clusters.push(await CommitlogCluster.start({ name: 'base', root: args.base, nodeArgs, pki, credentials }));
const samples: Sample[] = [];
try {
  for (let round = 0; round < Number(args.rounds); round++) {
    const order = clusters.map((_, i) => clusters[(i + round) % clusters.length] as CommitlogCluster);
    type Run = (leader: LogClient, follower: LogClient, followerPid: number[]) => Promise<RunResult>;
    const runs: [string, CommitlogCluster, Run][] = [];
    for (const c of order) {
      const pids = c.pids();
      runs.push([`produceStream.${IN_FLIGHT}`, c, (l) => produceStream(l, IN_FLIGHT, w, pids)]);
      if (c.o.name === 'commitlog' || args['base-batches']) {
        runs.push([`produceStream.${IN_FLIGHT}.batch${BATCH}`, c, (l) => produceStream(l, IN_FLIGHT, w, pids, BATCH)]);
        runs.push([
          `produceStream.${IN_FLIGHT}.batch${BATCH}.viaFollower`,
          c,
          (_l, f) => produceStream(f, IN_FLIGHT, w, pids, BATCH),
        ]);
      }
    }
    for (const c of order) {
      const upTo = async (f: LogClient): Promise<number> => Math.min(CONSUME_MAX, await nextOffset(f));
      runs.push(['consumeStream', c, async (_l, f, fp) => consumeStream(f, await upTo(f), fp)]);
      if (c.o.name === 'commitlog' || args['base-batches'])
        runs.push([
          `consumeStream.batch${CONSUME_BATCH}`,
          c,
          async (_l, f, fp) => consumeStream(f, await upTo(f), fp, CONSUME_BATCH),
        ]);
    }
    const only = args.only === undefined ? undefined : new RegExp(args.only);
    for (const [workload, c, run] of runs.filter(([name]) => only?.test(name) ?? true)) {
      let r: RunResult | undefined;
      let li = 0;
      // A leader change under load (an election at load 25+) fails the stream: wait for a
      // leader and run it again, twice at most.
      for (let attempt = 0; r === undefined; attempt++) {
        li = await waitFor(`a leader of ${c.o.name}`, 30_000, () => c.leaderIndex());
        const leader = c.client(li);
        const follower = c.client((li + 1) % 3);
        try {
          r = await run(leader, follower, [c.pids()[(li + 1) % 3] as number]);
        } catch (err) {
          if (attempt >= 2) throw err;
          process.stdout.write(`round ${round} ${workload} ${c.o.name}: ${(err as Error).message}; again\n`);
        } finally {
          leader.close();
          follower.close();
        }
      }
      const leaderCpu = r.cpuUsPerOpByPid?.[li];
      samples.push({
        round,
        workload,
        cluster: c.o.name,
        ...r,
        ...(leaderCpu !== undefined ? { leaderCpuUsPerOp: leaderCpu } : {}),
      });
      const extra =
        leaderCpu === undefined || r.syscallsPerOp === undefined
          ? ''
          : ` (leader ${leaderCpu} µs), syscalls/record ${r.syscallsPerOp.reads} read + ${r.syscallsPerOp.writes} write`;
      process.stdout.write(
        `round ${round} ${workload} ${c.o.name}: ${r.opsPerSec} records/s, ${r.serverCpuUsPerOp} µs server CPU/record (${workload.startsWith('consume') ? 'the follower' : '3 nodes'})${extra}, load ${r.load1.toFixed(2)}\n`,
      );
    }
  }
} finally {
  for (const c of clusters) await c.stop();
  rmSync(dir, { recursive: true, force: true });
}
const keys = [...new Set(samples.map((s) => `${s.workload} ${s.cluster}`))];
const medians = Object.fromEntries(
  keys.map((k) => {
    const xs = samples.filter((s) => `${s.workload} ${s.cluster}` === k);
    return [
      k,
      {
        recordsPerSec: median(xs.map((x) => x.opsPerSec)),
        serverCpuUsPerRecord: median(xs.map((x) => x.serverCpuUsPerOp)),
        ...(xs.every((x) => x.leaderCpuUsPerOp !== undefined && x.syscallsPerOp !== undefined)
          ? {
              leaderCpuUsPerRecord: median(xs.map((x) => x.leaderCpuUsPerOp ?? 0)),
              readSyscallsPerRecord: median(xs.map((x) => x.syscallsPerOp?.reads ?? 0)),
              writeSyscallsPerRecord: median(xs.map((x) => x.syscallsPerOp?.writes ?? 0)),
            }
          : {}),
        rounds: xs.map((x) => [x.opsPerSec, x.serverCpuUsPerOp, x.leaderCpuUsPerOp]),
      },
    ];
  }),
);
process.stdout.write(
  `${JSON.stringify({ durability: 'acknowledged = committed on a quorum and fdatasynced there', load1AtEnd: loadavg()[0], batch: BATCH, consumeBatch: CONSUME_BATCH, medians }, null, 2)}\n`,
);
