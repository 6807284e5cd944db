/**
 * The RaftNode requests that wait on the cluster rather than on an entry: a linearizable
 * read's ReadIndex round and a leadership transfer. Split out of raft-node.ts; both reach the
 * core only through `act` (between two Readys, never while one is persisted) and are bounded
 * by a deadline (shell-loop.ts `withTimeout`).
 */
import { randomUUID } from 'node:crypto';
import type { RawNode } from '../core/raw-node.js';
import type { NodeId } from '../core/types.js';
import { ProposalRejectedError, RaftNotLeaderError } from './errors.js';
import type { ShellClock } from './loop-clock.js';
import { withTimeout } from './shell-loop.js';

/** What the requests read of their RaftNode. */
export interface RequestHost {
  readonly clock: ShellClock;
  readonly raw: RawNode;
  /** ReadIndex waiters by context, settled by the loop when the read state arrives. */
  readonly reads: Map<string, { resolve(): void; reject(e: Error): void }>;
  /** Why no input is taken now (stopped, failed), or null. */
  refuseInput(): Error | null;
  /** Runs `f` on the core between two Readys. */
  act(f: () => void): void;
  leader(): NodeId | null;
  /** Calls `fn` on every leader change; returns the function that unsubscribes it. */
  onLeaderChange(fn: (e: { readonly leader: NodeId | null }) => void): () => void;
}

/** See RaftNode.readIndex. */
export function readIndex(h: RequestHost, timeoutMs: number): Promise<void> {
  const ctx = randomUUID();
  return withTimeout(
    h.clock,
    'readIndex',
    timeoutMs,
    () => h.refuseInput(),
    () => h.reads.delete(ctx),
    (resolve, reject) => {
      h.reads.set(ctx, { resolve, reject });
      h.act(() => {
        const r = h.raw.readIndex(ctx);
        if (!r.ok) {
          h.reads.delete(ctx);
          reject(new RaftNotLeaderError(h.leader(), r.reason));
        }
      });
    },
  );
}

/** See RaftNode.transferLeadership. */
export function transferLeadership(h: RequestHost, to: NodeId, timeoutMs: number): Promise<void> {
  let off = (): void => {};
  return withTimeout(
    h.clock,
    'transferLeadership',
    timeoutMs,
    () => h.refuseInput(),
    () => off(),
    (resolve, reject) => {
      off = h.onLeaderChange(({ leader }) => {
        if (leader === to) resolve();
      });
      h.act(() => {
        const r = h.raw.transferLeadership(to);
        if (!r.ok) {
          if (r.reason === 'already-leader') resolve();
          else if (r.reason === 'not-leader') reject(new RaftNotLeaderError(r.leaderHint));
          else reject(new ProposalRejectedError(r.reason, `cannot transfer to ${to}`));
        }
      });
    },
  );
}
