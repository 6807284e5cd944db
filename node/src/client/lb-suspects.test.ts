import assert from 'node:assert/strict';
import { Metadata, status as Status } from '@grpc/grpc-js';
import { ErrorMetadataKeys } from '../server/errors.js';
import { callVerdict, ChildSuspects } from './lb-suspects.js';

/** Trailers carrying an error code of the server's own (server/errors.ts). */
function serverTrailers(): Metadata {
  const md = new Metadata();
  md.set(ErrorMetadataKeys.code, 'not-leader');
  return md;
}

describe('grpc-js policy suspects (lb-suspects.ts): which call ends make a suspect, and how suspicion ends', () => {
  it('a timeout or a lost connection with no answer of the server is silent; OK or the server’s own error is an answer; a cancel is neither', () => {
    assert.equal(callVerdict(Status.DEADLINE_EXCEEDED, 'Deadline exceeded', new Metadata()), 'silent');
    assert.equal(callVerdict(Status.UNAVAILABLE, 'Connection dropped', new Metadata()), 'silent');
    assert.equal(callVerdict(Status.UNAVAILABLE, 'not the leader', serverTrailers()), 'answered');
    assert.equal(callVerdict(Status.OK, 'OK', new Metadata()), 'answered');
    assert.equal(callVerdict(Status.OUT_OF_RANGE, 'offset 9', serverTrailers()), 'answered');
    assert.equal(callVerdict(Status.CANCELLED, 'Cancelled on client', new Metadata()), 'neither');
  });

  it('a stream that reaches the caller’s deadline is neither (it says nothing of the server); one that loses its connection is silent', () => {
    assert.equal(callVerdict(Status.DEADLINE_EXCEEDED, 'Deadline exceeded', new Metadata(), true), 'neither');
    assert.equal(callVerdict(Status.UNAVAILABLE, 'Connection dropped', new Metadata(), true), 'silent');
    assert.equal(callVerdict(Status.OK, 'OK', new Metadata(), true), 'answered');
  });

  it('GIVEN a server marked suspect THEN it stays suspect until ttlMs after its last failure, by the injected clock', () => {
    let now = 100;
    const s = new ChildSuspects({ ttlMs: 1000, now: () => now });
    assert.equal(s.record('a', 'silent'), true);
    now = 1099;
    assert.ok(s.has('a'));
    s.mark('a'); // failed again: the expiry restarts
    now = 2098;
    assert.ok(s.has('a'));
    now = 2099;
    assert.equal(s.has('a'), false);
    assert.deepEqual(s.addrs, []);
  });

  it('GIVEN a suspect WHEN it answers a call THEN it is not suspect; a call that is neither changes nothing', () => {
    const s = new ChildSuspects({ ttlMs: 1000, now: () => 0 });
    s.mark('a');
    assert.equal(s.record('a', 'neither'), false);
    assert.ok(s.has('a'));
    assert.equal(s.record('a', 'answered'), false);
    assert.equal(s.has('a'), false);
  });

  it('GIVEN suspects WHEN a re-resolution names another leader THEN all but the old leader are cleared; a server leaving the view is forgotten', () => {
    const s = new ChildSuspects({ ttlMs: 1000, now: () => 0 });
    for (const a of ['old', 'f1', 'f2']) s.mark(a);
    s.leaderChanged('old');
    assert.deepEqual(s.addrs, ['old'], 'the followers timed out waiting for the old leader; it may still be frozen');
    s.mark('f1');
    s.retain(new Set(['f1', 'f2']));
    assert.deepEqual(s.addrs, ['f1']);
  });
});
