import assert from 'node:assert/strict';
import { logIndex, nodeId, term, type Entry, type Message } from '../core/types.js';
import { APPLY_RULE, checkApplied, checkDelivered, FOLLOWER_COMMIT_RULE, LEADER_COMMIT_RULE } from './commit-rules.js';
import { InvariantViolation } from './invariant-violation.js';
import type { SimMember } from './sim-member.js';

// The commit-index rules outside the leader (commit-rules.ts), on a node whose status shows a
// given commit index.

const n2 = nodeId('n2');
const n1 = nodeId('n1');

function nodeAt(commit: number): SimMember {
  return { id: n2, raw: { status: () => ({ commit }) } } as unknown as SimMember;
}

const entry = (i: number): Entry => ({ index: logIndex(i), term: term(1), type: 'data', data: new Uint8Array(0) });

function append(prevIndex: number, entries: number, commit: number): Message {
  const ents = Array.from({ length: entries }, (_, k) => entry(prevIndex + 1 + k));
  return {
    type: 'append',
    from: n1,
    to: n2,
    term: term(2),
    prevIndex: logIndex(prevIndex),
    prevTerm: term(1),
    entries: ents,
    commit: logIndex(commit),
  } as Message;
}

const violates = (name: string) => (e: unknown) => e instanceof InvariantViolation && e.invariant === name;

describe('commit-index rules outside the leader', () => {
  it('apply rule: a node applies entries up to its commit index, never beyond', () => {
    checkApplied(nodeAt(5), [entry(4), entry(5)]);
    assert.throws(() => checkApplied(nodeAt(5), [entry(5), entry(6)]), violates(APPLY_RULE));
  });

  it('follower commit rule: an append moves the commit index at most to min(leader commit, last entry it vouched for)', () => {
    // GIVEN an append of entries 4..6 after 3 with the leader's commit at 9
    const m = append(3, 3, 9);
    // THEN committing up to 6 keeps the rule, 7 (an entry the append did not carry) breaks it
    checkDelivered(nodeAt(6), m, 2);
    assert.throws(() => checkDelivered(nodeAt(7), m, 2), violates(FOLLOWER_COMMIT_RULE));
    // AND beyond the leader's commit breaks it too
    assert.throws(() => checkDelivered(nodeAt(4), append(3, 3, 3), 2), violates(FOLLOWER_COMMIT_RULE));
  });

  it('follower commit rule: a commit index that did not move is never a violation', () => {
    checkDelivered(nodeAt(8), append(3, 0, 9), 8);
  });

  it('follower commit rule: a heartbeat moves the commit index at most to its own commit', () => {
    const hb = { type: 'heartbeat', from: n1, to: n2, term: term(2), commit: logIndex(5), readSeq: 0 } as Message;
    checkDelivered(nodeAt(5), hb, 1);
    assert.throws(() => checkDelivered(nodeAt(6), hb, 1), violates(FOLLOWER_COMMIT_RULE));
  });

  it("leader commit rule: an acknowledgement moves a leader's commit index only to an entry of its own term", () => {
    // GIVEN a term-3 leader whose log holds term-2 entries up to 7 and its own from 8
    const leader = (commit: number): SimMember =>
      ({
        id: n1,
        raw: { status: () => ({ role: 'leader', term: 3, commit }), termAt: (i: number) => (i <= 7 ? 2 : 3) },
      }) as unknown as SimMember;
    const ack = { type: 'appendResp', from: n2, to: n1, term: term(3), success: true, index: logIndex(8) } as Message;
    checkDelivered(leader(8), ack, 5);
    assert.throws(() => checkDelivered(leader(7), ack, 5), violates(LEADER_COMMIT_RULE));
  });
});
