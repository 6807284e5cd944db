/**
 * For tests that write through Raft on a loaded machine, where leadership can move at any
 * time (the shell ticks on real time): run an operation at the leader of the moment, and
 * again at the next one while it is refused as not-leader (not appended) or dropped as
 * indeterminate (it may be appended twice: only for tests that compare logs whole or that
 * write with a producer id). Membership changes may also be retried while they are refused
 * for now (`rejected`: a change pending, a learner not caught up yet).
 */
import { ProposalDroppedError, ProposalRejectedError, RaftNotLeaderError } from '../errors.js';

/** What {@link atLeader} retries besides not-leader and dropped. */
export interface AtLeaderOptions {
  /** Also retry a ProposalRejectedError (membership changes refused for now), 10 ms apart. */
  readonly rejected?: boolean;
}

/** Runs `op` at the node `leader()` gives (a RaftNode, or a fixture holding one) until it settles or fails otherwise; bounded by `ms`. */
export async function atLeader<N, T>(
  leader: () => Promise<N>,
  op: (n: N) => Promise<T>,
  ms = 30_000,
  o: AtLeaderOptions = {},
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const n = await leader();
    try {
      return await op(n);
    } catch (err) {
      const rejected = o.rejected === true && err instanceof ProposalRejectedError;
      if (
        !(err instanceof RaftNotLeaderError || err instanceof ProposalDroppedError || rejected) ||
        Date.now() > deadline
      )
        throw err;
      if (rejected) await new Promise((r) => setTimeout(r, 10));
    }
  }
}
