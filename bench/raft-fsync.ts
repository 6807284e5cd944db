/**
 * Raft with real fsync: proposals committed per second in a 3-node cluster of RaftNodes
 * (the shell's runner, LogStorage on the segmented log in temp dirs on local disk, one log
 * fsync per Ready per node, memory transport), with 1 and 64 concurrent proposers.
 * A proposal counts when the leader has committed and applied it (a quorum has fsynced
 * it). Exports {@link runRaftFsyncBench}; run alone with `npx tsx bench/raft-fsync.ts`.
 */
import { tmpdir } from 'node:os';
import { pathToFileURL } from 'node:url';
import { MemoryCluster } from '../node/src/raft/shell/testing/memory-cluster.js';

/** One measured configuration. */
export interface RaftFsyncResult {
  readonly proposers: number;
  readonly payloadBytes: number;
  readonly seconds: number;
  readonly committed: number;
  readonly committedPerSec: number;
  readonly latencyMs: { readonly p50: number; readonly p99: number };
  /** Log fsync rounds on the leader and their mean duration. */
  readonly leaderFsyncs: number;
  readonly meanFsyncMs: number;
  /** Proposals per leader fsync (group commit factor). */
  readonly proposalsPerFsync: number;
}

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return Number((s[Math.min(s.length - 1, Math.floor((s.length * p) / 100))] ?? 0).toFixed(2));
};

async function measure(proposers: number, seconds: number, payloadBytes: number): Promise<RaftFsyncResult> {
  const c = await MemoryCluster.create({ tickMs: 20 });
  try {
    const leader = await c.leader(10_000);
    const payload = new Uint8Array(payloadBytes).fill(7);
    await leader.propose(payload); // warm-up: the first fsyncs create files
    const f0 = leader.status().fsync;
    const lat: number[] = [];
    const end = performance.now() + seconds * 1000;
    const start = performance.now();
    let last = 0;
    await Promise.all(
      Array.from({ length: proposers }, async () => {
        while (performance.now() < end) {
          const t = performance.now();
          const r = await leader.propose(payload);
          lat.push(performance.now() - t);
          last = Math.max(last, r.index);
        }
      }),
    );
    const elapsed = (performance.now() - start) / 1000;
    const f1 = leader.status().fsync;
    await Promise.all([...c.nodes.values()].map((n) => n.waitForApplied(last, 30_000)));
    const fsyncs = f1.rounds - f0.rounds;
    return {
      proposers,
      payloadBytes,
      seconds: Number(elapsed.toFixed(2)),
      committed: lat.length,
      committedPerSec: Math.round(lat.length / elapsed),
      latencyMs: { p50: pct(lat, 50), p99: pct(lat, 99) },
      leaderFsyncs: fsyncs,
      meanFsyncMs: Number(((f1.totalMs - f0.totalMs) / Math.max(1, fsyncs)).toFixed(2)),
      proposalsPerFsync: Number((lat.length / Math.max(1, fsyncs)).toFixed(1)),
    };
  } finally {
    await c.destroy();
  }
}

/** Runs the benchmark (1 and 64 proposers by default) and returns the JSON-ready result. */
export async function runRaftFsyncBench(
  o: { seconds?: number; payloadBytes?: number; proposers?: readonly number[] } = {},
): Promise<Record<string, unknown>> {
  const runs: RaftFsyncResult[] = [];
  for (const p of o.proposers ?? [1, 64]) runs.push(await measure(p, o.seconds ?? 5, o.payloadBytes ?? 100));
  return {
    benchmark: 'raft-fsync',
    node: process.version,
    date: new Date().toISOString(),
    dir: tmpdir(),
    fsync3Nodes: runs,
  };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const seconds = Number(process.env.BENCH_SECONDS ?? 5);
  process.stdout.write(`${JSON.stringify(await runRaftFsyncBench({ seconds }), null, 2)}\n`);
}
