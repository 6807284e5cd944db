import assert from 'node:assert/strict';
import { parseDuration } from './duration.js';

describe('spec durations (Go notation: whole hours, minutes, seconds)', () => {
  it('reads h, m and s in that order, alone or combined', () => {
    assert.equal(parseDuration('10m'), 600_000);
    assert.equal(parseDuration('1h30m'), 5_400_000);
    assert.equal(parseDuration('24h'), 86_400_000);
    assert.equal(parseDuration('1h0m45s'), 3_645_000);
    assert.equal(parseDuration('90s'), 90_000);
  });

  it('refuses what CEL duration() would read differently or not at all', () => {
    for (const s of ['', '1d', '1.5h', '30m1h', '-5m', '5', 'm', '10 m', '1h30'])
      assert.equal(parseDuration(s), undefined, s);
  });
});
