import assert from 'node:assert/strict';
import { appendLimits } from './append-limits.js';
import { defaultRaftConfig, raftConfig, raftConfigPresets, validateRaftConfig } from './config.js';
import { RaftConfigError } from './errors.js';
import { nodeId } from './types.js';

const id = nodeId('n1');

describe('raft config', () => {
  it('accepts the defaults and every preset', () => {
    for (const p of Object.keys(raftConfigPresets) as (keyof typeof raftConfigPresets)[]) {
      assert.equal(raftConfig(id, {}, p).id, id);
    }
    assert.equal(raftConfig(id).electionTicks, defaultRaftConfig.electionTicks);
  });

  it('rejects an election timeout not above the heartbeat interval, naming the field', () => {
    assert.throws(
      () => raftConfig(id, { electionTicks: 2, heartbeatTicks: 2 }),
      (e: unknown) => e instanceof RaftConfigError && e.field === 'electionTicks' && e.code === 'RAFT_CONFIG_INVALID',
    );
  });

  it('rejects non-positive and non-integer limits', () => {
    assert.throws(() => raftConfig(id, { maxInflightMsgs: 0 }), /maxInflightMsgs must be a positive integer/);
    assert.throws(() => raftConfig(id, { maxEntryBatchBytes: 1.5 }), /maxEntryBatchBytes/);
    assert.throws(() => raftConfig(id, { maxInflightBytes: -1 }), /maxInflightBytes/);
  });

  it('rejects an in-flight byte window smaller than one batch', () => {
    assert.throws(
      () => raftConfig(id, { maxInflightBytes: 10, maxEntryBatchBytes: 100 }),
      /at least maxEntryBatchBytes/,
    );
  });

  it("refuses batch limits above the receiver's frame check (one shared limit, core/append-limits.ts)", () => {
    assert.equal(raftConfig(id).maxEntryBatchCount, appendLimits.maxEntries);
    assert.throws(
      () => raftConfig(id, { maxEntryBatchCount: appendLimits.maxEntries + 1 }),
      /maxEntryBatchCount must be at most 10000/,
    );
    assert.throws(
      () => raftConfig(id, { maxEntryBatchBytes: appendLimits.maxPayloadBytes + 1, maxInflightBytes: 0 }),
      /maxEntryBatchBytes must be at most/,
    );
    assert.throws(
      () => raftConfig(id, { maxProposalBytes: appendLimits.maxPayloadBytes + 1 }),
      /maxProposalBytes must be at most/,
    );
  });

  it('rejects an empty id', () => {
    assert.throws(
      () => validateRaftConfig({ ...defaultRaftConfig, id: '' as typeof id }),
      /id must be a non-empty string/,
    );
  });
});
