import assert from 'node:assert/strict';
import { nodeId, type NodeId } from '../core/types.js';
import { type ChurnAction, type ChurnView, LeaderChurn } from './leader-churn.js';

// The leader-churn fault (leader-churn.ts) as a specification: which island each round
// connects, when a round ends, and when the episode heals.

const [n1, n2, n3] = [nodeId('n1'), nodeId('n2'), nodeId('n3')];
const voters = [n1, n2, n3];

function view(now: number, leaders: { id: NodeId; term: number }[], down: NodeId[] = []): ChurnView {
  return { now, voters, all: [...voters, nodeId('n4')], leaders, down: new Set(down) };
}

/** The island of a partition action (its first group), without non-voters. */
function island(a: ChurnAction | undefined): NodeId[] {
  assert.ok(a?.type === 'partition', `expected a partition, got ${JSON.stringify(a)}`);
  return (a.groups[0] ?? []).filter((id) => voters.includes(id)).sort();
}

/** A stream of fixed numbers (cycled). */
function fixed(...xs: number[]): () => number {
  let i = 0;
  return () => xs[i++ % xs.length] ?? 0;
}

describe('leader churn (a majority island that cuts off each new leader)', () => {
  it('the first island is a majority without the leader of the moment; everyone else is alone, joiners go with the island', () => {
    const churn = new LeaderChurn(fixed(0.3, 0.7, 0.1));
    const a = churn.start(view(100, [{ id: n2, term: 4 }]));
    assert.deepEqual(island(a), [n1, n3]);
    assert.ok(a?.type === 'partition');
    assert.deepEqual(a.groups.slice(1), [[n2]]);
    assert.ok(a.groups[0]?.includes(nodeId('n4')), 'a non-voter joins the island');
    assert.equal(churn.active, true);
  });

  it('a round ends within 15 units of its island electing a higher term, and the next island leaves out that leader', () => {
    const churn = new LeaderChurn(fixed(0.5, 0.5, 0.5, 0.5, 0.1, 0.5, 0.5));
    island(churn.start(view(0, [{ id: n2, term: 4 }])));
    // The old leader still believes it leads (no check-quorum): not a win of the island.
    assert.equal(churn.step(view(50, [{ id: n2, term: 4 }])), undefined);
    let next: ChurnAction | undefined;
    for (let now = 60; now <= 60 + 15 && next === undefined; now++)
      next = churn.step(
        view(now, [
          { id: n3, term: 5 },
          { id: n2, term: 4 },
        ]),
      );
    assert.ok(next !== undefined, 'the round did not end within 15 units of the win');
    assert.ok(!island(next).includes(n3), `the next island ${island(next).join(' ')} includes the new leader n3`);
  });

  it('a round whose island elects nobody gives up after 300 units', () => {
    const churn = new LeaderChurn(fixed(0.5));
    churn.start(view(0, []));
    assert.equal(churn.step(view(299, [])), undefined);
    assert.equal(churn.step(view(300, []))?.type, 'partition');
  });

  it('an island is drawn from running voters first, so that it can elect', () => {
    for (const r of [0.05, 0.35, 0.65, 0.95]) {
      const churn = new LeaderChurn(fixed(r));
      assert.deepEqual(island(churn.start(view(0, [], [n1]))), [n2, n3], `rand ${r}`);
    }
  });

  it('an episode is 3 to 6 rounds and ends with a heal; stop() ends it at once', () => {
    for (const r of [0, 0.99]) {
      const churn = new LeaderChurn(fixed(r));
      churn.start(view(0, []));
      let rounds = 1;
      let now = 0;
      for (;;) {
        now += 300;
        const a = churn.step(view(now, []));
        if (a?.type === 'heal') break;
        rounds++;
      }
      assert.equal(churn.active, false);
      assert.equal(rounds, r === 0 ? 3 : 6);
    }
    const churn = new LeaderChurn(fixed(0.5));
    churn.start(view(0, []));
    churn.stop();
    assert.equal(churn.active, false);
    assert.equal(churn.step(view(1000, [])), undefined);
  });
});
