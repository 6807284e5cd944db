import assert from 'node:assert/strict';
import { SyncRounds } from './sync-rounds.js';

describe('sync rounds (group-commit scheduling)', () => {
  it('concurrent callers share one round; a caller with nothing new marked does not start one', async () => {
    let rounds = 0;
    const syncs = new SyncRounds(
      async () => {
        rounds++;
        return 1;
      },
      () => {},
    );
    for (let i = 0; i < 10; i++) syncs.mark();
    await Promise.all(Array.from({ length: 10 }, () => syncs.untilDurable()));
    assert.equal(rounds, 1);
    await syncs.untilDurable();
    assert.equal(rounds, 1, 'already durable');
    assert.equal(syncs.stats.rounds, 1);
  });

  it('after a failed round every later call fails with that error (no retried fsync)', async () => {
    let calls = 0;
    let afterRound = 0;
    const syncs = new SyncRounds(
      () => {
        calls++;
        return Promise.reject(new Error('EIO: fdatasync failed'));
      },
      () => afterRound++,
    );
    syncs.mark();
    await assert.rejects(syncs.untilDurable(), /EIO/);
    syncs.mark();
    await assert.rejects(syncs.untilDurable(), /EIO/);
    assert.equal(calls, 1, 'the failed fsync is not retried');
    assert.equal(afterRound, 1);
    assert.match(syncs.failed?.message ?? '', /EIO/);
  });

  it('with immediate the round starts before the call returns (a lone appender waits no event-loop turn)', async () => {
    // GIVEN a change marked and no round running
    const started: string[] = [];
    const syncs = new SyncRounds(
      async () => {
        started.push('round');
        return 1;
      },
      () => {},
    );
    syncs.mark();

    // WHEN a caller asks with immediate, THEN the round (its fdatasync) has started synchronously
    const durable = syncs.untilDurable(true);
    assert.deepEqual(started, ['round']);
    await durable;

    // and without it the round waits for the next turn, so that concurrent appenders join it
    syncs.mark();
    const later = syncs.untilDurable();
    assert.deepEqual(started, ['round'], 'no round yet: it starts on the next turn');
    await later;
    assert.deepEqual(started, ['round', 'round']);
  });
});
