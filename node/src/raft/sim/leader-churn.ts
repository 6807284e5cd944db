/**
 * A partition fault aimed at leader changes with uncommitted entries (Raft §5.4, Figure 8):
 * a majority island that keeps moving. Each round connects one majority of the voters and
 * isolates every other node alone; as soon as the island elects a leader of a new term, the
 * round ends a few steps later — often before that leader's no-op (or anything else it
 * appended) reached anyone — and the next round connects a different majority. The first
 * round leaves out the leader of the moment, which keeps its uncommitted tail (and, without
 * check-quorum, keeps taking proposals) while the others elect.
 *
 * Random partitions rarely produce these histories: they need a leader to be cut off right
 * after it wins, several times in a row. What they produce, and what the invariants must
 * survive:
 * - a node that leads term t1 with an uncommitted tail, then leads t2 on top of it (its
 *   no-op starts a second term run), and is healed into a majority that moved on from inside
 *   t1: the conflict truncation cuts its whole last run and part of the one before
 *   (the case the log's term runs must get right, `truncate-keeps-term-runs`);
 * - Figure 8: an entry of an earlier term replicated to a majority by a later leader that is
 *   cut off before it commits an entry of its own term, then overwritten by a leader whose
 *   last term is higher (`figure8-commit-old-term`);
 * - many terms whose entries stay uncommitted, and stale suffixes of several terms on followers.
 *
 * Pure: the simulator hands it what it sees each step and applies the partition it returns.
 * Deterministic for a given RNG.
 */
import type { NodeId } from '../core/types.js';

/** What the simulator sees of the cluster in one step. */
export interface ChurnView {
  readonly now: number;
  /** The voters of the configuration in force at the current leader (or of any node). */
  readonly voters: readonly NodeId[];
  /** Every node of the simulation (learners and joiners go with the island). */
  readonly all: readonly NodeId[];
  /** Running nodes that believe they lead, with their terms. */
  readonly leaders: readonly { readonly id: NodeId; readonly term: number }[];
  /** Nodes that are down (an island is drawn from running voters first, so that it can elect). */
  readonly down: ReadonlySet<NodeId>;
}

/** What to do with the network this step. */
export type ChurnAction =
  | { readonly type: 'partition'; readonly groups: readonly (readonly NodeId[])[]; readonly note: string }
  | { readonly type: 'heal'; readonly note: string };

/** Rounds per episode: 3–6. */
const MIN_ROUNDS = 3;
const EXTRA_ROUNDS = 4;
/** A round whose island elects nobody (a member down, a slow disk) gives up after this many units. */
const ROUND_TIMEOUT = 300;
/** After the island's leader won: end the round within this many units (half the time within 2). */
const MAX_LINGER = 15;

interface Round {
  readonly island: ReadonlySet<NodeId>;
  /** The highest leader term when the round began: the island must elect a higher one. */
  readonly termBefore: number;
  readonly giveUpAt: number;
  /** When the round ends, once its island elected a leader. */
  endAt: number | null;
  /** The leader the island elected. */
  winner: NodeId | null;
}

/** The leader-churn fault: episodes of rounds, each a different majority island. */
export class LeaderChurn {
  private round: Round | null = null;
  private roundsLeft = 0;

  constructor(private readonly rand: () => number) {}

  /** True while an episode runs (the simulator then starts no other partition). */
  get active(): boolean {
    return this.round !== null;
  }

  /** Starts an episode: the first island leaves out the current leader, if there is one. */
  start(view: ChurnView): ChurnAction | undefined {
    if (this.round !== null || view.voters.length < 3) return undefined;
    this.roundsLeft = MIN_ROUNDS + Math.floor(this.rand() * EXTRA_ROUNDS);
    const lead = highest(view.leaders);
    return this.next(view, lead === undefined ? [] : [lead.id], 'leader churn begins');
  }

  /** One step of the running episode (nothing when none runs or nothing changes). */
  step(view: ChurnView): ChurnAction | undefined {
    const r = this.round;
    if (r === null) return undefined;
    if (r.endAt === null) {
      const won = view.leaders.find((l) => r.island.has(l.id) && l.term > r.termBefore);
      if (won !== undefined) {
        r.winner = won.id;
        r.endAt = view.now + Math.floor(this.rand() * (this.rand() < 0.5 ? 3 : MAX_LINGER + 1));
      }
    }
    const over = (r.endAt !== null && view.now >= r.endAt) || view.now >= r.giveUpAt;
    if (!over) return undefined;
    if (--this.roundsLeft <= 0) {
      this.stop();
      return { type: 'heal', note: 'leader churn ends' };
    }
    // Mostly the next island leaves out the leader this one elected (cut off the new leader, as
    // the first round cut off the old one): a leader cut off with an uncommitted tail, brought
    // back to lead again on top of it, then left out while a majority moves on.
    const exclude = r.winner !== null && this.rand() < 0.8 ? [r.winner] : [];
    return this.next(view, exclude, 'leader churn moves on');
  }

  /** Ends the episode (the simulator heals the network itself). */
  stop(): void {
    this.round = null;
    this.roundsLeft = 0;
  }

  /** The next round: a majority island different from the last one, without `exclude` when possible. */
  private next(view: ChurnView, exclude: readonly NodeId[], note: string): ChurnAction {
    const quorum = Math.floor(view.voters.length / 2) + 1;
    const last = this.round?.island;
    let island: NodeId[] = [];
    for (let attempt = 0; attempt < 8; attempt++) {
      const candidates = view.voters.filter((v) => !exclude.includes(v));
      const pool = [
        ...shuffle(
          candidates.filter((v) => !view.down.has(v)),
          this.rand,
        ),
        ...shuffle(
          candidates.filter((v) => view.down.has(v)),
          this.rand,
        ),
      ];
      if (pool.length < quorum) pool.push(...exclude);
      island = pool.slice(0, quorum);
      if (last === undefined || island.some((v) => !last.has(v))) break;
    }
    const voters = new Set(view.voters);
    const members = [...island, ...view.all.filter((id) => !voters.has(id))];
    const alone = view.all.filter((id) => voters.has(id) && !island.includes(id)).map((id) => [id]);
    this.round = {
      island: new Set(island),
      termBefore: highest(view.leaders)?.term ?? 0,
      giveUpAt: view.now + ROUND_TIMEOUT,
      endAt: null,
      winner: null,
    };
    return { type: 'partition', groups: [members, ...alone], note: `${note}: island [${island.join(' ')}]` };
  }
}

function highest<T extends { readonly term: number }>(xs: readonly T[]): T | undefined {
  let best: T | undefined;
  for (const x of xs) if (best === undefined || x.term > best.term) best = x;
  return best;
}

function shuffle<T>(xs: T[], rand: () => number): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const a = xs[i] as T;
    xs[i] = xs[j] as T;
    xs[j] = a;
  }
  return xs;
}
