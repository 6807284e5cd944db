import assert from 'node:assert/strict';
import { nodeId, type NodeId } from '../core/types.js';
import { InvariantViolation } from './invariant-violation.js';
import { LivenessCheck, livenessBound } from './liveness.js';
import type { SimMember } from './sim-member.js';

/** A stand-in node: what LivenessCheck reads of one (its status and the terms of its log). */
function node(id: string, role: string, t: number, commit: number, last: number, terms: number[]): SimMember {
  const raw = {
    status: () => ({ role, term: t, commit, lastIndex: last }),
    termAt: (i: number) => terms[i - 1],
  };
  return { id: nodeId(id) as NodeId, up: true, raw } as unknown as SimMember;
}

describe('liveness after heal (liveness.ts)', () => {
  it('bounds progress by five longest election timeouts of the slowest clock', () => {
    assert.equal(livenessBound({ electionTicks: 10 }, 12), 5 * 2 * 10 * 12);
  });

  it('is satisfied once a leader commits an entry of its term appended after the heal (its election entry)', () => {
    const check = new LivenessCheck(100);
    check.healed(50, [node('n2', 'follower', 2, 4, 5, [1, 1, 2, 2, 2])]);
    check.step(55, [node('n2', 'leader', 3, 5, 6, [1, 1, 2, 2, 2, 3])]); // elected, its entry 6 not committed
    assert.equal(check.satisfied, false);
    check.step(60, [node('n2', 'leader', 3, 6, 6, [1, 1, 2, 2, 2, 3])]);
    assert.equal(check.satisfied, true);
    assert.equal(check.progressAfter, 10);
  });

  it('fails a run in which no leader commits anything new within the bound', () => {
    const check = new LivenessCheck(100);
    const stuck = [
      node('n1', 'follower', 3, 4, 6, [1, 1, 2, 2, 3, 3]),
      node('n2', 'preCandidate', 3, 4, 5, [1, 1, 2, 2, 3]),
    ];
    check.healed(50, stuck);
    check.step(150, stuck); // at the bound: still allowed
    assert.equal(check.satisfied, false);
    assert.throws(
      () => check.step(151, stuck),
      (e: unknown) => {
        assert.ok(e instanceof InvariantViolation);
        assert.equal(e.invariant, 'liveness after heal');
        assert.match(e.message, /no leader committed an entry appended after the heal at 50 within 100 units/);
        return true;
      },
    );
  });

  it('does not count a leader that only commits what it held at the heal', () => {
    const check = new LivenessCheck(100);
    check.healed(0, [node('n1', 'leader', 2, 3, 5, [1, 1, 2, 2, 2])]);
    check.step(10, [node('n1', 'leader', 2, 5, 5, [1, 1, 2, 2, 2])]);
    assert.equal(check.satisfied, false);
    check.step(20, [node('n1', 'leader', 2, 6, 6, [1, 1, 2, 2, 2, 2])]);
    assert.equal(check.satisfied, true);
    assert.equal(check.progressAfter, 20);
  });
});
