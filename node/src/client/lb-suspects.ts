/**
 * The suspects of the grpc-js policy `commitlog_leader` (grpc-lb.ts): the children whose
 * last call timed out or lost its connection with no answer of the server's own — a paused
 * (SIGSTOP) or partitioned server, whose TCP connection stays READY while it answers
 * nothing. Pure: the clock is an input ({@link ChildSuspectsOptions.now}), nothing here
 * starts a timer, so tests drive expiry without sleeping.
 *
 * Suspicion is a PREFERENCE, never an exclusion (picker.ts's `route`, as CommitLogClient's
 * suspects.ts): a suspect leader's writes go to a READY follower that is not suspect, which
 * forwards them to the leader (agent/forwarder.ts); when every child is suspect the calls are
 * routed as if none were. It ends four ways:
 * - the child answers a call (OK, or an error of the server's own: it is alive);
 * - it expires `ttlMs` after the last failure, so a server is tried again even if nobody
 *   else would have told us it is back (a call that fails there again marks it again);
 * - a re-resolution names another leader: every suspect but the old leader is cleared. Their
 *   timeouts are explained by the old leader (a follower's forwards wait for it until it
 *   learns of the election, Raft §5.2), while the old leader itself may still be frozen;
 * - the child leaves the view ({@link ChildSuspects.retain}).
 *
 * Unlike CommitLogClient's suspects there is no background probe: the channel has no call of
 * its own to spend on a suspect, and the expiry bounds how long a healthy server is avoided.
 */
import { type Metadata, status as Status } from '@grpc/grpc-js';
import { serverAnswered, silent } from './retry-policy.js';

/** Options of {@link ChildSuspects}. */
export interface ChildSuspectsOptions {
  /** How long a suspicion lasts at most after the last failure (ms). */
  readonly ttlMs: number;
  /** The clock (ms); the policy passes the channel option `commitlog.clock` or `Date.now`. */
  readonly now: () => number;
}

/** What a call's end says about the child that carried it. */
export type CallVerdict = 'silent' | 'answered' | 'neither';

/**
 * The {@link CallVerdict} of a call that ended with `code`, `details` and trailers `md`:
 * `silent` when it timed out (DEADLINE_EXCEEDED) or lost its connection (UNAVAILABLE) with no
 * error code of the server's own in the trailers (retry-policy.ts's `silent`); `answered`
 * when it ended OK or with the server's own error; `neither` otherwise (a call the caller
 * cancelled, an error grpc-js made up locally).
 *
 * A `streaming` call (ConsumeStream, ProduceStream) that reaches its deadline is `neither`:
 * a stream has no length of its own, so its deadline is the caller's bound on how long to
 * follow the log (a consumer that tails for 30 s), passed as often at a server that streamed
 * every record as at a frozen one, and the policy cannot see which (the picker learns only
 * how a call ended). A stream that loses its connection unanswered is still `silent`, and a
 * frozen server is still found by the unary calls that time out there.
 */
export function callVerdict(code: Status, details: string, md: Metadata, streaming = false): CallVerdict {
  const e = { code, details, metadata: md };
  if (streaming && code === Status.DEADLINE_EXCEEDED) return 'neither';
  if (silent(e)) return 'silent';
  if (code === Status.OK || serverAnswered(e)) return 'answered';
  return 'neither';
}

/** The suspect children of one policy instance, by address; see the file header for the rules. */
export class ChildSuspects {
  /** Suspect address → when it last failed a call. */
  private readonly since = new Map<string, number>();

  constructor(private readonly o: ChildSuspectsOptions) {}

  /** True while `addr` is suspect: marked, not cleared, not expired. */
  has(addr: string): boolean {
    const at = this.since.get(addr);
    if (at === undefined) return false;
    if (this.o.now() - at < this.o.ttlMs) return true;
    this.since.delete(addr);
    return false;
  }

  /** The suspect addresses now. */
  get addrs(): readonly string[] {
    return [...this.since.keys()].filter((a) => this.has(a));
  }

  /** A call at `addr` got no answer: it is suspect; its expiry restarts if it already was. */
  mark(addr: string): void {
    this.since.set(addr, this.o.now());
  }

  /** `addr` answered a call: it is not suspect any more. */
  clear(addr: string): void {
    this.since.delete(addr);
  }

  /** Applies the {@link CallVerdict} of a call that `addr` carried; true when it made `addr` a suspect. */
  record(addr: string, verdict: CallVerdict): boolean {
    if (verdict === 'silent') this.mark(addr);
    else if (verdict === 'answered') this.clear(addr);
    return verdict === 'silent';
  }

  /** A re-resolution named a leader other than `oldLeader`: every suspect but `oldLeader` is cleared. */
  leaderChanged(oldLeader: string): void {
    for (const a of [...this.since.keys()]) if (a !== oldLeader) this.since.delete(a);
  }

  /** Forgets the suspects that are not in `addrs` (they left the view). */
  retain(addrs: ReadonlySet<string>): void {
    for (const a of [...this.since.keys()]) if (!addrs.has(a)) this.since.delete(a);
  }
}
