import assert from 'node:assert/strict';
import type { AdminMember } from './admin.js';
import { decideRollout, restartValue } from './rollout.js';
import type { ObservedPod } from './status.js';

const pod = (i: number, revision: string, ready = true): ObservedPod => ({
  name: `demo-${i}`,
  ready,
  internalAddress: '',
  revision,
});
const member = (i: number, isLeader = false): AdminMember => ({
  id: `demo-${i}`,
  rpcAddr: '',
  role: 'voter',
  isLeader,
  lag: 0,
});

const three = ['demo-0', 'demo-1', 'demo-2'];

describe('rolling update decisions', () => {
  it('does nothing when every pod runs the update revision', () => {
    assert.deepEqual(decideRollout([pod(0, 'b'), pod(1, 'b')], 'b', undefined, three), { kind: 'none' });
  });

  it('restarts followers first, highest ordinal first, the leader last', () => {
    const members = [member(0), member(1), member(2, true)];
    assert.deepEqual(decideRollout([pod(0, 'a'), pod(1, 'a'), pod(2, 'a')], 'b', members, three), {
      kind: 'delete',
      pod: 'demo-1',
      transferLeadershipFirst: false,
    });
    assert.deepEqual(decideRollout([pod(0, 'a'), pod(1, 'b'), pod(2, 'a')], 'b', members, three), {
      kind: 'delete',
      pod: 'demo-0',
      transferLeadershipFirst: false,
    });
    assert.deepEqual(decideRollout([pod(0, 'b'), pod(1, 'b'), pod(2, 'a')], 'b', members, three), {
      kind: 'delete',
      pod: 'demo-2',
      transferLeadershipFirst: true,
    });
  });

  it('never takes a second member down: waits while any pod is not ready', () => {
    assert.deepEqual(decideRollout([pod(0, 'a'), pod(1, 'b', false), pod(2, 'a')], 'b', undefined, three), {
      kind: 'wait',
      reason: 'rolling update waits for demo-1 to be ready',
    });
  });

  it('waits while a pod it restarted is terminating or not yet recreated (absent from the observed pods)', () => {
    // The previous pass deleted demo-2: observe() leaves terminating pods out, and until the
    // StatefulSet controller recreates it there is no pod at all. Either way it is down.
    const members = [member(0), member(1, true), member(2)];
    assert.deepEqual(decideRollout([pod(0, 'a'), pod(1, 'a')], 'b', members, three), {
      kind: 'wait',
      reason: 'rolling update waits for demo-2 to be ready',
    });
  });

  it('a manual restart value is the annotation, else what the live template carries (removing it restarts nothing)', () => {
    assert.equal(restartValue(undefined, undefined), undefined, 'never asked: no annotation in the template');
    assert.equal(restartValue('1', undefined), '1', 'the first value enters the template');
    assert.equal(restartValue('2', '1'), '2', 'a new value is a new template');
    assert.equal(restartValue(undefined, '2'), '2', 'removed: the template keeps the value acted on');
  });
});
