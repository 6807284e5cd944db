/**
 * The ReadIndex rule (thesis §6.4), checked by the simulator beside the safety invariants:
 * a leader answers a read only after a quorum of its configuration acknowledged it as leader
 * *after the read reached it*. The leader counts for itself; a follower counts once the
 * leader received its answer to a heartbeat that the leader handed to the network after the
 * read arrived (a heartbeat of the leader's term, matched to its answer by the round number
 * it echoes). An answer to an earlier heartbeat proves only that the leader led before the
 * read: a newer leader may have committed writes since, and the read would miss them.
 *
 * Any correct implementation satisfies the rule whatever its round bookkeeping: it is stated
 * on messages and read contexts only. The linearizability checker catches the same fault only
 * when a client reads at a deposed leader after a newer leader acknowledged a write; the rule
 * catches every early answer. The simulator reports each read a leader accepts (a local
 * request or a forwarded `readIndex`), each heartbeat sent and each heartbeat answer a leader
 * receives, and checks each answer a leader gives (a read state of its own, or `readIndexResp`)
 * when the leader's Ready carries it. A read state or answer for a read the rule did not see
 * arrive at a leader (a follower's forwarded read, or a scripted call past the cluster) is
 * not checked.
 */
import type { NodeId } from '../core/types.js';
import { InvariantViolation } from './invariant-violation.js';

interface Asked {
  /** The event number at which the read reached the leader. */
  readonly at: number;
  /** The voters the leader had then. */
  readonly voters: readonly NodeId[];
}

/** What the rule knows of one node's leadership in one term. */
interface Leadership {
  readonly term: number;
  /** `to/round` → event number of the first heartbeat with that round sent to `to` in this term. */
  readonly sent: Map<string, number>;
  /** Follower → the latest send event among the heartbeats of this term it answered. */
  readonly fresh: Map<NodeId, number>;
  /** Read context → the arrivals not answered yet, oldest first (the network may duplicate a forwarded read). */
  readonly asks: Map<string, Asked[]>;
  /** The voters the leader had when it last received a heartbeat answer (where a correct leader answers reads). */
  ackVoters: readonly NodeId[];
}

/** Checks every ReadIndex answer against the heartbeat answers the leader had received. */
export class ReadRoundRule {
  private events = 0;
  /** Read answers checked so far (tests use it to see that the rule looked). */
  checked = 0;
  private readonly leaders = new Map<NodeId, Leadership>();

  /** Leader `id` of `term`, with `voters`, accepted the read `ctx` (its own client's, or forwarded). */
  asked(id: NodeId, term: number, ctx: string, voters: readonly NodeId[]): void {
    const l = this.leadership(id, term);
    const list = l.asks.get(ctx) ?? [];
    list.push({ at: ++this.events, voters: [...voters] });
    l.asks.set(ctx, list);
  }

  /** Node `from`, leader of `term`, handed a heartbeat carrying `round` for `to` to the network. */
  heartbeatSent(from: NodeId, term: number, to: NodeId, round: number): void {
    const l = this.leadership(from, term);
    const key = `${to}/${round}`;
    if (!l.sent.has(key)) l.sent.set(key, ++this.events);
  }

  /** Leader `id` of `term` received `from`'s answer (of the same term) to a heartbeat carrying `round`. */
  heartbeatAnswered(id: NodeId, term: number, from: NodeId, round: number): void {
    const l = this.leadership(id, term);
    const sentAt = l.sent.get(`${from}/${round}`);
    if (sentAt === undefined) return; // a heartbeat of an earlier life of this node: proves nothing here
    if (sentAt > (l.fresh.get(from) ?? 0)) l.fresh.set(from, sentAt);
  }

  /** Leader `id` (of `term`) has `voters` after stepping a heartbeat answer. */
  afterAnswer(id: NodeId, term: number, voters: readonly NodeId[]): void {
    this.leadership(id, term).ackVoters = [...voters];
  }

  /**
   * Node `id`, whose voters are now `voters`, answered read `ctx` with read index `index`
   * (`termAt`: the term of an entry in its log, undefined when compacted away). Checked when
   * the rule saw the read arrive at `id` as leader: a quorum of the voters it had at the read's
   * arrival, at its last heartbeat answer, or now must have acknowledged it after the arrival;
   * and the read index must be an entry of the leader's term (a leader knows its commit index
   * is current only once an entry of its term is committed, and every entry after its first
   * is of its term).
   * @throws InvariantViolation (`read without a fresh quorum`, `read index before the term's commit`) otherwise.
   */
  answered(
    id: NodeId,
    ctx: string,
    index: number,
    voters: readonly NodeId[],
    termAt: (i: number) => number | undefined,
  ): void {
    const l = this.leaders.get(id);
    const ask = l?.asks.get(ctx)?.shift();
    if (l === undefined || ask === undefined) return;
    if (l.asks.get(ctx)?.length === 0) l.asks.delete(ctx);
    this.checked++;
    const indexTerm = termAt(index);
    if (indexTerm !== undefined && indexTerm !== l.term)
      throw new InvariantViolation(
        "read index before the term's commit",
        `${id} (leader of term ${l.term}) answered read ${ctx} with read index ${index}, an entry of term ${indexTerm}: it had not committed an entry of its term`,
      );
    const acked = (v: NodeId): boolean => v === id || (l.fresh.get(v) ?? 0) > ask.at;
    const quorate = (vs: readonly NodeId[]): boolean => vs.filter(acked).length > Math.floor(vs.length / 2);
    if (quorate(ask.voters) || quorate(l.ackVoters) || quorate(voters)) return;
    const since = ask.voters.filter((v) => v !== id && acked(v));
    throw new InvariantViolation(
      'read without a fresh quorum',
      `${id} (leader of term ${l.term}) answered read ${ctx} with voters (${ask.voters.join(',')}) when the followers that had answered a heartbeat sent after the read arrived were (${since.join(',')})`,
    );
  }

  private leadership(id: NodeId, term: number): Leadership {
    const cur = this.leaders.get(id);
    if (cur !== undefined && cur.term === term) return cur;
    const l: Leadership = { term, sent: new Map(), fresh: new Map(), asks: new Map(), ackVoters: [] };
    this.leaders.set(id, l);
    return l;
  }
}
