import assert from 'node:assert/strict';
import { parseQuantity, sameQuantity } from './quantity.js';

describe('quantities', () => {
  it('parses binary, decimal, milli and exponent forms', () => {
    assert.equal(parseQuantity('1Gi'), 2 ** 30);
    assert.equal(parseQuantity('500m'), 0.5);
    assert.equal(parseQuantity('2k'), 2000);
    assert.equal(parseQuantity('1e3'), 1000);
    assert.equal(parseQuantity(3), 3);
  });
  it('rejects what is not a quantity', () => {
    for (const bad of ['', 'lots', '1 GB', '1Gb', '--1']) assert.equal(parseQuantity(bad), undefined, bad);
  });
  it('treats the API server normalization as the same amount', () => {
    assert.ok(sameQuantity('0.5', '500m'));
    assert.ok(sameQuantity('1024Mi', '1Gi'));
    assert.ok(!sameQuantity('1G', '1Gi'));
  });
});
