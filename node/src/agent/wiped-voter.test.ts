/**
 * A wiped node is never heard as the old voter (issue 12 item 2), end to end with real
 * processes and kill -9: with one follower down and the other wiped and restarted, the old
 * leader drops the wiped node's messages (metric
 * `commitlog_raft_transport_dropped_wrong_storage_total`), is not elected, commits nothing and
 * acknowledges no write; once the down voter is back the wiped node is replaced and catches up
 * as a new member. A specification of the agent's wiring, not the regression test: in this
 * order of events the core already refuses the vote of a node that knows no configuration
 * (raft/core/election.ts), so code before the storage check also commits nothing here — the
 * regression test is raft/shell/wiped-voter.test.ts, where the leader is still in office when
 * the wiped node answers.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Metadata, type ServiceError } from '@grpc/grpc-js';
import { CommitLogClient } from '../client/index.js';
import { LogClient, type ConsumeResponse, type ProduceResponse } from '../gen/v1/log.js';
import { clientCredentials } from '../tls/credentials.js';
import { eventually } from './testing/cluster.js';
import { AgentProcesses } from './testing/processes.js';

/** The value of an unlabelled counter on `name`'s /metrics (0 when absent: a node before the metric existed). */
async function counter(p: AgentProcesses, name: string, metric: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${p.httpPort(name)}/metrics`)).text();
  const m = new RegExp(`^${metric} (\\d+)`, 'm').exec(text);
  return m === null ? 0 : Number(m[1]);
}

// Skipped (2026-12-02, the lead): its wait for "20 messages dropped, or a write acknowledged"
// timed out after 120 s in a full `npm test` at load 5-10 with neither (no write was
// acknowledged: the safety property held, the counter did not reach 20), although it passed
// in its author's runs (70-174 s). The condition it waits on is a count of messages in a
// window, which depends on timing; until it waits on a state instead, the regression test of
// the rule is raft/shell/wiped-voter.test.ts (real RaftNodes, fails without the check) and the
// wiring is covered by transport-tcp-storage.test.ts and storage-id.test.ts.
describe.skip('agent processes: a wiped node cannot help elect or commit as the old voter', function () {
  this.timeout(400_000); // boot up to 120 s, every other bounded wait at most 120 s

  it('GIVEN 3 voters, one follower down and the other wiped and restarted THEN no write is acknowledged until the down voter is back; then the wiped node is replaced and every acknowledged record is on every node', async () => {
    const names = ['x0', 'x1', 'x2'] as const;
    const p = await AgentProcesses.create(names);
    const closers: { close(): void }[] = [];
    try {
      const logs = (): string => [...p.procs.values()].map((x) => `--- ${x.name}:\n${x.stderr()}`).join('\n');
      const withLogs = (err: Error): never => {
        throw new Error(`${err.message}\n${logs()}`);
      };
      p.start(names[0], { bootstrap: true });
      p.start(names[1]);
      p.start(names[2]);
      const creds = clientCredentials({ caFile: p.pki.ca, certFile: p.pki.rootCert, keyFile: p.pki.rootKey });
      const lb = new CommitLogClient({
        target: `commitlog:///${p.rpcAddr(names[0])}`,
        credentials: creds,
        refreshMs: 500,
      });
      closers.push(lb);
      const allVoters = async (): Promise<boolean> => {
        const s = await lb.getServers();
        return s.length === names.length && s.every((x) => x.isVoter) && s.some((x) => x.isLeader);
      };
      await eventually('3 voters and a leader', allVoters, 120_000).catch(withLogs);
      const acked = new Map<number, string>();
      for (let i = 0; i < 50; i++) acked.set(await lb.produce(Buffer.from(`before-${i}`)), `before-${i}`);

      const servers = await lb.getServers();
      const leader = servers.find((s) => s.isLeader)?.id as string;
      const [down, wiped] = names.filter((n) => n !== leader) as [string, string];
      await p.kill(down);
      await p.kill(wiped);
      rmSync(join(p.root, wiped), { recursive: true, force: true });
      p.start(wiped);

      // WHEN a client keeps trying to write through the old leader, the only node that could lead.
      const c = new LogClient(p.rpcAddr(leader), creds);
      closers.push(c);
      let acknowledged: number | undefined;
      const tryProduce = (): Promise<void> =>
        new Promise((res) => {
          const deadline = new Date(Date.now() + 3000);
          c.produce(
            { record: { value: Buffer.from('during'), offset: 0, term: 0, type: 0 } },
            new Metadata(),
            { deadline },
            (e: ServiceError | null, r: ProduceResponse) => {
              if (e === null) acknowledged = r.offset;
              res();
            },
          );
        });
      // THEN the leader drops the wiped node's messages (a steady stream: its answers to
      // heartbeats, pre-votes, votes) and never acknowledges the write. Without the storage
      // check the wiped node answers as the old voter and the write is acknowledged instead.
      const dropped = (): Promise<number> =>
        counter(p, leader, 'commitlog_raft_transport_dropped_wrong_storage_total').catch(() => 0);
      await eventually(
        `${leader} drops 20 messages of the wiped ${wiped}, or the write is acknowledged`,
        async () => {
          await tryProduce();
          return acknowledged !== undefined || (await dropped()) >= 20;
        },
        120_000,
      ).catch(withLogs);
      assert.equal(
        acknowledged,
        undefined,
        `a write was acknowledged with only ${leader} and the wiped ${wiped} up: the wiped node was counted as the old voter\n${logs()}`,
      );

      // The real voter comes back: the cluster heals, the wiped node is replaced and catches up.
      p.start(down);
      await eventually(`${wiped} a voter again (replaced as a new member)`, allVoters, 120_000).catch(withLogs);
      for (let i = 0; i < 10; i++) acked.set(await lb.produce(Buffer.from(`after-${i}`)), `after-${i}`);
      const offsets = [...acked.keys()].sort((a, b) => a - b);
      assert.equal(new Set(offsets).size, 60);
      for (const name of names) {
        const lc = new LogClient(p.rpcAddr(name), creds);
        closers.push(lc);
        for (const o of offsets) {
          const r = await eventually(
            `offset ${o} on ${name}`,
            () =>
              new Promise<ConsumeResponse>((res, rej) =>
                lc.consume({ offset: o }, (e: ServiceError | null, x: ConsumeResponse) => (e ? rej(e) : res(x))),
              ),
            60_000,
          );
          assert.equal(r.record?.value.toString(), acked.get(o), `offset ${o} on ${name}`);
        }
      }
      assert.ok((await dropped()) >= 20);
    } finally {
      for (const x of closers) x.close();
      await p.destroy();
    }
  });
});
