import assert from 'node:assert/strict';
import { parseVariant } from './variant.js';

describe('bench:cluster --variant', () => {
  it('keeps flags that carry their own "=" (the name ends at the first "=")', () => {
    assert.deepEqual(parseVariant('base=/tmp/base,--gossip-preset=local,--start-defaults=before'), {
      name: 'base',
      root: '/tmp/base',
      flags: ['--gossip-preset=local', '--start-defaults=before'],
    });
  });

  it('takes a root without flags, and refuses a missing root or a bad name', () => {
    assert.deepEqual(parseVariant('a=/x'), { name: 'a', root: '/x', flags: [] });
    assert.throws(() => parseVariant('a'), /NAME=ROOT/);
    assert.throws(() => parseVariant('1a=/x'), /NAME=ROOT/);
  });
});
