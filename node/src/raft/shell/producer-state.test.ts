import assert from 'node:assert/strict';
import { DenseOffsets } from '../../log/dense-offsets.js';
import { type Entry, logIndex, term } from '../core/types.js';
import { encodePdata } from './pdata.js';
import { type HidingLog, ProducerState } from './producer-state.js';

/**
 * A log of entries up to index `n` whose dense offsets hide like the real Log's; `reset`
 * starts it after a snapshot as Log.reset(lowest, dataOffset) does.
 */
function fakeLog(n: number, reset?: { lowest: number; dataOffset: number }): HidingLog & { dense: DenseOffsets } {
  const lowest = reset?.lowest ?? 1;
  // Raft has no index 0: a fresh log counts offset 0 as one non-data record below index 1.
  const dense = new DenseOffsets(reset === undefined ? 1 : reset.lowest - reset.dataOffset);
  return {
    dense,
    lowestOffset: lowest,
    nextOffset: n + 1,
    toDataOffset: (i) => dense.toDataOffset(i),
    hideRecord: (i) => dense.hide(i),
  };
}

const P = Buffer.alloc(16, 1);
const pdata = (index: number, seq: number): Entry => ({
  index: logIndex(index),
  term: term(1),
  type: 'pdata',
  data: encodePdata({ id: P, seq }, Buffer.from(`s${seq}`)),
});

// Entries 1..8: seq 0, 1, 1 (dup), 2, 0 (dup), 3, 2 (dup), 4.
const SEQS = [0, 1, 1, 2, 0, 3, 2, 4];
const ENTRIES = SEQS.map((s, i) => pdata(i + 1, s));

describe('producer state: apply-time decisions, hidden duplicates, fuzzy snapshots (pure)', () => {
  it('hides duplicates at apply time and answers them with the original offset; offsets stay dense', () => {
    const log = fakeLog(ENTRIES.length);
    const st = ProducerState.empty();
    const kinds = ENTRIES.map((e) => st.apply(e, log));
    assert.deepEqual(
      kinds.map((k) =>
        k?.kind === 'duplicate'
          ? `dup@${k.original.dataOffset}`
          : `${k?.kind}@${k?.kind === 'appended' ? k.dataOffset : ''}`,
      ),
      ['appended@0', 'appended@1', 'dup@1', 'appended@2', 'dup@0', 'appended@3', 'dup@2', 'appended@4'],
    );
    assert.equal(st.hiddenCount, 3);
    assert.equal(log.toDataOffset(9), 5, 'five visible records in eight entries');
  });

  it('a snapshot taken after applying everything, installed at an earlier index, replays to the same offsets and table', () => {
    const leaderLog = fakeLog(ENTRIES.length);
    const leader = ProducerState.empty();
    for (const e of ENTRIES) leader.apply(e, leaderLog);
    // A compaction at S = 3 carries the state as it is now (upTo = 8): a fuzzy snapshot.
    const snap = JSON.parse(JSON.stringify(leader.toJSON())) as unknown;
    const S = 3;
    const follower = ProducerState.fromJSON(snap, S);
    // The follower's log restarts after S with the dense offset of S + 1, as Log.reset does.
    const followerLog = fakeLog(ENTRIES.length, { lowest: S + 1, dataOffset: leaderLog.toDataOffset(S + 1) });
    for (const e of ENTRIES.slice(S)) follower.apply(e, followerLog);
    for (let i = S + 1; i <= ENTRIES.length + 1; i++)
      assert.equal(followerLog.toDataOffset(i), leaderLog.toDataOffset(i), `dense offset at ${i}`);
    assert.deepEqual(follower.toJSON().table, leader.toJSON().table);
    // Both decide the next entries identically.
    const next = [pdata(9, 4), pdata(10, 5)];
    assert.deepEqual(
      next.map((e) => follower.apply(e, followerLog)),
      next.map((e) => leader.apply(e, leaderLog)),
    );
  });

  it('round-trips through JSON and re-hides after open what it had hidden', () => {
    const log = fakeLog(ENTRIES.length);
    const st = ProducerState.empty();
    for (const e of ENTRIES.slice(0, 5)) st.apply(e, log);
    const restored = ProducerState.fromJSON(JSON.parse(JSON.stringify(st.toJSON())));
    const reopened = fakeLog(ENTRIES.length); // the index knows record types only
    restored.rehide(reopened, 5);
    for (let i = 1; i <= 6; i++) assert.equal(reopened.toDataOffset(i), log.toDataOffset(i), `offset at ${i}`);
    // Entries above the persisted applied point are decided again, with the same result.
    for (const e of ENTRIES.slice(5)) assert.deepEqual(restored.apply(e, reopened), st.apply(e, log));
    assert.throws(() => ProducerState.fromJSON({ upTo: 1, hidden: ['x'], table: { producers: [] } }), /malformed/);
  });
});
