import assert from 'node:assert/strict';
import type { AdminMember } from './admin.js';
import { decideScale, type ScaleInputs } from './scale.js';

const voter = (i: number, isLeader = false): AdminMember => ({
  id: `demo-${i}`,
  rpcAddr: '',
  role: 'voter',
  isLeader,
  lag: 0,
});
const base: ScaleInputs = {
  desired: 2,
  current: 3,
  readyPods: 3,
  members: undefined,
  podName: (i) => `demo-${i}`,
  bootstrapped: true,
  isReady: () => true,
};

describe('scale decisions', () => {
  it('a cluster that never bootstrapped scales straight to the desired size, both ways', () => {
    assert.deepEqual(decideScale({ ...base, desired: 1, readyPods: 0, bootstrapped: false }), {
      kind: 'down',
      replicas: 1,
    });
    assert.deepEqual(decideScale({ ...base, desired: 5, readyPods: 0, bootstrapped: false }), {
      kind: 'up',
      replicas: 5,
    });
  });

  it('a formed cluster without the Admin service waits, unless the blocked step is forced by pod name', () => {
    assert.equal(decideScale(base).kind, 'wait');
    assert.equal(
      decideScale({ ...base, override: { forceScaleDown: 'demo-1' } }).kind,
      'wait',
      'a stale or wrong pod name forces nothing',
    );
    assert.deepEqual(decideScale({ ...base, override: { forceScaleDown: 'demo-2' } }), {
      kind: 'force-down',
      replicas: 2,
      member: 'demo-2',
      quorumLost: false,
    });
  });

  it('without a Raft leader the removal waits, and can be forced too', () => {
    const members = [voter(0), voter(1), voter(2)];
    assert.match(
      (decideScale({ ...base, members }) as { reason: string }).reason,
      /waits for a Raft leader to remove demo-2/,
    );
    assert.equal(decideScale({ ...base, members, override: { forceScaleDown: 'demo-2' } }).kind, 'force-down');
    assert.deepEqual(decideScale({ ...base, members: [voter(0, true), voter(1), voter(2)] }), {
      kind: 'remove-member',
      replicas: 3,
      member: 'demo-2',
    });
  });

  it('a forced step that would leave fewer ready members than a quorum is refused unless quorum loss is allowed', () => {
    const lonely = { ...base, readyPods: 2, isReady: (p: string) => p !== 'demo-1' }; // demo-0 and demo-2 ready
    const refused = decideScale({ ...lonely, override: { forceScaleDown: 'demo-2' } });
    assert.equal(refused.kind, 'wait');
    assert.match(
      (refused as { reason: string }).reason,
      /refused: 1 ready member\(s\) would remain, fewer than the quorum of 2/,
    );
    assert.deepEqual(decideScale({ ...lonely, override: { forceScaleDown: 'demo-2', allowQuorumLoss: true } }), {
      kind: 'force-down',
      replicas: 2,
      member: 'demo-2',
      quorumLost: true,
    });
  });
});
