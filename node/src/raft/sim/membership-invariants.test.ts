import assert from 'node:assert/strict';
import { encodeConfEntry } from '../core/conf-codec.js';
import type { RawNode } from '../core/raw-node.js';
import { logIndex, nodeId, term, type ConfState, type Entry, type Ready } from '../core/types.js';
import { MembershipChecker } from './membership-invariants.js';
import type { SimMember } from './sim-member.js';

// The configuration-in-force check of membership-invariants.ts on a node whose only
// configuration entry was cut by a conflicting append: the configuration in force must go
// back to the bootstrap one, already at the Ready that carries the conflicting entry.

const voters = ['n1', 'n2', 'n3'].map(nodeId);
const bootstrap: ConfState = { voters, learners: [] };
const withLearner: ConfState = { voters, learners: [nodeId('n4')] };

const confEntry: Entry = {
  index: logIndex(1),
  term: term(1),
  type: 'config',
  data: encodeConfEntry({ change: { type: 'addLearner', node: nodeId('n4') }, conf: withLearner }),
};
const noop: Entry = { index: logIndex(1), term: term(2), type: 'noop', data: new Uint8Array(0) };

/** A follower n1 whose core says `active` is in force and whose log holds `log` (index 1 only). */
function follower(active: ConfState, log: () => Entry | undefined): SimMember {
  const raw = {
    status: () => ({
      role: 'follower',
      term: 2,
      commit: 0,
      lastIndex: log() === undefined ? 0 : 1,
      activeConf: active,
    }),
    termAt: (i: number) => (i === 1 ? log()?.term : i === 0 ? 0 : undefined),
    hasReady: () => false,
  } as unknown as RawNode;
  return {
    id: nodeId('n1'),
    raw,
    pending: null,
    storage: { snapshot: () => ({ index: logIndex(0), term: term(0), confState: bootstrap, size: 0 }) },
  } as unknown as SimMember;
}

const readyWith = (entries: Entry[]): Ready =>
  ({
    entries,
    snapshotChunks: [],
    committedEntries: [],
    messages: [],
    earlyMessages: [],
    readStates: [],
    mustSync: true,
  }) as Ready;

describe('membership invariants: the configuration in force', () => {
  it('is checked at the Ready that truncates a configuration entry, against the bootstrap configuration', () => {
    // GIVEN n1 wrote its only configuration entry (1/1: add learner n4)
    const chk = new MembershipChecker();
    let inLog: Entry | undefined = confEntry;
    const wrong = follower(withLearner, () => inLog);
    chk.writing(wrong, [confEntry], () => undefined);
    // WHEN a new leader's entry 1/2 replaces it and the core keeps the truncated configuration in force
    inLog = noop;
    // THEN the Ready that carries 1/2 is refused: nothing is left in the log but the bootstrap configuration
    assert.throws(
      () => chk.ready(wrong, readyWith([noop])),
      /configuration in force: n1 has voters \(n1 n2 n3\) learners \(n4\) in force, but the latest configuration in its log \(none: its bootstrap configuration\) is voters \(n1 n2 n3\) learners \(\)/,
    );
    // AND the same check after the step, once the log is written
    assert.throws(() => chk.step([wrong], 0), /configuration in force: n1 has .* learners \(n4\) in force/);
  });

  it('accepts a core that went back to the bootstrap configuration', () => {
    const chk = new MembershipChecker();
    let inLog: Entry | undefined = confEntry;
    chk.writing(
      follower(withLearner, () => inLog),
      [confEntry],
      () => undefined,
    );
    inLog = noop;
    const right = follower(bootstrap, () => inLog);
    chk.ready(right, readyWith([noop]));
    chk.writing(right, [noop], () => undefined);
    chk.step([right], 0);
  });

  it('compares a Ready that brings a configuration entry with that entry', () => {
    const chk = new MembershipChecker();
    const stale = follower(bootstrap, () => confEntry);
    assert.throws(
      () => chk.ready(stale, readyWith([confEntry])),
      /latest configuration in its log \(1\/1\) is voters \(n1 n2 n3\) learners \(n4\)/,
    );
    chk.ready(
      follower(withLearner, () => confEntry),
      readyWith([confEntry]),
    );
  });
});
