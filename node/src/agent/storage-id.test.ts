import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MemberInfo } from '../gossip/index.js';
import { WIRE_VERSION } from '../raft/index.js';
import { agentTags, peerOf } from './peers.js';
import { MemberStorageIds, openStorageId, storageHeard } from './storage-id.js';

describe('storage id: every data directory has its own identity', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'commitlog-storage-id-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('is created once and read back unchanged; a wiped directory gets a new one', async () => {
    const first = await openStorageId(dir);
    assert.equal(first.created, true);
    assert.match(first.id, /^[0-9a-f]{32}$/);
    assert.deepEqual(await openStorageId(dir), { id: first.id, created: false });
    rmSync(dir, { recursive: true, force: true });
    const again = mkdtempSync(join(tmpdir(), 'commitlog-storage-id-'));
    try {
      const wiped = await openStorageId(again);
      assert.equal(wiped.created, true);
      assert.notEqual(wiped.id, first.id);
    } finally {
      rmSync(again, { recursive: true, force: true });
    }
  });

  it('refuses a malformed storage id file instead of silently taking a new identity', async () => {
    writeFileSync(join(dir, 'storage-id'), 'garbage\n');
    await assert.rejects(openStorageId(dir), /does not hold a storage id/);
  });

  it("the members' recorded storage ids survive a restart; members that left are forgotten", async () => {
    const ids = MemberStorageIds.open(dir);
    await ids.set('a', 'sa');
    await ids.set('b', 'sb');
    await ids.retain(new Set(['a']));
    const reopened = MemberStorageIds.open(dir);
    assert.equal(reopened.get('a'), 'sa');
    assert.equal(reopened.get('b'), undefined);
  });
});

describe('storage id on the Raft transport: who is heard (issue 12)', () => {
  const A = 'a'.repeat(32);
  const B = 'b'.repeat(32);

  it('a sender with the recorded storage id is heard; one with another storage id (wiped) is not', () => {
    assert.equal(storageHeard({ recorded: A, hello: A, sendsStorage: true }), true);
    assert.equal(storageHeard({ recorded: A, hello: B, sendsStorage: true }), false);
  });

  it('a sender with nothing recorded for it (a brand-new member) is heard, whatever it carries', () => {
    assert.equal(storageHeard({ recorded: undefined, hello: B, sendsStorage: true }), true);
    assert.equal(storageHeard({ recorded: undefined, hello: undefined, sendsStorage: false }), true);
  });

  it('a v1 hello (no storage id) is heard from a node older than wire v2, not from one that speaks v2', () => {
    assert.equal(storageHeard({ recorded: A, hello: undefined, sendsStorage: false }), true, 'rolling upgrade');
    assert.equal(storageHeard({ recorded: A, hello: undefined, sendsStorage: true }), false, 'it could have said');
  });

  it('the gossip tag `wire` advertises the hello version a node accepts; absent or malformed means v1', () => {
    const member = (tags: Record<string, string>): MemberInfo =>
      ({ name: 'n1', addr: '127.0.0.1', port: 1, state: 'alive', incarnation: 1, tags }) as unknown as MemberInfo;
    const base = { rpcAddr: 'n1:8400', raftId: 'n1', clusterId: 'c', role: 'voter', boot: 'x', storage: A };
    assert.equal(peerOf(member(agentTags({ ...base, wire: WIRE_VERSION })), 'c')?.wire, WIRE_VERSION);
    assert.equal(peerOf(member(agentTags(base)), 'c')?.wire, undefined);
    assert.equal(peerOf(member({ ...agentTags(base), wire: 'v2' }), 'c')?.wire, undefined);
  });
});
