/**
 * The cluster agent's data for the live console (observability/console.ts): this node's
 * Raft status and members (roles as the CLI names them: leader, voter, learner), the
 * leaders it has seen (tracked here, on every snapshot), and the newest records.
 */
import type { ConsoleSnapshot, ConsoleSource } from '../observability/console.js';
import type { RaftNode } from '../raft/index.js';
import type { LogBackend } from '../server/backend.js';

const HISTORY = 20;
const RECORDS = 10;
const TEXT_BYTES = 64;

/** A {@link ConsoleSource} over a running node. */
export function consoleSource(node: RaftNode, backend: LogBackend, clusterId: string): ConsoleSource {
  const history: { term: number; leader: string | null; at: string }[] = [];
  return {
    async snapshot(): Promise<ConsoleSnapshot> {
      const s = node.status();
      const prev = history.at(-1);
      if (s.leader !== null && (prev === undefined || prev.leader !== s.leader || prev.term !== s.term)) {
        history.push({ term: s.term, leader: s.leader, at: new Date().toISOString() });
        if (history.length > HISTORY) history.shift();
      }
      const self = s.members.find((m) => m.id === s.id);
      const role =
        s.role === 'leader'
          ? 'leader'
          : s.role === 'follower'
            ? self?.suffrage === 'learner'
              ? 'learner'
              : self
                ? 'voter'
                : 'not a member'
            : 'candidate';
      const { lowest, next } = backend.bounds();
      const from = Math.max(lowest, next - RECORDS);
      const recs = next > from ? await backend.readRange(from, { maxCount: RECORDS, maxBytes: 1024 * 1024 }) : [];
      return {
        node: s.id,
        clusterId,
        role,
        term: s.term,
        leader: s.leader,
        commit: s.commit,
        applied: s.applied,
        members: s.members.map((m) => ({
          id: m.id,
          role: m.id === s.leader ? 'leader' : m.suffrage === 'learner' ? 'learner' : 'voter',
          ...(m.match !== undefined ? { match: m.match } : {}),
          ...(m.lag !== undefined ? { lag: m.lag } : {}),
        })),
        leaderHistory: [...history],
        records: recs.map((r) => ({
          offset: r.offset,
          bytes: r.value.byteLength,
          text: Buffer.from(r.value.subarray(0, TEXT_BYTES)).toString('utf8'),
        })),
      };
    },
  };
}
