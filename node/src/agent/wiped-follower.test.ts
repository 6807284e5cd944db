/**
 * A follower whose data directory is wiped comes back with a new storage id: the leader
 * replaces it (remove, re-add as a learner, promote after catch-up) instead of counting it
 * as the old voter with the entries it no longer has. A follower whose log tail is damaged
 * (issue 12) comes back either way: with a new storage id when the cut went below the commit
 * index it had persisted, else as the same voter with a shorter log, which the leader refills
 * (its append rejections say it lost acknowledged entries: raft/core/progress.ts
 * maybeDecrTo). Real processes, kill -9.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ServiceError } from '@grpc/grpc-js';
import { LogClient, type ConsumeResponse } from '../gen/v1/log.js';
import { CommitLogClient } from '../client/index.js';
import { clientCredentials } from '../tls/credentials.js';
import { eventually } from './testing/cluster.js';
import { AgentProcesses } from './testing/processes.js';

/**
 * GIVEN 3 voters and 200 acknowledged records WHEN a follower is killed, `damage` is done to
 * its data dir, 200 records are produced without it and it restarts THEN a leader counts its
 * replacement, it is a voter again, and every acknowledged record reads back on every node.
 */
async function damagedFollowerRejoins(
  names: readonly string[],
  damage: (dir: string) => void,
  replaced: 'always' | 'maybe',
): Promise<void> {
  const p = await AgentProcesses.create(names);
  const closers: { close(): void }[] = [];
  try {
    const logs = (): string => [...p.procs.values()].map((x) => `--- ${x.name}:\n${x.stderr()}`).join('\n');
    const [first, ...rest] = names as [string, ...string[]];
    p.start(first, { bootstrap: true });
    for (const n of rest) p.start(n);
    const creds = clientCredentials({ caFile: p.pki.ca, certFile: p.pki.rootCert, keyFile: p.pki.rootKey });
    const lb = new CommitLogClient({ target: `commitlog:///${p.rpcAddr(first)}`, credentials: creds, refreshMs: 500 });
    closers.push(lb);
    const allVoters = async (): Promise<boolean> => {
      const s = await lb.getServers();
      return s.length === names.length && s.every((x) => x.isVoter) && s.some((x) => x.isLeader);
    };
    const withLogs = (err: Error): never => {
      throw new Error(`${err.message}\n${logs()}`);
    };
    // 120 s: three processes booting under load (failover.test.ts measured 40 s too short).
    await eventually('3 voters and a leader', allVoters, 120_000).catch(withLogs);
    const acked = new Map<number, string>();
    const produce = async (from: number, n: number): Promise<void> => {
      for (let i = from; i < from + n; i++) acked.set(await lb.produce(Buffer.from(`v-${i}`)), `v-${i}`);
    };
    await produce(0, 200);

    const victim = (await lb.getServers()).find((s) => !s.isLeader)?.id as string;
    const dir = join(p.root, victim);
    const oldStorage = readFileSync(join(dir, 'storage-id'), 'utf8').trim();
    await p.kill(victim);
    damage(dir);
    await produce(200, 200);
    p.start(victim);
    const storageId = (): string | undefined => {
      try {
        return readFileSync(join(dir, 'storage-id'), 'utf8').trim();
      } catch {
        return undefined;
      }
    };
    // Wiped: the directory is new. Damaged: it starts on its old directory, which keeps its
    // id unless the repair on open gave it a new one (the file is rewritten before Raft starts).
    await eventually(`${victim} started with a storage id`, () => {
      const id = storageId();
      return id !== undefined && (replaced === 'maybe' || id !== oldStorage);
    }).catch(withLogs);
    if (storageId() !== oldStorage) {
      const replacements = async (name: string): Promise<number> => {
        const text = await (await fetch(`http://127.0.0.1:${p.httpPort(name)}/metrics`)).text();
        const m = new RegExp(`commitlog_membership_storage_replacements_total\\{member="${victim}"\\} (\\d+)`).exec(
          text,
        );
        return m === null ? 0 : Number(m[1]);
      };
      await eventually(
        `a leader counts the replacement of ${victim} (metric)`,
        async () => {
          const others = names.filter((n) => n !== victim);
          const counts = await Promise.all(others.map((n) => replacements(n).catch(() => 0)));
          return counts.some((c) => c >= 1);
        },
        60_000,
      ).catch(withLogs);
    }
    await eventually(`${victim} a voter again`, allVoters, 60_000).catch(withLogs);
    await produce(400, 20);
    const offsets = [...acked.keys()].sort((a, b) => a - b);
    assert.equal(new Set(offsets).size, 420);
    for (const name of names) {
      const c = new LogClient(p.rpcAddr(name), creds);
      closers.push(c);
      for (const o of offsets) {
        const r = await eventually(
          `offset ${o} on ${name}`,
          () =>
            new Promise<ConsumeResponse>((res, rej) =>
              c.consume({ offset: o }, (e: ServiceError | null, x: ConsumeResponse) => (e ? rej(e) : res(x))),
            ),
          60_000,
        );
        assert.equal(r.record?.value.toString(), acked.get(o), `offset ${o} on ${name}`);
      }
    }
  } finally {
    for (const c of closers) c.close();
    await p.destroy();
  }
}

describe('agent processes: a follower that lost its disk or its log tail rejoins as a new member', function () {
  this.timeout(400_000); // per case: boot up to 120 s, every other bounded wait at most 60 s

  it('GIVEN a follower whose data dir is wiped while it is down THEN it catches up from scratch as a new member and every acknowledged record is on every node', async () => {
    await damagedFollowerRejoins(['w0', 'w1', 'w2'], (dir) => rmSync(dir, { recursive: true, force: true }), 'always');
  });

  it('GIVEN a follower whose log tail is damaged (garbage over committed records) THEN it starts anyway, is refilled by the leader, and every acknowledged record is on every node', async () => {
    await damagedFollowerRejoins(
      ['d0', 'd1', 'd2'],
      (dir) => {
        const logDir = join(dir, 'raft', 'log');
        const last = readdirSync(logDir)
          .filter((f) => f.endsWith('.store'))
          .sort((x, y) => Number.parseInt(x, 10) - Number.parseInt(y, 10))
          .at(-1) as string;
        const bytes = readFileSync(join(logDir, last));
        bytes.fill(0xab, Math.floor(bytes.length / 10)); // all but the first tenth: well below any persisted commit
        writeFileSync(join(logDir, last), bytes);
      },
      'maybe',
    );
  });
});
