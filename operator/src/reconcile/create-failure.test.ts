import assert from 'node:assert/strict';
import { lastCreateFailure, type StatefulSetEventView } from './create-failure.js';

const ev = (uid: string, note: string, time: string, reason = 'FailedCreate'): StatefulSetEventView => ({
  reason,
  note,
  deprecatedLastTimestamp: time,
  regarding: { kind: 'StatefulSet', name: 'demo', uid },
});

describe('the StatefulSet controller’s FailedCreate events', () => {
  it('the newest FailedCreate of the current StatefulSet names the pod and the refusal', () => {
    const f = lastCreateFailure(
      [
        ev('u1', 'create Pod demo-0 in StatefulSet demo failed error: quota', '2026-01-01T00:00:01Z'),
        ev('u1', 'create Pod demo-1 in StatefulSet demo failed error: no PriorityClass', '2026-01-01T00:00:05Z'),
        ev('u1', 'unrelated', '2026-01-01T00:00:09Z', 'SuccessfulCreate'),
      ],
      'u1',
    );
    assert.deepEqual(f, {
      pod: 'demo-1',
      message: 'create Pod demo-1 in StatefulSet demo failed error: no PriorityClass',
    });
  });

  it('events of a deleted StatefulSet of the same name are ignored', () => {
    assert.equal(
      lastCreateFailure([ev('old', 'Create Pod demo-0 in StatefulSet demo failed', '2026-01-01T00:00:01Z')], 'new'),
      undefined,
    );
  });

  it('a message that names no pod still counts, and a long one is clipped', () => {
    const f = lastCreateFailure([ev('u', 'x'.repeat(500), '2026-01-01T00:00:01Z')], 'u');
    assert.equal(f?.pod, undefined);
    assert.equal(f?.message.length, 300);
  });
});
