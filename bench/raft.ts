/**
 * `npm run bench:raft`: proposals committed per second in a 3-node cluster, twice:
 * - `inMemory3Nodes`: Raft overhead alone — RawNodes over MemoryStorage with in-memory
 *   message passing (no network, no disk);
 * - `fsync3Nodes`: the shell's RaftNodes on the segmented log with real fsync on local
 *   disk (bench/raft-fsync.ts; `BENCH_SECONDS` per configuration, default 5).
 * Prints one JSON document.
 */
import { loadavg } from 'node:os';
import { runRaftFsyncBench } from './raft-fsync.js';
import {
  MemoryStorage,
  RawNode,
  nodeId,
  raftConfig,
  seededRng,
  type Message,
  type NodeId,
} from '../node/src/raft/index.js';

interface Node {
  readonly id: NodeId;
  readonly storage: MemoryStorage;
  readonly raw: RawNode;
  applied: number;
}

function cluster(): Map<NodeId, Node> {
  const ids = ['b1', 'b2', 'b3'].map(nodeId);
  const nodes = new Map<NodeId, Node>();
  ids.forEach((id, i) => {
    const storage = new MemoryStorage({ confState: { voters: ids, learners: [] } });
    const raw = new RawNode({ config: raftConfig(id), storage, rng: seededRng(i + 1) });
    nodes.set(id, { id, storage, raw, applied: 0 });
  });
  return nodes;
}

/** Runs every node's Ready loop and delivers messages until nothing moves. */
function pump(nodes: Map<NodeId, Node>): void {
  let inbox: Message[] = [];
  for (;;) {
    let moved = false;
    for (const n of nodes.values()) {
      while (n.raw.hasReady()) {
        moved = true;
        const rd = n.raw.ready();
        inbox.push(...rd.earlyMessages);
        if (rd.entries.length > 0) n.storage.append(rd.entries);
        if (rd.hardState) n.storage.setHardState(rd.hardState);
        if (rd.confState) n.storage.setConfState(rd.confState);
        inbox.push(...rd.messages);
        for (const e of rd.committedEntries) if (e.type === 'data') n.applied++;
        n.raw.advance(rd);
      }
    }
    if (inbox.length === 0 && !moved) return;
    const batch = inbox;
    inbox = [];
    for (const m of batch) nodes.get(m.to)?.raw.step(m);
  }
}

function run(total: number, batch: number, payloadBytes: number): Record<string, number> {
  const nodes = cluster();
  const leader = nodes.get(nodeId('b1')) as Node;
  leader.raw.campaign();
  pump(nodes);
  const payload = new Uint8Array(payloadBytes).fill(7);
  const start = performance.now();
  let proposed = 0;
  while (proposed < total) {
    for (let i = 0; i < batch && proposed < total; i++, proposed++) {
      const r = leader.raw.propose(payload);
      if (!r.ok) throw new Error(`proposal refused: ${r.reason}`);
    }
    pump(nodes);
  }
  const seconds = (performance.now() - start) / 1000;
  for (const n of nodes.values()) if (n.applied !== total) throw new Error(`${n.id} applied ${n.applied} of ${total}`);
  return {
    proposals: total,
    proposalsPerReady: batch,
    payloadBytes,
    seconds: Number(seconds.toFixed(3)),
    committedPerSec: Math.round(total / seconds),
  };
}

/** Median of three runs after a warm-up, so one noisy run (shared CPU, GC, JIT) does not decide. */
function median3(total: number, batch: number, payloadBytes: number): Record<string, number> {
  const runs = [run(total, batch, payloadBytes), run(total, batch, payloadBytes), run(total, batch, payloadBytes)];
  runs.sort((a, b) => (a.committedPerSec as number) - (b.committedPerSec as number));
  const [lo, mid, hi] = runs as [Record<string, number>, Record<string, number>, Record<string, number>];
  return { ...mid, minPerSec: lo.committedPerSec as number, maxPerSec: hi.committedPerSec as number };
}

run(20_000, 64, 100); // warm-up
const results = {
  benchmark: 'raft',
  node: process.version,
  date: new Date().toISOString(),
  loadAverage1m: Number((loadavg()[0] ?? 0).toFixed(2)),
  inMemory3Nodes: [median3(20_000, 1, 100), median3(200_000, 64, 100), median3(200_000, 256, 100)],
  fsync3Nodes: (await runRaftFsyncBench({ seconds: Number(process.env.BENCH_SECONDS ?? 5) })).fsync3Nodes,
};
process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
