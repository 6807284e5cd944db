import assert from 'node:assert/strict';
import { notReadyReason } from './pod-reason.js';

describe('why a pod is not ready', () => {
  it('names the scheduler, image pull and crash-loop reasons with their messages', () => {
    assert.equal(
      notReadyReason({
        phase: 'Pending',
        conditions: [
          {
            type: 'PodScheduled',
            status: 'False',
            reason: 'Unschedulable',
            message: '0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims.',
          },
        ],
      }),
      'Unschedulable: 0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims.',
    );
    const scheduled = [{ type: 'PodScheduled', status: 'True' }];
    assert.equal(
      notReadyReason({
        phase: 'Pending',
        conditions: scheduled,
        containerStatuses: [
          { name: 'node', state: { waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image "x:1"' } } },
        ],
      }),
      'ImagePullBackOff: Back-off pulling image "x:1"',
    );
    assert.equal(
      notReadyReason({
        phase: 'Running',
        conditions: scheduled,
        containerStatuses: [
          {
            name: 'node',
            state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 40s' } },
            lastState: { terminated: { message: 'ClusterIdMismatch: data dir belongs to cluster a', exitCode: 1 } },
          },
        ],
      }),
      'CrashLoopBackOff: last exit: ClusterIdMismatch: data dir belongs to cluster a (exit code 1)',
    );
  });

  it('says when a pod is not scheduled yet or only its readiness probe fails', () => {
    assert.equal(notReadyReason({ phase: 'Pending' }), 'Pending: not scheduled yet');
    assert.equal(
      notReadyReason({
        phase: 'Running',
        conditions: [
          { type: 'PodScheduled', status: 'True' },
          { type: 'Ready', status: 'False' },
        ],
        containerStatuses: [{ name: 'node', state: {} }],
      }),
      'readiness probe not passing yet',
    );
  });
});
