import assert from 'node:assert/strict';
import type { RaftNode } from '../raft/index.js';
import { HealthState, ServingStatus } from '../server/health-service.js';
import { HealthDriver, ProbeServices } from './readiness.js';

/** The part of a RaftNode the driver reads, with hooks the test fires by hand. */
function fakeNode(): { node: RaftNode; promote(): void; applied(): void; leaderChange(): void } {
  let suffrage: 'voter' | 'learner' = 'learner';
  const applied = new Set<() => void>();
  const leader = new Set<() => void>();
  const node = {
    status: () => ({ id: 'n1', leader: 'n0', members: [{ id: 'n1', suffrage }] }),
    onApplied: (fn: () => void) => (applied.add(fn), () => applied.delete(fn)),
    onLeaderChange: (fn: () => void) => (leader.add(fn), () => leader.delete(fn)),
  } as unknown as RaftNode;
  return {
    node,
    promote: () => (suffrage = 'voter'),
    applied: () => applied.forEach((f) => f()),
    leaderChange: () => leader.forEach((f) => f()),
  };
}

const until = async (pred: () => boolean, ms: number, what: string): Promise<void> => {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('agent: readiness driver (event-driven, no short poll)', () => {
  const ready = (h: HealthState) => h.get(ProbeServices.readiness) === ServingStatus.SERVING;

  it('a learner promoted by an applied configuration entry turns ready without waiting for the safety period', async () => {
    // GIVEN a learner that wants to be a voter, a 1-hour safety period and a 10 ms apply delay
    const h = new HealthState([ProbeServices.readiness, ProbeServices.admin]);
    const f = fakeNode();
    const d = new HealthDriver(h, f.node, 'voter', 10, 3_600_000);
    d.start();
    try {
      assert.equal(ready(h), false);
      assert.equal(h.get(ProbeServices.liveness), ServingStatus.SERVING);
      // WHEN the promotion is applied
      f.promote();
      f.applied();
      // THEN readiness follows (bounded wait: the check runs 10 ms after the applied batch)
      await until(() => ready(h), 5_000, 'ready after the applied promotion');
    } finally {
      d.stop();
    }
  });

  it('a leader change is checked at once, and stop() turns everything off', () => {
    const h = new HealthState([ProbeServices.readiness, ProbeServices.admin]);
    const f = fakeNode();
    const d = new HealthDriver(h, f.node, 'voter', 3_600_000, 3_600_000);
    d.start();
    f.promote();
    f.leaderChange();
    assert.equal(ready(h), true);
    d.stop();
    assert.equal(ready(h), false);
    assert.equal(h.get(ProbeServices.liveness), ServingStatus.NOT_SERVING);
  });
});
