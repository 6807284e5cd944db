/**
 * Members' storage ids in the replicated configuration (issue 12, `ConfState.storage`): the
 * pure rules — an `addLearner` sets the member's id, `promote` keeps it, `remove` drops it —
 * and the `config` entry encoding, which old entries (without ids) still decode with.
 */
import assert from 'node:assert/strict';
import { decodeConfEntry, encodeConfEntry } from './conf-codec.js';
import { RaftInvariantError } from './errors.js';
import { applyConfChange } from './tracker.js';
import { type ConfState, nodeId } from './types.js';

const [a, b, c] = ['a', 'b', 'c'].map(nodeId) as [
  ReturnType<typeof nodeId>,
  ReturnType<typeof nodeId>,
  ReturnType<typeof nodeId>,
];
const enc = new TextEncoder();

describe("core: members' storage ids follow the configuration changes (issue 12)", () => {
  const start: ConfState = { voters: [a, b], learners: [] };

  it('GIVEN addLearner with a storage id THEN the configuration records it; promote keeps it; remove drops it', () => {
    const added = applyConfChange(start, { type: 'addLearner', node: c, storage: 'sc' });
    assert.deepEqual(added, { voters: [a, b], learners: [c], storage: { c: 'sc' } });
    const promoted = applyConfChange(added, { type: 'promote', node: c });
    assert.deepEqual(promoted, { voters: [a, b, c], learners: [], storage: { c: 'sc' } });
    assert.deepEqual(applyConfChange(promoted, { type: 'remove', node: c }), { voters: [a, b], learners: [] });
  });

  it('GIVEN a member replaced (removed, added again with a new id) THEN only the new id is recorded, keys sorted', () => {
    let cs = applyConfChange(start, { type: 'addLearner', node: c, storage: 'old' });
    cs = applyConfChange(cs, { type: 'addLearner', node: nodeId('0'), storage: 'z' });
    cs = applyConfChange(cs, { type: 'remove', node: c });
    cs = applyConfChange(cs, { type: 'addLearner', node: c, storage: 'new' });
    assert.deepEqual(cs.storage, { '0': 'z', c: 'new' });
    assert.deepEqual(Object.keys(cs.storage ?? {}), ['0', 'c']);
  });

  it('GIVEN addLearner without a storage id (an older leader) THEN the member has none, and the others keep theirs', () => {
    const cs = applyConfChange({ voters: [a, b], learners: [], storage: { a: 'sa' } }, { type: 'addLearner', node: c });
    assert.deepEqual(cs, { voters: [a, b], learners: [c], storage: { a: 'sa' } });
  });

  it('GIVEN an invalid change THEN the configuration, ids included, is unchanged', () => {
    const cs: ConfState = { voters: [a, b], learners: [], storage: { a: 'sa' } };
    assert.equal(applyConfChange(cs, { type: 'addLearner', node: a, storage: 'other' }), cs);
  });

  describe('config entry encoding', () => {
    it('round-trips the change and the configuration with their storage ids', () => {
      const change = { type: 'addLearner', node: c, storage: 'sc' } as const;
      const conf = applyConfChange(start, change);
      assert.deepEqual(decodeConfEntry(encodeConfEntry({ change, conf })), { change, conf });
    });

    it('an entry without storage ids is byte-identical to the encoding before them', () => {
      const bytes = encodeConfEntry({
        change: { type: 'promote', node: c },
        conf: { voters: [a, b, c], learners: [] },
      });
      assert.equal(
        new TextDecoder().decode(bytes),
        '{"type":"promote","node":"c","voters":["a","b","c"],"learners":[]}',
      );
    });

    it('decodes an entry written before storage ids (none recorded)', () => {
      const old = enc.encode('{"type":"addLearner","node":"c","voters":["a","b"],"learners":["c"]}');
      assert.deepEqual(decodeConfEntry(old), {
        change: { type: 'addLearner', node: c },
        conf: { voters: [a, b], learners: [c] },
      });
    });

    it('refuses malformed storage ids: of a non-member, empty, not a string, on a change other than addLearner', () => {
      for (const text of [
        '{"type":"addLearner","node":"c","voters":["a","b"],"learners":["c"],"storageIds":{"z":"sz"}}',
        '{"type":"addLearner","node":"c","voters":["a","b"],"learners":["c"],"storageIds":{"c":""}}',
        '{"type":"addLearner","node":"c","voters":["a","b"],"learners":["c"],"storageIds":{"c":7}}',
        '{"type":"addLearner","node":"c","voters":["a","b"],"learners":["c"],"storageIds":["c"]}',
        '{"type":"addLearner","node":"c","storage":"","voters":["a","b"],"learners":["c"]}',
        '{"type":"remove","node":"c","storage":"sc","voters":["a","b"],"learners":[]}',
      ])
        assert.throws(() => decodeConfEntry(enc.encode(text)), RaftInvariantError, text);
    });
  });
});
