import assert from 'node:assert/strict';
import { openApiSchema, undescribed } from './schema.js';

describe('CommitLogCluster schema', () => {
  it('describes every field, so kubectl explain is the manual', () => {
    // metadata is the one exception: the API server refuses a description there and
    // publishes ObjectMeta's own.
    assert.deepEqual(undescribed(openApiSchema), ['.metadata']);
  });
});
