import assert from 'node:assert/strict';
import type { RawNode } from '../core/raw-node.js';
import { logIndex, term, type Entry, type ProposeResult } from '../core/types.js';
import { ProposalDroppedError } from './errors.js';
import { ProposalTracker, type DataOffsets, type ProposeOutcome } from './proposal-tracker.js';

// ProposalTracker on its own: a core stub that accepts each batch at the index and term the
// test names, a dense log where every index is a data record (data offset = index - 1).

const log: DataOffsets = { nextDataOffset: 100, nextOffset: 101, toDataOffset: (i) => i - 1 };
const core = (index: number, t: number): Pick<RawNode, 'proposeEntries'> => ({
  proposeEntries: (): ProposeResult => ({ ok: true, index: logIndex(index), term: term(t) }),
});
const data = (index: number, t: number): Entry => ({
  index: logIndex(index),
  term: term(t),
  type: 'data',
  data: new Uint8Array(),
});

/** Proposes one record that the core puts at `index` in term `t`; returns how its promise settled so far. */
function propose(tr: ProposalTracker, index: number, t: number): { outcome?: ProposeOutcome; error?: unknown } {
  const seen: { outcome?: ProposeOutcome; error?: unknown } = {};
  tr.enqueue(
    [{ type: 'data', data: new Uint8Array([1]) }],
    (o) => (seen.outcome = o),
    (e) => (seen.error = e),
  );
  assert.equal(tr.feed(core(index, t), log), 1);
  return seen;
}

describe('ProposalTracker', () => {
  it('settles both proposals a node made at one index in two terms: the one whose entry commits resolves, the other is lost', () => {
    // GIVEN a leader of term 2 whose proposal took index 11, and which, leading again in term 4
    // after its entry was cut from its log, proposes at index 11 again
    let now = 0;
    const tr = new ProposalTracker(1000, () => now);
    const first = propose(tr, 11, 2);
    const second = propose(tr, 11, 4);
    // WHEN index 11 applies with the term-4 entry
    tr.settle([data(11, 4)], log);
    // THEN the term-4 proposal resolves at its offset and the term-2 one is definitely lost —
    // neither is left hanging (nor would be by a later sweep or stop, which found nothing)
    assert.deepEqual(second.outcome, { dataOffset: 10, index: 11, term: 4 });
    assert.ok(first.error instanceof ProposalDroppedError, `the term-2 proposal settled with ${String(first.error)}`);
    assert.equal(first.error.lost, true);
    now = 5000;
    tr.sweep();
    tr.failAll(new Error('stopped'));
  });

  it('times out each of two proposals at one index on its own deadline', () => {
    // GIVEN proposals at index 7 in terms 2 (at t=0) and 3 (at t=600), timeout 1000
    let now = 0;
    const tr = new ProposalTracker(1000, () => now);
    const first = propose(tr, 7, 2);
    now = 600;
    const second = propose(tr, 7, 3);
    // WHEN the sweep runs at t=1000 THEN only the first is given an indeterminate outcome
    now = 1000;
    tr.sweep();
    assert.ok(first.error instanceof ProposalDroppedError && !first.error.lost, String(first.error));
    assert.equal(second.error, undefined);
    // AND the second still resolves when its entry commits
    tr.settle([data(7, 3)], log);
    assert.deepEqual(second.outcome, { dataOffset: 6, index: 7, term: 3 });
  });

  it('rejects every proposal at a shared index when the node stops', () => {
    // GIVEN two proposals at index 5 (terms 1 and 2) WHEN the node stops THEN both reject
    const tr = new ProposalTracker(1000, () => 0);
    const a = propose(tr, 5, 1);
    const b = propose(tr, 5, 2);
    tr.failAll(new Error('disk gone'));
    assert.equal(String(a.error), 'Error: disk gone');
    assert.equal(String(b.error), 'Error: disk gone');
  });
});
