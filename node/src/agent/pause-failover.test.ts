/**
 * Failover of the clients off a paused leader (issue 12 item 4), on three real agent
 * processes (node/src/agent/main.ts: mutual TLS, real fsync, the `lan` Raft preset of a
 * production node: 100 ms ticks, a 1–2 s randomized election timeout). The leader is frozen
 * with SIGSTOP — it answers nothing, its TCP connections stay open — and the test measures
 * the time from the SIGSTOP to the first Produce acknowledged by another server.
 *
 * Two clients, one cluster each: CommitLogClient, and the generated LogClient on the
 * load-balanced grpc-js channel (`loadBalancedLogClient`, grpc-lb.ts) whose caller sets a
 * per-attempt deadline of 2 election timeouts and retries an idempotent Produce (its own
 * producer id and sequence) until it is acknowledged.
 *
 * The bound is a failure bound, not a timing assumption: 4 election timeouts plus 4 s of
 * slack for a loaded machine (load 20 on two cores). A client whose Produce attempt waits
 * 10 s at the silent leader (the code before this test) cannot meet it, nor a channel that
 * sends every attempt to the silent leader until a re-resolution names another: before the
 * channel had timeout-based suspects, this case failed with "failover took 57533 ms" (its
 * periodic re-resolution is set to 60 s here, so only the policy can move the writes; with
 * the default 5 s it failed the first trial, the seed paused, at 8234 ms and met the bound
 * in two more, 1178 and 6160 ms: a matter of when the refresh timer fired).
 * `CLIENT_PAUSE_TRIALS=N` pauses the leader N times in one cluster (measurements for
 * docs/benchmarks.md); the times are printed as one JSON line per client.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Metadata, status as Status, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { eventually } from './testing/cluster.js';
import { AgentProcesses } from './testing/processes.js';
import { LogClient, type ConsumeResponse, type ProduceResponse } from '../gen/v1/log.js';
import { clientCredentials } from '../tls/credentials.js';
import { CommitLogClient } from '../client/client.js';
import { loadBalancedLogClient } from '../client/grpc-lb.js';
import { isRetryable } from '../client/retry-policy.js';
import { CallKind, type ClusterServer } from '../client/picker.js';

/** The `lan` preset's election timeout (raft core: 10 ticks; shell: 100 ms a tick). */
const ELECTION_TIMEOUT_MS = 1000;
const FAILOVER_BOUND_MS = 4 * ELECTION_TIMEOUT_MS + 4000;
const TRIALS = Number(process.env.CLIENT_PAUSE_TRIALS ?? 1);
const PRODUCERS = 3;
/** The load-balanced channel's caller: each Produce attempt's deadline. */
const CHANNEL_ATTEMPT_MS = 2 * ELECTION_TIMEOUT_MS;
/** The channel's periodic re-resolution: longer than a trial's failover bound. */
const CHANNEL_REFRESH_MS = 60_000;
/** The caller's overall bound on one produce (as CommitLogClient's `deadlineMs` here). */
const PRODUCE_DEADLINE_MS = 60_000;

/** Reads offsets 0..upTo from one server through ConsumeStream (committed prefix only). */
async function readUpTo(c: LogClient, upTo: number, what: string): Promise<Map<number, string>> {
  const got = new Map<number, string>();
  if (upTo < 0) return got;
  const stream: ClientReadableStream<ConsumeResponse> = c.consumeStream({ offset: 0 });
  try {
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(
        () => reject(new Error(`${what}: only ${got.size} of ${upTo + 1} records in 120 s`)),
        120_000,
      );
      stream.on('data', (r: ConsumeResponse) => {
        if (r.record === undefined) return;
        got.set(r.record.offset, r.record.value.toString());
        if (r.record.offset >= upTo) {
          clearTimeout(t);
          resolve();
        }
      });
      stream.on('error', (e: ServiceError) => {
        clearTimeout(t);
        reject(new Error(`${what}: ConsumeStream failed: ${e.message}`));
      });
    });
  } finally {
    stream.cancel();
  }
  return got;
}

/** How the producers of a case write, and when the first write after a pause was acknowledged by another server. */
interface Producing {
  /** Produces `value` for worker `w` (retrying as the client does); resolves to its offset. */
  produce(w: number, value: string): Promise<number>;
  /** When the first produce acknowledged by a server other than `leaderId` after `t0` was acknowledged, if yet. */
  failedOverAt(t0: number, leaderId: string): number | undefined;
  close(): void;
}

/** Produces through the load-balanced channel: per-attempt deadlines, retried with the same (producer id, sequence). */
function channelProducing(target: string, creds: ReturnType<typeof clientCredentials>): Producing {
  // No periodic re-resolution within a trial (the default is every 5 s): the failover
  // measured is the policy's own, not a refresh timer that happened to fire.
  const lb = loadBalancedLogClient(target, creds, { refreshMs: CHANNEL_REFRESH_MS });
  const workers = new Map<number, { id: Buffer; seq: number }>();
  /** Attempts that were acknowledged: when they began and when the answer came. */
  const acks: { startedAt: number; at: number }[] = [];
  const attempt = (req: Parameters<LogClient['produce']>[0]): Promise<number> =>
    new Promise((resolve, reject) => {
      const startedAt = Date.now();
      lb.produce(
        req,
        new Metadata(),
        { deadline: startedAt + CHANNEL_ATTEMPT_MS },
        (e: ServiceError | null, r: ProduceResponse) => {
          if (e) return reject(e);
          acks.push({ startedAt, at: Date.now() });
          resolve(r.offset);
        },
      );
    });
  return {
    produce: async (w, value) => {
      const me = workers.get(w) ?? { id: randomBytes(16), seq: 0 };
      workers.set(w, me);
      const req = {
        record: { value: Buffer.from(value), offset: 0, term: 0, type: 0 },
        producerId: me.id,
        sequence: me.seq++,
      };
      const giveUp = Date.now() + PRODUCE_DEADLINE_MS;
      const codes: string[] = [];
      for (;;) {
        try {
          return await attempt(req);
        } catch (err) {
          // The caller retries the safe failures of an idempotent produce (retry-policy.ts;
          // the cluster deduplicates the same producer id and sequence), within its deadline.
          const e = err as ServiceError;
          codes.push(Status[e.code] ?? String(e.code));
          if (!isRetryable(CallKind.write, e, true) || Date.now() > giveUp)
            throw new Error(`produce ${value}: gave up (${codes.join(', ')}): ${e.message}`);
          // A failure without an answer may be immediate (no connection): do not spin.
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    },
    // The paused leader answers nothing: an attempt that began after the SIGSTOP and was
    // acknowledged was acknowledged by another server.
    failedOverAt: (t0) => acks.find((a) => a.startedAt > t0)?.at,
    close: () => lb.close(),
  };
}

/** Produces through CommitLogClient, which reports the server that acknowledged each produce. */
function clientProducing(client: CommitLogClient, routes: readonly { at: number; server: ClusterServer }[]): Producing {
  return {
    produce: (_, value) => client.produce(Buffer.from(value)),
    failedOverAt: (t0, leaderId) => routes.find((r) => r.at > t0 && r.server.id !== leaderId)?.at,
    close: () => {},
  };
}

describe('client failover off a paused leader: three agent processes, SIGSTOP the leader (issue 12 item 4)', function () {
  this.timeout(300_000 + TRIALS * 120_000);
  const names = ['s0', 's1', 's2'];
  let procs: AgentProcesses | undefined;
  const paused = new Set<number>();
  const closers: { close(): void }[] = [];
  afterEach(async () => {
    // Always resume what this test froze (by pid): a stopped process cannot act on SIGTERM.
    for (const pid of paused) process.kill(pid, 'SIGCONT');
    paused.clear();
    for (const c of closers.splice(0)) c.close();
    await procs?.destroy();
    procs = undefined;
  });

  /**
   * Starts the cluster, then `producing(...)`'s producers, pauses the leader `TRIALS` times and
   * checks the failover bound and every node's log. `client` observes the cluster (GetServers).
   */
  async function pauseFailover(
    what: string,
    producing: (
      target: string,
      creds: ReturnType<typeof clientCredentials>,
      client: CommitLogClient,
      routes: { at: number; server: ClusterServer }[],
    ) => Producing,
  ): Promise<void> {
    procs = await AgentProcesses.create(names);
    const p = procs;
    p.start('s0', { bootstrap: true });
    p.start('s1');
    p.start('s2');
    const creds = clientCredentials({ caFile: p.pki.ca, certFile: p.pki.rootCert, keyFile: p.pki.rootKey });
    const routes: { at: number; server: ClusterServer }[] = [];
    // The seed is s0, the bootstrap node and usually the first leader: the worst case, a
    // client whose only configured address is the server that stops answering.
    const target = `commitlog:///${p.rpcAddr('s0')}`;
    const client = new CommitLogClient({
      target,
      credentials: creds,
      deadlineMs: PRODUCE_DEADLINE_MS,
      electionTimeoutMs: ELECTION_TIMEOUT_MS,
      onRoute: (call, server) => call === 'produce' && routes.push({ at: Date.now(), server }),
    });
    closers.push(client);
    const writer = producing(target, creds, client, routes);
    closers.push(writer);
    const stateOf = async (): Promise<readonly ClusterServer[] | undefined> => {
      const s = await client.getServers();
      return s.length === 3 && s.every((x) => x.isVoter) && s.some((x) => x.isLeader) ? s : undefined;
    };
    await eventually('3 voters and a leader', stateOf, 120_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${[...p.procs.values()].map((x) => `${x.name}: ${x.stderr()}`).join('\n')}`);
    });

    // GIVEN producers writing one record after the other (idempotent producers: a retry
    // after an attempt's deadline is deduplicated by the cluster).
    const acked = new Map<number, string>();
    const failures: unknown[] = [];
    let stop = false;
    const producers = Array.from({ length: PRODUCERS }, async (_, w) => {
      for (let i = 0; !stop; i++) {
        const v = `w${w}-${i}`;
        try {
          const offset = await writer.produce(w, v);
          assert.equal(acked.get(offset), undefined, `offset ${offset} acknowledged twice`);
          acked.set(offset, v);
        } catch (err) {
          failures.push(err);
          return;
        }
      }
    });

    const times: number[] = [];
    for (let trial = 0; trial < TRIALS; trial++) {
      const before = acked.size;
      await eventually('20 acknowledged records', () => failures.length === 0 && acked.size >= before + 20, 60_000);
      const leader = (await eventually('a leader', stateOf, 60_000)).find((s) => s.isLeader) as ClusterServer;
      const proc = p.procs.get(leader.id)?.proc;
      assert.ok(proc?.pid !== undefined, `the leader ${leader.id} is one of ours`);
      // WHEN the leader is frozen.
      proc.kill('SIGSTOP');
      paused.add(proc.pid);
      const t0 = Date.now();
      // THEN a produce is acknowledged by another server, within the bound.
      const at = await eventually(
        `a produce acknowledged by a server other than the paused ${leader.id}`,
        () => failures.length === 0 && writer.failedOverAt(t0, leader.id),
        60_000,
      );
      times.push(at - t0);
      // The frozen node resumes, steps down on the new term and catches up.
      proc.kill('SIGCONT');
      paused.delete(proc.pid);
      await eventually(
        `${leader.id} back as a follower`,
        async () => (await stateOf())?.some((s) => s.isLeader && s.id !== leader.id),
        60_000,
      );
    }
    stop = true;
    await Promise.all(producers);
    process.stdout.write(
      `${JSON.stringify({ test: 'pause-failover', client: what, electionTimeoutMs: ELECTION_TIMEOUT_MS, failoverMs: times, acked: acked.size })}\n`,
    );
    assert.deepEqual(failures.map(String), [], 'no produce failed');
    for (const [i, ms] of times.entries())
      assert.ok(ms <= FAILOVER_BOUND_MS, `${what}, trial ${i}: failover took ${ms} ms (bound ${FAILOVER_BOUND_MS} ms)`);

    // Every acknowledged record is on every node at its offset; no value twice; nothing unacknowledged.
    const upTo = Math.max(...acked.keys());
    for (const name of names) {
      const c = new LogClient(p.rpcAddr(name), creds);
      closers.push(c);
      const log = await readUpTo(c, upTo, name);
      for (const [o, v] of acked) assert.equal(log.get(o), v, `offset ${o} on ${name}`);
      const values = [...log.values()];
      assert.equal(new Set(values).size, values.length, `no value twice on ${name}`);
      assert.equal(log.size, acked.size, `on ${name}: only acknowledged records up to offset ${upTo}`);
    }
  }

  it(`CommitLogClient: produces keep succeeding, the client moves to the new leader within ${FAILOVER_BOUND_MS} ms, no acknowledged record lost or duplicated`, () =>
    pauseFailover('CommitLogClient', (_, __, client, routes) => clientProducing(client, routes)));

  it(`the load-balanced grpc-js channel: with ${CHANNEL_ATTEMPT_MS} ms attempts, produces resume within ${FAILOVER_BOUND_MS} ms (one timed-out attempt makes the leader a suspect), no acknowledged record lost or duplicated`, () =>
    pauseFailover('loadBalancedLogClient', (target, creds) => channelProducing(target, creds)));
});
