/**
 * The catalogue of deliberate bugs for `npm run test:mutants` (mutants-cli.ts): each is a
 * one-place source edit (`find` must occur exactly once in `file`) that the randomized
 * simulator must kill with a safety invariant or the linearizability checker. A mutant that
 * only makes the node throw (a core or storage consistency error) is reported as such, not
 * as killed; one that survives every seed is reported as a survivor. `flags` are extra
 * `test:sim` flags (snapshots need the MemoryStorage backend: `--no-power-cuts`).
 */

/** One deliberate bug. */
export interface Mutant {
  readonly id: string;
  readonly area: 'core' | 'shell' | 'log';
  readonly what: string;
  readonly file: string;
  readonly find: string;
  readonly replace: string;
  readonly flags?: readonly string[];
}

const core = 'node/src/raft/core';

/** Every mutant, in the order of the kill table in docs/testing.md. */
export const mutants: readonly Mutant[] = [
  {
    id: 'vote-no-up-to-date-check',
    area: 'core',
    what: 'votes granted without the §5.4.1 up-to-date check',
    file: `${core}/raft-log.ts`,
    find: 'return lastTerm > lt || (lastTerm === lt && lastIndex >= this.lastIndex());',
    replace: 'return lt >= 0;',
  },
  {
    id: 'vote-twice-per-term',
    area: 'core',
    what: 'a node votes for anyone who asks, even after voting in the term',
    file: `${core}/election.ts`,
    find: 'const canVote =\n    r.vote === m.from ||',
    replace: 'const canVote =\n    true ||',
  },
  {
    id: 'figure8-commit-old-term',
    area: 'core',
    what: 'leader commits an earlier-term entry by counting replicas (Figure 8)',
    file: `${core}/raft-log.ts`,
    find: 'if (i > this.committed && this.term(i) === t) {',
    replace: 'if (i > this.committed && t >= 0) {',
  },
  {
    id: 'leader-counts-unwritten',
    area: 'core',
    what: 'leader counts its own entry towards commit before it is durable',
    file: `${core}/replication.ts`,
    find: '  r.log.append(full);\n  noteConfEntries(r, full);\n  return i;',
    replace:
      '  r.log.append(full);\n  noteConfEntries(r, full);\n  const selfPr = r.tracker.progress.get(r.id);\n  if (selfPr !== undefined) selfPr.match = i;\n  return i;',
  },
  {
    id: 'accept-stale-term-append',
    area: 'core',
    what: 'appends from a stale term are accepted',
    file: `${core}/step.ts`,
    find: '  } else if (m.term < r.term) {',
    replace: "  } else if (m.term < r.term && m.type !== 'append') {",
  },
  {
    id: 'quorum-off-by-one',
    area: 'core',
    what: 'a quorum is half the voters, not a majority',
    file: `${core}/tracker.ts`,
    find: 'return Math.floor(t.voters.size / 2) + 1;',
    replace: 'return Math.max(1, Math.floor(t.voters.size / 2));',
  },
  {
    id: 'no-conflict-truncation',
    area: 'core',
    what: 'a follower keeps conflicting entries (only extends its log)',
    file: `${core}/raft-log.ts`,
    find: 'for (const e of ents) if (!this.matchTerm(e.index, e.term)) return e.index;',
    replace: 'for (const e of ents) if (e.index > this.lastIndex()) return e.index;',
  },
  {
    id: 'no-consistency-check',
    area: 'core',
    what: 'AppendEntries consistency check only looks at the length',
    file: `${core}/raft-log.ts`,
    find: 'if (!this.matchTerm(prevIndex, prevTerm)) return undefined;',
    replace: 'if (prevIndex > this.lastIndex()) return undefined;',
  },
  {
    id: 'follower-commit-beyond-new',
    area: 'core',
    what: 'a follower commits past the last entry the leader vouched for',
    file: `${core}/raft-log.ts`,
    find: 'this.commitTo(logIndex(Math.min(commit, lastNew)));',
    replace: 'this.commitTo(logIndex(Math.min(commit, this.lastIndex())));',
  },
  {
    id: 'heartbeat-commit-unclamped',
    area: 'core',
    what: "heartbeats carry the leader's commit index unclamped by the follower's match",
    file: `${core}/replication.ts`,
    find: 'const commit = logIndex(Math.min(pr.match, r.log.committed));',
    replace: 'const commit = logIndex(r.log.committed + 0 * pr.match);',
  },
  {
    id: 'vote-before-durable-core',
    area: 'core',
    what: 'vote grants go out with the early messages, before term and vote are durable',
    file: `${core}/state.ts`,
    find: "  const early =\n    r.role === 'leader' &&",
    replace: "  const early =\n    (full.type === 'voteResp' && full.granted) ||\n    r.role === 'leader' &&",
  },
  {
    id: 'ack-before-durable-core',
    area: 'core',
    what: 'append acknowledgements go out before the entries are durable',
    file: `${core}/state.ts`,
    find: "  const early =\n    r.role === 'leader' &&",
    replace: "  const early =\n    full.type === 'appendResp' ||\n    r.role === 'leader' &&",
  },
  {
    id: 'two-conf-changes-in-flight',
    area: 'core',
    what: 'a new configuration change is accepted while one is uncommitted',
    file: `${core}/membership.ts`,
    find: 'if (r.uncommittedConf.length > 0 || r.pendingConfIndex > r.log.committed) {',
    replace: 'if (r.uncommittedConf.length > 9) {',
  },
  {
    id: 'conf-change-before-term-commit',
    area: 'core',
    what: 'a configuration change before the leader committed an entry of its term',
    file: `${core}/membership.ts`,
    find: "  if (!committedInTerm(r)) {\n    return { ok: false, reason: 'not-ready'",
    replace: "  if (!committedInTerm(r) && r.term < 0) {\n    return { ok: false, reason: 'not-ready'",
  },
  {
    id: 'removed-leader-stays',
    area: 'core',
    what: 'a leader whose removal committed keeps leading',
    file: `${core}/membership.ts`,
    find: "if (r.role === 'leader' && !r.tracker.voters.has(r.id)) {",
    replace: "if (r.role === 'leader' && !r.tracker.voters.has(r.id) && r.term < 0) {",
  },
  {
    id: 'nonpromotable-clock-reset',
    area: 'core',
    what: 'a node that cannot campaign resets its election clock at each timeout, so its leader lease never ends (fixed in 6705ab8)',
    file: `${core}/tick.ts`,
    find: '  if (!promotable(r)) return;\n',
    replace: '',
  },
  {
    id: 'conf-at-commit-only',
    area: 'core',
    what: 'the configuration in force is the committed one (the issue-13 stale-configuration bug)',
    file: `${core}/conf-log.ts`,
    find: 'return r.uncommittedConf[r.uncommittedConf.length - 1]?.conf ?? r.committedConf;',
    replace: 'return r.committedConf;',
  },
  {
    id: 'truncated-conf-not-reverted',
    area: 'core',
    what: 'a truncated configuration entry stays in force',
    file: `${core}/conf-log.ts`,
    find: '  r.uncommittedConf = r.uncommittedConf.filter((c) => r.log.term(c.index) === c.term);\n',
    replace: '',
  },
  {
    id: 'read-index-no-heartbeat',
    area: 'core',
    what: 'ReadIndex answered without a heartbeat quorum',
    file: `${core}/read-index.ts`,
    find: 'if (r.tracker.voters.size === 1 && r.tracker.voters.has(r.id)) {',
    replace: 'if (r.tracker.voters.size >= 1) {',
  },
  {
    id: 'read-index-before-term-commit',
    area: 'core',
    what: 'ReadIndex served before the leader committed an entry of its term',
    file: `${core}/read-index.ts`,
    find: '  if (!committedInTerm(r)) {\n    r.readsAwaitingCommit',
    replace: '  if (!committedInTerm(r) && r.term < 0) {\n    r.readsAwaitingCommit',
  },
  {
    id: 'snapshot-conf-not-applied',
    area: 'core',
    what: 'installing a snapshot does not apply its configuration',
    file: `${core}/snapshot.ts`,
    find: '  r.committedConf = meta.confState;\n  refreshConf(r);',
    replace: '',
    flags: ['--no-power-cuts'],
  },
  {
    id: 'snapshot-keeps-stale-suffix',
    area: 'core',
    what: 'storage keeps its old entries after a snapshot install',
    file: `${core}/memory-storage.ts`,
    find: "    this.ents = [{ index: meta.index, term: meta.term, type: 'noop', data: new Uint8Array(0) }];",
    replace:
      "    this.ents = [{ index: meta.index, term: meta.term, type: 'noop', data: new Uint8Array(0) }, ...this.ents.filter((e) => e.index > meta.index)];",
    flags: ['--no-power-cuts'],
  },
  {
    id: 'store-sync-no-fdatasync',
    area: 'log',
    what: 'Store.sync returns without fdatasync',
    file: 'node/src/log/store.ts',
    find: '    await this.fs.fdatasync(this.fd);\n  }',
    replace: '  }',
  },
  {
    id: 'roll-without-sealed-sync',
    area: 'log',
    what: 'a roll creates the next segment before the sealed one is durable',
    file: 'node/src/log/log-structure.ts',
    find: '  old.syncStoreNow();\n',
    replace: '',
  },
  {
    id: 'truncate-no-dir-sync',
    area: 'log',
    what: 'truncateSuffix does not make the deletion of later segments durable before the cut (a cut resurrects them)',
    file: 'node/src/log/log-structure.ts',
    find: '  if (removed) {\n    f.fs.fsyncDirSync(f.dir);\n    f.dirDirty = false;\n  }\n',
    replace: '',
  },
  {
    id: 'truncate-no-sync',
    area: 'log',
    what: 'truncateSuffix leaves the cut to the next round (new frames can land inside old ones)',
    file: 'node/src/log/log-structure.ts',
    find: '    active.syncNow();\n',
    replace: '',
  },
  {
    id: 'small-file-no-fdatasync',
    area: 'log',
    what: 'writeFileDurable renames the temp file without fdatasync',
    file: 'node/src/log/durable-file.ts',
    find: '    await fs.fdatasync(fd);\n',
    replace: '',
  },
  {
    id: 'vote-flush-deferred',
    area: 'shell',
    what: 'a term/vote change does not force the stable-state write before sending',
    file: 'node/src/raft/shell/persist-ready.ts',
    find: '      tv !== this.flushedTermVote ||\n      rd.confState !== undefined ||',
    replace: '      rd.confState !== undefined ||',
  },
  {
    id: 'shell-append-no-truncate',
    area: 'shell',
    what: 'LogStorage.append does not cut a conflicting suffix',
    file: 'node/src/raft/shell/log-storage.ts',
    find: '    if (first.index < next) this.log.truncateSuffix(first.index);\n',
    replace: '    if (first.index < next) ents = ents.slice(next - first.index);\n',
  },
  // Added after the catalogue's first measurement (issue 13: mutants outside the catalogue).
  {
    id: 'recovery-keeps-torn-tail',
    area: 'log',
    what: 'recovery notes a torn tail of the last segment but neither cuts it nor appends before it',
    file: 'node/src/log/segment.ts',
    find: '          fs.truncate(store.fd, scan.validEnd);\n          storeEnd = scan.validEnd;\n',
    replace: '',
  },
  {
    id: 'truncate-keeps-term-runs',
    area: 'log',
    what: "truncateSuffix leaves the cut entries' terms in the in-memory term map",
    file: 'node/src/log/log-structure.ts',
    find: '  f.terms.truncateFrom(from);\n',
    replace: '',
  },
  {
    id: 'apply-uncommitted',
    area: 'core',
    what: 'entries are handed out for applying up to the last index, not the commit index',
    file: `${core}/raft-log.ts`,
    find: 'return this.slice(lo, logIndex(this.committed + 1), maxBytes);',
    replace: 'return this.slice(lo, logIndex(Math.max(this.committed, this.lastIndex()) + 1), maxBytes);',
  },
  {
    id: 'stable-before-log-sync',
    area: 'shell',
    what: 'the stable state (commit index) is written before the log is fsynced',
    file: 'node/src/raft/shell/persist-ready.ts',
    find: '  if (rd.entries.length > 0 || rd.mustSync) await storage.sync();\n  await flusher.maybeFlush(storage, rd);\n',
    replace:
      '  await flusher.maybeFlush(storage, rd);\n  if (rd.entries.length > 0 || rd.mustSync) await storage.sync();\n',
  },
  // Seventh round (issue 13 item 4: areas the catalogue did not cover yet).
  {
    id: 'learner-counted-in-quorum',
    area: 'core',
    what: "a learner's match index counts towards the commit quorum",
    file: `${core}/tracker.ts`,
    find: 'const vals = [...t.voters].map(matchOf).sort((a, b) => b - a);',
    replace: 'const vals = [...t.voters, ...t.learners].map(matchOf).sort((a, b) => b - a);',
  },
  {
    id: 'stale-vote-answer-counted',
    area: 'core',
    what: "a candidate counts vote answers of an earlier term (the answer's term is not checked)",
    file: `${core}/step.ts`,
    find: '  } else if (m.term < r.term) {\n    if ((r.cfg.checkQuorum',
    replace: "  } else if (m.term < r.term && m.type !== 'voteResp') {\n    if ((r.cfg.checkQuorum",
  },
  {
    id: 'candidate-vote-not-recorded',
    area: 'core',
    what: 'a candidate votes for itself in the count but does not record the vote (it may vote again in its term)',
    file: `${core}/roles.ts`,
    find: "  r.role = 'candidate';\n  r.vote = r.id;\n",
    replace: "  r.role = 'candidate';\n",
  },
  {
    id: 'skipped-append-acks-its-end',
    area: 'core',
    what: "a follower that skips an append starting below its commit acknowledges the append's last entry, not its commit index",
    file: `${core}/replication.ts`,
    find: '    reply(true, r.log.committed);\n',
    replace: '    reply(true, m.prevIndex + m.entries.length);\n',
  },
  {
    id: 'read-ack-any-round',
    area: 'core',
    what: 'any heartbeat answer confirms the latest ReadIndex round, also one sent before the read was asked',
    file: `${core}/read-index.ts`,
    find: '  if (m.readSeq > pr.readAck) pr.readAck = m.readSeq;\n',
    replace: '  pr.readAck = r.readSeq;\n',
  },
  {
    id: 'snapshot-skipped-on-any-entry',
    area: 'core',
    what: "a follower holding any entry at the snapshot's index skips the install and commits it, whatever that entry's term",
    file: `${core}/snapshot.ts`,
    find: '  if (meta.index <= r.log.committed || r.log.matchTerm(meta.index, meta.term)) {',
    replace: '  if (meta.index <= r.log.committed || meta.index <= r.log.lastIndex()) {',
    flags: ['--no-power-cuts'],
  },
];
