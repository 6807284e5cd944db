/**
 * Raft and agent metrics on the node's registry (names suggested by the Raft shell's
 * RaftNodeStatus TSDoc). Gauges are read from `RaftNode.status()` at scrape time.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { monotonicCounter } from '../observability/metrics.js';
import type { RaftNode } from '../raft/index.js';

/** Registers the Raft gauges; returns the produce counter (by how: proposed | forwarded). */
export function registerRaftMetrics(node: RaftNode, registry: Registry): Counter<'how'> {
  const registers = [registry];
  const gauge = (name: string, help: string, read: () => number): void => {
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(read());
      },
    });
  };
  gauge('commitlog_raft_term', 'Current Raft term.', () => node.status().term);
  gauge('commitlog_raft_is_leader', '1 when this node is the Raft leader.', () => (node.isLeader ? 1 : 0));
  gauge('commitlog_raft_commit_index', 'Raft commit index.', () => node.status().commit);
  gauge('commitlog_raft_applied_index', 'Raft applied index (consumers read up to it).', () => node.appliedIndex);
  gauge('commitlog_raft_last_index', 'Last Raft index in the local log.', () => node.status().lastIndex);
  new Gauge({
    name: 'commitlog_raft_members',
    help: 'Members of the Raft configuration, by suffrage.',
    labelNames: ['suffrage'],
    registers,
    collect() {
      const ms = node.status().members;
      this.set({ suffrage: 'voter' }, ms.filter((m) => m.suffrage === 'voter').length);
      this.set({ suffrage: 'learner' }, ms.filter((m) => m.suffrage === 'learner').length);
    },
  });
  new Gauge({
    name: 'commitlog_raft_follower_lag_entries',
    help: 'Leader only: Raft log entries each member is behind the leader.',
    labelNames: ['peer'],
    registers,
    collect() {
      this.reset();
      for (const m of node.status().members) if (m.lag !== undefined) this.set({ peer: m.id }, m.lag);
    },
  });
  // Storage identity on the Raft transport (issue 12, raft/shell/transport-tcp-inbound.ts).
  monotonicCounter({
    name: 'commitlog_raft_transport_dropped_wrong_storage_total',
    help: 'Raft messages dropped because the sender carries a storage id other than the one recorded for it (a wiped data dir is not heard as the old member).',
    labelNames: [],
    registers,
    read: () => [[{}, node.status().transport.droppedWrongStorage]],
  });
  monotonicCounter({
    name: 'commitlog_raft_transport_hello_without_storage_total',
    help: 'Inbound Raft connections whose hello carried no storage id (wire v1: a node older than wire v2).',
    labelNames: [],
    registers,
    read: () => [[{}, node.status().transport.helloWithoutStorage]],
  });
  monotonicCounter({
    name: 'commitlog_raft_snapshots_installed_total',
    help: 'Snapshots this node installed from a leader (it was behind the start of the compacted log of the leader).',
    labelNames: [],
    registers,
    read: () => [[{}, node.status().node.snapshotsInstalled]],
  });
  // Ticks that piled up while the Raft loop was busy and were dropped (raft/shell/loop-inputs.ts).
  monotonicCounter({
    name: 'commitlog_raft_ticks_dropped_total',
    help: 'Raft ticks dropped because more than a heartbeat interval of them piled up while the loop awaited a persist (a slow disk or a stalled process).',
    labelNames: [],
    registers,
    read: () => [[{}, node.status().node.ticksDropped]],
  });
  return new Counter({
    name: 'commitlog_produce_total',
    help: 'Produce calls this node handled, by how: proposed (as leader) or forwarded (to the leader).',
    labelNames: ['how'],
    registers,
  });
}

/**
 * Storage identity metrics (issue 12): this data dir's storage id as an info gauge, and the
 * members this node (as leader) replaced because their storage changed; returns the counter.
 */
export function registerStorageMetrics(registry: Registry, storageId: string): Counter<'member'> {
  new Gauge({
    name: 'commitlog_storage_info',
    help: "This node's data directory storage id (a new id means a new or wiped data directory).",
    labelNames: ['storage_id'],
    registers: [registry],
  }).set({ storage_id: storageId }, 1);
  return new Counter({
    name: 'commitlog_membership_storage_replacements_total',
    help: 'Members this node removed (as leader) to re-add as new learners because their storage id changed (wiped data dir).',
    labelNames: ['member'],
    registers: [registry],
  });
}
