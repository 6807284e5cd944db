/**
 * The Admin commands on a 3-node cluster (in-process agents with mutual TLS and the ACL):
 * `status` (also as a real `commitlog` process), `members list`, `leader transfer --to`,
 * `members remove`. Every command is given a FOLLOWER's address: membership calls must
 * still reach the leader (through the load-balancing resolver).
 */
import assert from 'node:assert/strict';
import { TestAgents, eventually } from '../agent/testing/cluster.js';
import { leaderTransfer, membersList, membersRemove, status } from './admin-commands.js';
import type { ClientFlags } from './client-options.js';
import { cli, collect } from './testing/fixtures.js';

describe('commitlog status / members / leader on a 3-node cluster', function () {
  this.timeout(120_000);
  let t: TestAgents;

  before(async () => {
    t = await TestAgents.create();
    await t.start('a', { bootstrap: true });
    await t.start('b');
    await t.start('c');
    await eventually(
      'three voters',
      () =>
        t
          .get('a')
          .node.status()
          .members.filter((m) => m.suffrage === 'voter').length === 3,
      30_000,
    );
  });

  after(async () => {
    await t?.destroy();
  });

  const follower = (): string => {
    const f = [...t.agents.values()].find((a) => !a.node.isLeader);
    assert.ok(f, 'a follower');
    return f.rpcAddr;
  };
  const flags = (addr: string): ClientFlags => ({
    addr,
    caFile: t.pki.ca,
    certFile: t.pki.rootCert,
    keyFile: t.pki.rootKey,
  });
  const leaderId = (): string | undefined => [...t.agents.entries()].find(([, a]) => a.node.isLeader)?.[0];
  const rows = (text: string): string[][] =>
    text
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split('\t'));

  it('`commitlog status` (a real process, asked a follower) shows each node with one leader and the same term', async () => {
    const addr = follower();
    const r = await cli([
      'status',
      '--addr',
      addr,
      '--ca-file',
      t.pki.ca,
      '--cert-file',
      t.pki.rootCert,
      '--key-file',
      t.pki.rootKey,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines[0], 'ID\tADDR\tROLE\tTERM\tCOMMIT\tAPPLIED\tOFFSETS\tLEADER');
    const table = rows(r.stdout);
    assert.deepEqual(table.map((row) => row[0]).sort(), ['a', 'b', 'c']);
    assert.deepEqual(table.map((row) => row[2]).sort(), ['leader', 'voter', 'voter'], r.stdout);
    assert.equal(new Set(table.map((row) => row[3])).size, 1, 'one term');
    const leader = table.find((row) => row[2] === 'leader')?.[0];
    assert.ok(
      table.every((row) => row[7] === leader),
      'every node names the same leader',
    );
  });

  it('`members list` through a follower lists three voters, one of them the leader', async () => {
    const out = collect();
    await membersList(flags(follower()), out.out);
    const table = rows(out.text());
    assert.deepEqual(table.map((row) => row[0]).sort(), ['a', 'b', 'c']);
    assert.deepEqual(table.map((row) => row[2]).sort(), ['leader', 'voter', 'voter']);
  });

  it('`leader transfer --to` through a follower moves leadership to that node', async () => {
    const before = leaderId();
    const target = ['a', 'b', 'c'].find((n) => n !== before) as string;
    const out = collect();
    await leaderTransfer({ ...flags(follower()), to: target }, out.out);
    assert.equal(out.text(), `${target}\n`);
    await eventually(`${target} leads`, () => leaderId() === target, 15_000);
  });

  it('`members remove` through a follower removes the member; `status --json` then shows two nodes', async () => {
    const victim = ['a', 'b', 'c'].find((n) => n !== leaderId()) as string;
    const keep = [...t.agents.entries()].find(([n]) => n !== victim)?.[1].rpcAddr as string;
    const out = collect();
    await eventually(
      'RemoveMember committed',
      async () => {
        try {
          await membersRemove(victim, flags(keep), out.out);
          return true;
        } catch (err) {
          // A freshly elected leader refuses configuration changes until it committed an entry of its term.
          if ((err as { code?: number }).code === 9) return false;
          throw err;
        }
      },
      15_000,
    );
    assert.deepEqual(
      rows(out.text())
        .map((row) => row[0])
        .sort(),
      ['a', 'b', 'c'].filter((n) => n !== victim),
    );
    await t.stop(victim);
    const s = collect();
    await eventually(
      'GetServers without the removed node',
      async () => {
        const c = collect();
        await status({ ...flags(keep), json: true }, c.out);
        const ids = c
          .text()
          .trim()
          .split('\n')
          .map((l) => (JSON.parse(l) as { id: string }).id);
        if (ids.length !== 2) return false;
        s.out.write(c.text());
        return true;
      },
      15_000,
    );
    const nodes = s
      .text()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { role: string; id: string });
    assert.deepEqual(nodes.map((n) => n.role).sort(), ['leader', 'voter']);
  });
});
