import assert from 'node:assert/strict';
import { Store } from '../../log/store.js';
import { TermRuns } from '../../log/term-runs.js';
import { RaftLog } from '../core/raft-log.js';
import type { Message } from '../core/types.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runScenario } from './scenario.js';
import { SimDiskNode } from './sim-disk-node.js';
import { simulate } from './simulate.js';

// Mutation tests: the simulator must notice real consensus bugs, not only client-side ones.
// Each test breaks one rule for the duration of the test (restored in `finally`) and
// requires an invariant violation within a bounded number of seeds.

async function firstFailure(seeds: number): Promise<string | null> {
  for (let seed = 1; seed <= seeds; seed++) {
    const r = await simulate({ seed, duration: 2000 });
    if (!r.ok) return r.error;
  }
  return null;
}

describe('simulator catches broken cores (mutation tests)', function () {
  this.timeout(60_000);

  it('votes granted without the up-to-date check (§5.4.1) break leader completeness', async () => {
    const original = RaftLog.prototype.isUpToDate;
    RaftLog.prototype.isUpToDate = () => true;
    try {
      const err = await firstFailure(20);
      assert.ok(err !== null, 'the broken vote rule went unnoticed for 20 seeds');
      assert.match(err, /leader completeness|state machine safety|acknowledged record lost|log matching/);
    } finally {
      RaftLog.prototype.isUpToDate = original;
    }
  });

  it('committing an earlier-term entry by counting its replicas (the Figure 8 bug) is caught before s5 could lead without the committed 2/2', () => {
    const original = RaftLog.prototype.maybeCommit;
    RaftLog.prototype.maybeCommit = function (this: RaftLog, i) {
      if (i <= this.committed) return false;
      this.commitTo(i); // BROKEN ON PURPOSE: no "current term" check (§5.4.2)
      return true;
    };
    try {
      const script = readFileSync(join(import.meta.dirname, 'testdata', 'figure8.txt'), 'utf8');
      assert.throws(
        () => runScenario(script),
        // The rule check fires when s1 commits 2/2 in term 4, before s5 could lead without it.
        /leader commit rule: s1 leading term 4 advanced its commit index to 2\/2|leader completeness: s5 leads term 5 without committed entry 2\/2|state machine safety/,
      );
    } finally {
      RaftLog.prototype.maybeCommit = original;
    }
  });

  it('acknowledging appends before they are durable loses acknowledged records across power cuts', async () => {
    // On the disk backend a node that just answered is sometimes power-cut at once: harmless
    // when the answer was durable, fatal for a node that answers before its fsync. (On the
    // MemoryStorage backend, without those aimed cuts, the first kill was at seed 64.)
    const original = SimDiskNode.prototype.takeReady;
    SimDiskNode.prototype.takeReady = function (this: SimDiskNode): boolean {
      const took = original.call(this);
      const rd = this.pending;
      if (took && rd !== null) {
        // BROKEN ON PURPOSE: send the messages that must wait for persistence right away.
        const hooks = (this as unknown as { hooks: { send(m: Message): void } }).hooks;
        for (const m of rd.messages) hooks.send(m);
        this.pending = { ...rd, messages: [] };
      }
      return took;
    };
    try {
      let err: string | null = null;
      for (let seed = 1; seed <= 15 && err === null; seed++) {
        const r = await simulate({ seed, duration: 2000, powerCuts: true });
        if (!r.ok) err = r.error;
      }
      assert.ok(err !== null, 'sending before persisting went unnoticed for 15 seeds with power cuts');
      assert.match(
        err,
        /answered before durable|acknowledged record lost|state machine safety|leader completeness|election safety|log matching|commit without a durable quorum|durable state lost/,
      );
    } finally {
      SimDiskNode.prototype.takeReady = original;
    }
  });

  it("a log that keeps a truncated suffix's term runs is caught once leader churn cuts a follower's last run and part of the one before", async function () {
    // The bug shows only when a truncation starts below the first index of the log's last term
    // run: a leader cut off with an uncommitted tail, back to lead a second term on top of it,
    // then healed into a majority that moved on from inside the first (leader-churn.ts).
    this.timeout(300_000); // a hang guard: about 12 s of CPU, stretched on a loaded machine
    const original = TermRuns.prototype.truncateFrom;
    TermRuns.prototype.truncateFrom = () => {}; // BROKEN ON PURPOSE: cut runs stay
    try {
      let err: string | null = null;
      for (let seed = 1; seed <= 30 && err === null; seed++) {
        const r = await simulate({ seed, duration: 2000, powerCuts: true });
        if (!r.ok) err = r.error;
      }
      assert.ok(err !== null, 'stale term runs went unnoticed for 30 seeds with leader churn');
      assert.match(err, /log matching/);
    } finally {
      TermRuns.prototype.truncateFrom = original;
    }
  });

  it('a log whose Store.sync skips its fdatasync loses synced entries to the power-cut simulator', async () => {
    const original = Store.prototype.sync;
    Store.prototype.sync = async function (this: Store): Promise<void> {
      this.flush(); // BROKEN ON PURPOSE: written to the page cache, never to the platter
      await Promise.resolve();
    };
    try {
      let err: string | null = null;
      for (let seed = 1; seed <= 5 && err === null; seed++) {
        const r = await simulate({ seed, duration: 2000, powerCuts: true });
        if (!r.ok) err = r.error;
      }
      assert.ok(err !== null, 'a Store.sync without fdatasync went unnoticed for 5 seeds with power cuts');
      assert.match(
        err,
        /durable state lost|acknowledged record lost|state machine safety|leader completeness|log matching/,
      );
    } finally {
      Store.prototype.sync = original;
    }
  });
});
