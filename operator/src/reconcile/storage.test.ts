import assert from 'node:assert/strict';
import { planStorage, storageProgress } from './storage.js';

describe('volume expansion plan', () => {
  it('raises smaller requests, waits on volumes still below the size, never shrinks', () => {
    const plan = planStorage(
      [
        { name: 'data-demo-0', requested: '1Gi', capacity: '1Gi' },
        { name: 'data-demo-1', requested: '2Gi', capacity: '1Gi' },
        { name: 'data-demo-2', requested: '2048Mi', capacity: '2Gi' },
        { name: 'data-demo-3', requested: '3Gi', capacity: '3Gi' },
      ],
      '2Gi',
    );
    assert.deepEqual(plan, { expand: ['data-demo-0'], resizing: ['data-demo-1'] });
    assert.equal(storageProgress(plan, '2Gi'), 'expanding volumes to 2Gi: data-demo-0, data-demo-1');
    assert.equal(
      storageProgress(planStorage([{ name: 'x', requested: '2Gi', capacity: '2Gi' }], '2Gi'), '2Gi'),
      undefined,
    );
  });
});
