import assert from 'node:assert/strict';
import { applyDelta, healthy, scaleTimeout } from './awareness.js';
import { BroadcastQueue } from './broadcast-queue.js';
import { scenarioParams as p } from './testing/scenario-harness.js';
import {
  pushPullIntervalMs,
  retransmitLimit,
  suspicionConfirmationsWanted,
  suspicionMaxMs,
  suspicionMinMs,
} from './params.js';
import { confirmSuspicion, startSuspicion, suspicionTimeoutMs } from './suspicion.js';
import { incarnation, nodeName } from './types.js';

describe('gossip core: Lifeguard formulas', () => {
  it('suspicion timeout grows with log10 of the cluster size (min 1×)', () => {
    assert.equal(suspicionMinMs(p, 1), 3 * 100);
    assert.equal(suspicionMinMs(p, 10), 3 * 100);
    assert.equal(suspicionMinMs(p, 100), 2 * 3 * 100);
    assert.equal(suspicionMaxMs(p, 100), 3 * 600);
  });

  it('independent confirmations shrink the suspicion timeout from max toward min, never below', () => {
    const k = 3;
    const times = [0, 1, 2, 3, 4].map((c) => suspicionTimeoutMs(1000, 6000, k, c));
    assert.equal(times[0], 6000);
    assert.equal(times[3], 1000);
    assert.equal(times[4], 1000);
    for (let i = 1; i < times.length; i++) assert.ok((times[i] ?? 0) <= (times[i - 1] ?? 0));
  });

  it('a suspicion counts each accuser once and stops after k confirmations', () => {
    let s = startSuspicion(nodeName('a'), incarnation(1), 0, 1000, 6000, 2);
    assert.equal(s.deadline, 6000);
    assert.equal(confirmSuspicion(s, nodeName('a')), undefined, 'the first accuser does not confirm itself');
    s = confirmSuspicion(s, nodeName('b')) ?? assert.fail('b confirms');
    assert.ok(s.deadline < 6000 && s.deadline > 1000);
    s = confirmSuspicion(s, nodeName('c')) ?? assert.fail('c confirms');
    assert.equal(s.deadline, 1000);
    assert.equal(confirmSuspicion(s, nodeName('d')), undefined, 'k reached');
  });

  it('confirmations wanted is suspicionMult − 2, or 0 in clusters too small to supply them', () => {
    assert.equal(suspicionConfirmationsWanted({ ...p, suspicionMult: 4 }, 10), 2);
    assert.equal(suspicionConfirmationsWanted({ ...p, suspicionMult: 4 }, 3), 0);
  });

  it('retransmit limit is mult × ⌈log10(N+1)⌉', () => {
    assert.deepEqual(
      [1, 9, 10, 99, 100].map((n) => retransmitLimit(p, n)),
      [3, 3, 6, 6, 9],
    );
  });

  it('push/pull interval scales up past 32 members', () => {
    const q = { ...p, pushPullIntervalMs: 1000 };
    assert.deepEqual(
      [32, 33, 64, 65, 128].map((n) => pushPullIntervalMs(q, n)),
      [1000, 2000, 2000, 3000, 3000],
    );
  });

  it('local health awareness scales timeouts by score+1 and stays within [0, max−1]', () => {
    let a = healthy(4);
    assert.equal(scaleTimeout(a, 100), 100);
    a = applyDelta(a, 10);
    assert.equal(a.score, 3);
    assert.equal(scaleTimeout(a, 100), 400);
    a = applyDelta(a, -10);
    assert.equal(a.score, 0);
  });
});

describe('gossip core: broadcast queue', () => {
  const alive = (node: string, inc: number) =>
    ({ type: 'alive', incarnation: incarnation(inc), node: nodeName(node), addr: 'x:1', tags: {} }) as const;

  it('a newer update about a member replaces the queued older one', () => {
    const q = new BroadcastQueue();
    q.queue(nodeName('a'), alive('a', 1) as never);
    q.queue(nodeName('a'), alive('a', 2) as never);
    assert.equal(q.length, 1);
    assert.deepEqual(q.take(1400, 3, 10), [alive('a', 2)]);
  });

  it('each update is sent at most `limit` times, least-sent first, within the byte budget', () => {
    const q = new BroadcastQueue();
    q.queue(nodeName('a'), alive('a', 1) as never);
    q.take(1400, 2, 10);
    q.queue(nodeName('b'), alive('b', 1) as never);
    assert.deepEqual(q.take(1400, 2, 1), [alive('b', 1)], 'fresh news first');
    assert.equal(q.take(1400, 2, 10).length, 2);
    assert.equal(q.length, 0, 'both reached the limit');
    q.queue(nodeName('c'), alive('c', 1) as never);
    assert.deepEqual(q.take(5, 2, 10), [], 'does not fit the budget');
  });
});
