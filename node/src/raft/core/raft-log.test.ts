import assert from 'node:assert/strict';
import { RaftInvariantError } from './errors.js';
import { MemoryStorage } from './memory-storage.js';
import { RaftLog } from './raft-log.js';
import { logIndex, term, type Entry } from './types.js';

const ent = (i: number, t: number): Entry => ({
  index: logIndex(i),
  term: term(t),
  type: 'noop',
  data: new Uint8Array(0),
});
const logWith = (...terms: number[]): RaftLog => {
  const s = new MemoryStorage();
  s.append(terms.map((t, i) => ent(i + 1, t)));
  return new RaftLog(s, logIndex(0));
};

describe('RaftLog', () => {
  it('rejects an append whose previous entry does not match (consistency check)', () => {
    const l = logWith(1, 1, 2);
    assert.equal(l.maybeAppend(logIndex(3), term(3), logIndex(0), [ent(4, 3)]), undefined);
    assert.equal(l.maybeAppend(logIndex(3), term(2), logIndex(0), [ent(4, 3)]), 4);
  });

  it('replaces a conflicting suffix and advances commit no further than the new entries', () => {
    const l = logWith(1, 1, 2, 2);
    assert.equal(l.maybeAppend(logIndex(2), term(1), logIndex(10), [ent(3, 3)]), 3);
    assert.equal(l.lastIndex(), 3);
    assert.equal(l.term(logIndex(3)), 3);
    assert.equal(l.committed, 3);
  });

  it('throws rather than overwrite a committed entry', () => {
    const l = logWith(1, 1, 2);
    l.commitTo(logIndex(3));
    assert.throws(() => l.maybeAppend(logIndex(2), term(1), logIndex(3), [ent(3, 9)]), RaftInvariantError);
  });

  it('finds the fast back-off point: the last index at or below `index` with term <= `t`', () => {
    const l = logWith(1, 1, 1, 4, 4, 5, 5, 6, 6, 6);
    assert.equal(l.findConflictByTerm(logIndex(10), term(3)), 3);
    assert.equal(l.findConflictByTerm(logIndex(10), term(5)), 7);
    assert.equal(l.findConflictByTerm(logIndex(12), term(6)), 10);
    assert.equal(l.findConflictByTerm(logIndex(5), term(0)), 0);
  });

  it('does not mark entries stable if they were replaced while being written', () => {
    const s = new MemoryStorage();
    const l = new RaftLog(s, logIndex(0));
    l.append([ent(1, 1), ent(2, 1)]);
    l.append([ent(2, 2)]);
    l.stableTo(logIndex(2), term(1));
    assert.deepEqual(
      l.unstableEntries().map((e) => e.term),
      [1, 2],
    );
  });

  it('commits by counting only an entry of the current term (§5.4.2)', () => {
    const l = logWith(1, 2);
    assert.equal(l.maybeCommit(logIndex(2), term(3)), false);
    assert.equal(l.maybeCommit(logIndex(2), term(2)), true);
  });

  it('refuses to start from a commit index beyond the log', () => {
    const s = new MemoryStorage();
    assert.throws(() => new RaftLog(s, logIndex(5)), RaftInvariantError);
  });
});
