/**
 * A follower whose data directory is wiped (issue 12) comes back with a new storage id: the
 * leader replaces it (remove, re-add as a learner, promote after catch-up) instead of
 * counting it as the old voter with the entries it no longer has. Real processes, kill -9.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ServiceError } from '@grpc/grpc-js';
import { LogClient, type ConsumeResponse } from '../gen/v1/log.js';
import { CommitLogClient } from '../client/index.js';
import { clientCredentials } from '../tls/credentials.js';
import { eventually } from './testing/cluster.js';
import { AgentProcesses } from './testing/processes.js';

describe('agent processes: a follower whose data dir was wiped rejoins as a new member', function () {
  this.timeout(180_000);
  let procs: AgentProcesses | undefined;
  const closers: { close(): void }[] = [];
  after(async () => {
    for (const c of closers) c.close();
    await procs?.destroy();
  });

  it('GIVEN 3 voters and acknowledged records WHEN a follower is killed, wiped and restarted THEN it catches up from scratch and every acknowledged record is on every node', async () => {
    const names = ['w0', 'w1', 'w2'];
    procs = await AgentProcesses.create(names);
    const p = procs;
    const logs = (): string => [...p.procs.values()].map((x) => `--- ${x.name}:\n${x.stderr()}`).join('\n');
    p.start('w0', { bootstrap: true });
    p.start('w1');
    p.start('w2');
    const creds = clientCredentials({ caFile: p.pki.ca, certFile: p.pki.rootCert, keyFile: p.pki.rootKey });
    const lb = new CommitLogClient({ target: `commitlog:///${p.rpcAddr('w0')}`, credentials: creds, refreshMs: 500 });
    closers.push(lb);
    const voters3 = async (): Promise<boolean> => {
      const s = await lb.getServers();
      return s.length === 3 && s.every((x) => x.isVoter) && s.some((x) => x.isLeader);
    };
    await eventually('3 voters and a leader', voters3, 60_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${logs()}`);
    });
    const acked = new Map<number, string>();
    const produce = async (from: number, n: number): Promise<void> => {
      for (let i = from; i < from + n; i++) acked.set(await lb.produce(Buffer.from(`v-${i}`)), `v-${i}`);
    };
    await produce(0, 200);

    // WHEN a follower is killed, its data dir wiped, records produced without it, and it restarts.
    const victim = (await lb.getServers()).find((s) => !s.isLeader)?.id as string;
    const dir = join(p.root, victim);
    const oldStorage = readFileSync(join(dir, 'storage-id'), 'utf8').trim();
    await p.kill(victim);
    rmSync(dir, { recursive: true, force: true });
    await produce(200, 200);
    p.start(victim);
    await eventually(`${victim} has a new storage id`, () => {
      try {
        return readFileSync(join(dir, 'storage-id'), 'utf8').trim() !== oldStorage;
      } catch {
        return false;
      }
    });

    // THEN the leader replaces it, it catches up as a learner and is a voter again.
    const replacements = async (name: string): Promise<number> => {
      const text = await (await fetch(`http://127.0.0.1:${p.httpPort(name)}/metrics`)).text();
      const m = new RegExp(`commitlog_membership_storage_replacements_total\\{member="${victim}"\\} (\\d+)`).exec(text);
      return m === null ? 0 : Number(m[1]);
    };
    await eventually(
      `a leader counts the replacement of ${victim} (metric)`,
      async () => {
        const counts = await Promise.all(names.filter((n) => n !== victim).map((n) => replacements(n).catch(() => 0)));
        return counts.some((c) => c >= 1);
      },
      60_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${logs()}`);
    });
    await eventually(`${victim} a voter again`, voters3, 60_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${logs()}`);
    });
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
  });
});
