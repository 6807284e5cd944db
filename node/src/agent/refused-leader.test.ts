/**
 * A leader whose client-facing address refuses connections while it stays leader in Raft
 * (what the e2e producer met during the operator's rolling restarts: a pod's LoadBalancer
 * address refused with ECONNREFUSED while GetServers already named that pod leader). Three
 * agent processes (node/src/agent/main.ts: mutual TLS, real fsync, the `lan` Raft preset)
 * each advertise, as their externalRpcAddr, a TCP proxy on 127.0.0.1 that this test
 * controls; the client dials those (`useExternalAddrs`). Raft and the followers' forwarding
 * use the nodes' own rpcAddr, so closing the leader's proxy changes nothing for the cluster:
 * only this client cannot reach the leader.
 *
 * The client must then write through a follower, which forwards the Produce to the leader
 * (agent/forwarder.ts), instead of retrying the refused address until its deadline.
 */
import assert from 'node:assert/strict';
import type { ServiceError } from '@grpc/grpc-js';
import { LogClient, type GetServersResponse } from '../gen/v1/log.js';
import { CommitLogClient } from '../client/index.js';
import type { ClusterServer } from '../client/picker.js';
import { clientCredentials } from '../tls/credentials.js';
import { eventually } from './testing/cluster.js';
import { CutProxy } from './testing/cut-proxy.js';
import { AgentProcesses } from './testing/processes.js';

const NAMES = ['r0', 'r1', 'r2'];
/** Produces made while the leader's address refuses; each must succeed. */
const PRODUCES = 10;

describe("client: a leader whose address refuses connections is written to through a follower (the e2e's rolling restarts)", function () {
  this.timeout(300_000);
  let procs: AgentProcesses | undefined;
  const proxies = new Map<string, CutProxy>();
  const closers: { close(): void }[] = [];
  after(async () => {
    for (const c of closers) c.close();
    await procs?.destroy();
    for (const p of proxies.values()) await p.close();
  });

  it('GIVEN the leader refuses connections at its external address WHEN the client produces THEN every produce succeeds through a follower and the leader stays leader; once it accepts again, writes return to it', async () => {
    procs = await AgentProcesses.create(NAMES);
    const p = procs;
    for (const name of NAMES) {
      const proxy = await CutProxy.start();
      proxy.target = p.rpcAddr(name);
      proxies.set(name, proxy);
    }
    for (const [i, name] of NAMES.entries())
      p.start(name, { bootstrap: i === 0, flags: { 'external-addr': (proxies.get(name) as CutProxy).addr } });
    const creds = clientCredentials({ caFile: p.pki.ca, certFile: p.pki.rootCert, keyFile: p.pki.rootKey });
    /** The cluster as one node sees it, over its own rpcAddr (not through a proxy). */
    const direct = new Map(NAMES.map((n) => [n, new LogClient(p.rpcAddr(n), creds)]));
    for (const c of direct.values()) closers.push(c);
    const leaderSeenBy = (name: string): Promise<string | undefined> =>
      new Promise((resolve, reject) =>
        (direct.get(name) as LogClient).getServers({}, (e: ServiceError | null, r: GetServersResponse) =>
          e
            ? reject(e)
            : resolve(
                r.servers.length === 3 && r.servers.every((s) => s.isVoter)
                  ? r.servers.find((s) => s.isLeader)?.id
                  : undefined,
              ),
        ),
      );
    const leader = await eventually('3 voters and a leader', () => leaderSeenBy('r0'), 120_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${[...p.procs.values()].map((x) => `${x.name}: ${x.stderr()}`).join('\n')}`);
    });

    const routes: ClusterServer[] = [];
    // The seed is the leader's own external address: the worst case of the e2e's producer,
    // seeded with pod 0's LoadBalancer address. The deadline is short so that a client that
    // keeps retrying the refused address fails this test in bounded time.
    const client = new CommitLogClient({
      target: `commitlog:///${(proxies.get(leader) as CutProxy).addr}`,
      credentials: creds,
      useExternalAddrs: true,
      deadlineMs: 10_000,
      onRoute: (call, s) => call === 'produce' && routes.push(s),
    });
    closers.push(client);
    // GIVEN a client writing to the leader (on a loaded machine a first attempt may time out
    // and go through a follower: wait for one answered by the leader itself).
    await eventually(
      `a produce answered by the leader ${leader}`,
      async () => {
        await client.produce(Buffer.from('warm'));
        return routes.at(-1)?.id === leader;
      },
      60_000,
      100,
    );

    // WHEN the leader's external address refuses connections (the leader itself runs on).
    await (proxies.get(leader) as CutProxy).refuse();
    const offsets: number[] = [];
    const failures: string[] = [];
    routes.length = 0;
    for (let i = 0; i < PRODUCES; i++)
      await client.produce(Buffer.from(`while-refused-${i}`)).then(
        (o) => offsets.push(o),
        (e: unknown) => failures.push(String(e)),
      );

    // THEN every produce succeeded, through a follower, and the leader did not change.
    assert.deepEqual(failures, [], 'no produce failed while the leader refused connections');
    assert.ok(
      routes.every((s) => s.id !== leader),
      `answered by followers, not ${leader}: ${routes.map((s) => s.id).join(',')}`,
    );
    const follower = NAMES.find((n) => n !== leader) as string;
    assert.equal(
      await leaderSeenBy(follower),
      leader,
      'the leader stayed leader in Raft (else this test proves nothing)',
    );
    assert.equal(new Set(offsets).size, PRODUCES, `distinct offsets: ${JSON.stringify(offsets)}`);
    const reads = await Promise.all(offsets.map((o) => client.consume(o)));
    assert.deepEqual(
      reads.map((r) => r.value.toString()),
      offsets.map((_, i) => `while-refused-${i}`),
      'each record reads back at its offset',
    );

    // WHEN the leader accepts connections again THEN writes return to it (suspicion ends).
    await (proxies.get(leader) as CutProxy).reopen();
    await eventually(
      `a produce answered by the leader ${leader} again`,
      async () => {
        await client.produce(Buffer.from('after'));
        return routes.at(-1)?.id === leader;
      },
      60_000,
      100,
    );
  });
});
