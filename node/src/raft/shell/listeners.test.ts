import assert from 'node:assert/strict';
import { Listeners } from './listeners.js';

describe('raft shell: Listeners (subscriptions to one kind of node event)', () => {
  it('calls every listener in subscription order until it unsubscribes', () => {
    const l = new Listeners<number>();
    const seen: string[] = [];
    const offA = l.add((n) => seen.push(`a${n}`));
    l.add((n) => seen.push(`b${n}`));
    l.emit(1);
    offA();
    offA();
    l.emit(2);
    assert.deepEqual(seen, ['a1', 'b1', 'b2']);
  });

  it('a listener that unsubscribes itself while called is not called again', () => {
    const l = new Listeners<number>();
    const seen: number[] = [];
    const off = l.add((n) => {
      seen.push(n);
      off();
    });
    l.emit(1);
    l.emit(2);
    assert.deepEqual(seen, [1]);
  });
});
