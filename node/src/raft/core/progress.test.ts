import assert from 'node:assert/strict';
import {
  LOST_AFTER_HEARTBEATS,
  becomeReplicate,
  newProgress,
  noteAppendAck,
  noteHeartbeatAck,
  sentEntries,
} from './progress.js';
import { logIndex } from './types.js';

describe('raft progress: resends after a lost or refused append (issue 12)', () => {
  it('a heartbeat ack while a probe is unanswered resends it half as big, never full-size again', () => {
    const p = newProgress(logIndex(1), 4, 1 << 20);
    sentEntries(p, logIndex(10_000), 10_000, 320_000);
    assert.equal(p.probeSent, true);
    assert.equal(noteHeartbeatAck(p), true, 'the caller resends');
    assert.equal(p.batchShift, 1, 'at half the size');
    sentEntries(p, logIndex(5_000), 5_000, 160_000);
    assert.equal(noteHeartbeatAck(p), true);
    assert.equal(p.batchShift, 2, 'each unanswered resend halves again');
  });

  it('a heartbeat ack with nothing outstanding triggers no resend and keeps the batch size', () => {
    const p = newProgress(logIndex(1), 4, 1 << 20);
    assert.equal(noteHeartbeatAck(p), false);
    assert.equal(p.batchShift, 0);
  });

  it('a pipelined window counts as lost only after several heartbeat acks without an append ack, then probes smaller', () => {
    const p = newProgress(logIndex(1), 4, 1 << 20);
    becomeReplicate(p);
    sentEntries(p, logIndex(100), 100, 3_200);
    for (let i = 1; i < LOST_AFTER_HEARTBEATS; i++)
      assert.equal(noteHeartbeatAck(p), false, `ack ${i}: the append may still be in flight`);
    assert.equal(noteHeartbeatAck(p), true);
    assert.equal(p.state, 'probe');
    assert.equal(p.inflights.bytes, 0, 'the lost window no longer counts');
    assert.equal(p.next, 1, 'resend from match + 1');
    assert.equal(p.batchShift, 1);
  });

  it('any append response resets the loss count; an accepted one grows batches back', () => {
    const p = newProgress(logIndex(1), 4, 1 << 20);
    becomeReplicate(p);
    p.batchShift = 3;
    sentEntries(p, logIndex(100), 100, 3_200);
    noteHeartbeatAck(p);
    noteAppendAck(p, false);
    assert.equal(p.heartbeatsWithoutAppendAck, 0);
    assert.equal(p.batchShift, 3, 'a rejection (log mismatch) says nothing about size');
    noteAppendAck(p, true);
    assert.equal(p.batchShift, 2);
  });
});
