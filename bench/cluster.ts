/**
 * `npm run bench:cluster` (issue 15): a real 3-node commitlog cluster, a 3-member etcd cluster
 * and a no-op grpc-js server, side by side in one run with one load generator; prints one
 * JSON document. See bench/cluster/clusters.ts for how each system is started and
 * bench/cluster/summary.ts for the medians, per-round ratios and the issue's targets.
 *
 * Durability: a commitlog acknowledgement means the record is committed on a quorum and
 * fdatasynced there (the Raft shell persists before it sends and acknowledges; nothing here
 * turns that off); etcd runs with its default fsync (no --unsafe-no-fsync).
 *
 * Workloads, in interleaved rounds (each round runs every target back to back, the order
 * rotating per round): unary Produce / etcd Put of 256-byte values at c = 1, 16, 64, 256, to
 * the leader and through a follower; ProduceStream with 256 in flight; ConsumeStream from a
 * follower; both streams again with the opt-in batches (32 records per ProduceStream request,
 * on this checkout's cluster and the ceiling; batch_records 256 on ConsumeStream). Once: idle CPU of each cluster before the load, failover (kill -9 of the leader
 * until the first successful Produce through a survivor, repeated), resident memory of every
 * node after the run.
 *
 * Flags: --quick (a short smoke run), --rounds N, --seconds S (measured per phase),
 * --variant NAME=ROOT[,FLAG...] (another commitlog cluster from checkout ROOT with extra
 * agent flags, measured in the same rounds: before/after of a change; repeatable; a variant's
 * --gossip-preset replaces the default one, and --start-defaults=before starts it without the
 * node arguments and environment of node/src/agent/process-env.ts, as before issue 15's levers),
 * --concurrency 1,64 (unary callers), --skip-failover, --root DIR (run the main "commitlog"
 * cluster from another checkout, e.g. to profile the code before a change).
 * Env BENCH_CLUSTER_PROFILE_DIR: the main cluster's nodes run with `--cpu-prof` into that
 * directory (they are stopped with SIGTERM so the profiles get written).
 */
import { cpus, loadavg, totalmem } from 'node:os';
import { rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Metadata } from '@grpc/grpc-js';
import { isolatedClient } from '../node/src/server/testing/fixtures.js';
import type { LogClient } from '../node/src/gen/v1/log.js';
import { binaryPath } from '../test/controlplane/binaries.js';
import { testbinDir } from '../test/controlplane/config.js';
import {
  benchPki,
  CommitlogCluster,
  EtcdCluster,
  startNoop,
  type Proc,
  stopProc,
  waitFor,
} from './cluster/clusters.js';
import { etcdKvClient } from './cluster/etcd-wire.js';
import {
  closedLoop,
  consumeStream,
  produceOp,
  produceStream,
  VALUE_BYTES,
  type UnaryOp,
  type Window,
} from './cluster/load.js';
import { rssMiB, totalCpuSeconds } from './cluster/proc-stat.js';
import { checkTargets, mediansOf, ratioSpecs, ratiosOf, type Sample } from './cluster/summary.js';
import { parseVariant } from './cluster/variant.js';
import { LogClient as Client } from '../node/src/gen/v1/log.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    seconds: { type: 'string' },
    variant: { type: 'string', multiple: true, default: [] },
    concurrency: { type: 'string' },
    'skip-failover': { type: 'boolean', default: false },
    root: { type: 'string' },
  },
});
const quick = args.quick;
const ROUNDS = Number(args.rounds ?? (quick ? 1 : 3));
const WINDOW: Window = { warmupMs: quick ? 300 : 700, measureMs: Number(args.seconds ?? (quick ? 0.7 : 2.5)) * 1000 };
const CONCURRENCY = args.concurrency?.split(',').map(Number) ?? (quick ? [1, 64] : [1, 16, 64, 256]);
const IDLE_MS = quick ? 2000 : 10_000;
const FAILOVERS = args['skip-failover'] ? 0 : quick ? 1 : 5;
const CONSUME_MAX = quick ? 20_000 : 200_000;
/** Records per ProduceStream request and ConsumeStream message on the batched workloads. */
const PRODUCE_BATCH = 32;
const CONSUME_BATCH = 256;
const BATCHED_PRODUCE = `produceStream.256.batch${PRODUCE_BATCH}`;
const BATCHED_CONSUME = `consumeStream.batch${CONSUME_BATCH}`;
const variants = args.variant.map(parseVariant);

const log = (msg: string): void => void process.stderr.write(`[bench:cluster] ${msg}\n`);

interface Target {
  readonly name: string;
  readonly op: (c: number) => UnaryOp;
  readonly pids: () => number[];
}

function unary(f: (cb: (e: Error | null) => void) => void): Promise<void> {
  return new Promise((res, rej) => f((e) => (e ? rej(e) : res())));
}

/** Pushes each failover's time to `out` as it is measured (the ones before a failure are kept). */
async function failover(c: CommitlogCluster, n: number, out: number[]): Promise<void> {
  const value = Buffer.alloc(VALUE_BYTES, 0x63);
  for (let k = 0; k < n; k++) {
    const leader = await c.leaderIndex();
    const survivors = [0, 1, 2].filter((i) => i !== leader);
    const clients = survivors.map((i) => c.client(i));
    // Connected before the kill, so the measurement is the cluster's, not the TLS handshake's
    // (a node restarted by the previous failover may still be starting: wait for it).
    await Promise.all(
      clients.map((cl) =>
        waitFor('a survivor to answer', 60_000, () => unary((cb) => cl.getServers({}, cb)).then(() => true)),
      ),
    );
    const t0 = performance.now();
    await c.kill(leader);
    let done = false;
    for (let attempt = 0; !done; attempt++) {
      const cl = clients[attempt % clients.length] as LogClient;
      try {
        await unary((cb) =>
          cl.produce(
            { record: { value, offset: 0, term: 0, type: 0 } },
            new Metadata(),
            { deadline: Date.now() + 500 },
            cb,
          ),
        );
        done = true;
      } catch {
        if (performance.now() - t0 > 30_000) throw new Error('failover: no successful produce within 30 s');
      }
    }
    out.push(Math.round(performance.now() - t0));
    for (const cl of clients) cl.close();
    c.restart(leader);
    await c.waitFormed(120_000);
    log(`failover ${k + 1}/${n}: ${out[out.length - 1]} ms`);
  }
}

async function nextOffset(client: LogClient): Promise<number> {
  return new Promise((res) =>
    client.consume({ offset: Number.MAX_SAFE_INTEGER }, (e) =>
      res(Number(e?.metadata.get('commitlog-next-offset')[0] ?? 0)),
    ),
  );
}

async function main(): Promise<void> {
  const started = { date: new Date().toISOString(), load: loadavg().map((x) => Number(x.toFixed(2))) };
  const { pki, dir: pkiDir, credentials } = await benchPki();
  const cleanups: (() => Promise<void>)[] = [async () => rmSync(pkiDir, { recursive: true, force: true })];
  try {
    log(
      'starting etcd (3 members), commitlog (3 nodes)' +
        variants.map((v) => `, ${v.name} (3 nodes)`).join('') +
        ', no-op',
    );
    const etcd = await EtcdCluster.start(binaryPath(testbinDir(), 'etcd'), pki);
    cleanups.push(() => etcd.stop());
    const clusters: CommitlogCluster[] = [];
    for (const v of [{ name: 'commitlog', root: args.root, flags: [] as string[] }, ...variants]) {
      const profileDir = v.name === 'commitlog' ? process.env.BENCH_CLUSTER_PROFILE_DIR : undefined;
      const c = await CommitlogCluster.start({
        name: v.name,
        root: v.root,
        flags: v.flags,
        pki,
        credentials,
        nodeArgs: profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [],
      });
      cleanups.push(() => c.stop());
      clusters.push(c);
    }
    const noop: Proc = await startNoop(pki);
    cleanups.push(() => stopProc(noop.proc));
    const main = clusters[0] as CommitlogCluster;

    log(`idle CPU over ${IDLE_MS} ms`);
    const idle0 = [etcd, ...clusters].map((c) => totalCpuSeconds(c.pids()));
    await sleep(IDLE_MS);
    const idle1 = [etcd, ...clusters].map((c) => totalCpuSeconds(c.pids()));
    const idlePer10s = (i: number): number =>
      Number((((idle1[i] ?? 0) - (idle0[i] ?? 0)) * (10_000 / IDLE_MS)).toFixed(3));
    const idle: Record<string, number> = { etcd: idlePer10s(0) };
    clusters.forEach((c, i) => (idle[c.o.name] = idlePer10s(i + 1)));

    // Targets: every commitlog cluster's leader and a follower, etcd's leader and a follower, the ceiling.
    const targets: Target[] = [];
    const closers: { close(): void }[] = [];
    for (const c of clusters) {
      const li = await c.leaderIndex();
      const fi = (li + 1) % 3;
      for (const [role, i] of [
        ['leader', li],
        ['follower', fi],
      ] as const) {
        const client = c.client(i);
        closers.push(client);
        targets.push({ name: `${c.o.name}.${role}`, op: () => produceOp(client), pids: () => c.pids() });
      }
    }
    const eli = await etcd.leaderIndex();
    let key = 0;
    for (const [role, i] of [
      ['leader', eli],
      ['follower', (eli + 1) % 3],
    ] as const) {
      const kv = etcdKvClient((etcd.members[i] as Proc).addr, credentials, isolatedClient);
      closers.push(kv);
      const value = Buffer.alloc(VALUE_BYTES, 0x61);
      targets.push({
        name: `etcd.${role}`,
        op: () => () => unary((cb) => kv.put({ key: Buffer.from(`bench-${key++ % 10_000}`), value }, cb)),
        pids: () => etcd.pids(),
      });
    }
    const noopClient = new Client(noop.addr, credentials, isolatedClient);
    closers.push(noopClient);
    targets.push({ name: 'noop', op: () => produceOp(noopClient), pids: () => (noop.proc.pid ? [noop.proc.pid] : []) });

    const samples: Sample[] = [];
    const push = (round: number, workload: string, target: string, r: Awaited<ReturnType<typeof closedLoop>>): void => {
      samples.push({ round, workload, target, ...r });
      log(
        `round ${round} ${workload} ${target}: ${r.opsPerSec}/s p50 ${r.p50Ms ?? '-'} ms, ${r.serverCpuUsPerOp} µs CPU/op, load ${r.load1.toFixed(2)}${r.errors ? `, ${r.errors} errors` : ''}`,
      );
    };
    for (let round = 0; round < ROUNDS; round++) {
      const order = targets.map((_, i) => targets[(i + round) % targets.length] as Target);
      for (const c of CONCURRENCY)
        for (const t of order) push(round, `unary.c${c}`, t.name, await closedLoop(t.op(c), c, WINDOW, t.pids()));
      const streamers = order.filter((t) => t.name.endsWith('.leader') && !t.name.startsWith('etcd'));
      for (const t of [...streamers, targets.find((t) => t.name === 'noop') as Target]) {
        const c = t.name === 'noop' ? noopClient : clusters.find((x) => t.name.startsWith(`${x.o.name}.`));
        const client = c instanceof CommitlogCluster ? c.client(await c.leaderIndex()) : (c as LogClient);
        push(round, 'produceStream.256', t.name, await produceStream(client, 256, WINDOW, t.pids()));
        // The opt-in batches (issue 15) on this checkout's cluster and the ceiling; a variant
        // from before them would refuse a batched request.
        if (t.name === 'commitlog.leader' || t.name === 'noop')
          push(round, BATCHED_PRODUCE, t.name, await produceStream(client, 256, WINDOW, t.pids(), PRODUCE_BATCH));
        if (client !== noopClient) client.close();
      }
      for (const c of clusters) {
        const fi = ((await c.leaderIndex()) + 1) % 3;
        const client = c.client(fi);
        const upTo = Math.min(CONSUME_MAX, await nextOffset(client));
        push(round, 'consumeStream', `${c.o.name}.follower`, await consumeStream(client, upTo, c.pids()));
        if (c === main)
          push(
            round,
            BATCHED_CONSUME,
            'commitlog.follower',
            await consumeStream(client, upTo, c.pids(), CONSUME_BATCH),
          );
        client.close();
      }
    }
    for (const c of closers) c.close();

    // Resident memory after the load, before the failovers restart nodes.
    const rss: Record<string, number[]> = { etcd: etcd.pids().map((p) => Math.round(rssMiB(p))) };
    for (const c of clusters) rss[c.o.name] = c.pids().map((p) => Math.round(rssMiB(p)));
    log(`failover x${FAILOVERS}`);
    // A failure here must not lose the measurements above: it is reported in the JSON.
    let failoverError: string | undefined;
    const failoverMs: number[] = [];
    await failover(main, FAILOVERS, failoverMs).catch((err: Error) => (failoverError = err.message));

    const medians = mediansOf(samples);
    const ratios = ratiosOf(samples, ratioSpecs(variants.map((v) => v.name)));
    const result = {
      bench: 'cluster',
      ...started,
      loadAtEnd: loadavg().map((x) => Number(x.toFixed(2))),
      machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memGiB: Math.round(totalmem() / 2 ** 30) },
      node: process.version,
      quick,
      durability:
        'commitlog: an acknowledgement means committed on a quorum and fdatasynced on it (fsync on, default Raft preset); ' +
        'etcd: default fsync (no --unsafe-no-fsync); no-op: nothing (the ceiling)',
      setup: {
        commitlog:
          '3 agent processes, flags of scripts/start.ts (mutual TLS, encrypted gossip, default log levels), free ports',
        etcd: '3 members, etcd from the control-plane test binaries, mutual TLS (clients and peers)',
        noop: 'grpc-js server, same log.v1.Log service and mutual TLS, handlers do nothing',
        variants,
        valueBytes: VALUE_BYTES,
        rounds: ROUNDS,
        window: WINDOW,
        concurrency: CONCURRENCY,
        loadGenerator: 'this process: one grpc-js channel per target, closed loops of c callers',
      },
      idleCpuSecondsPer10s: idle,
      failoverMs: {
        ...(failoverError !== undefined ? { error: failoverError } : {}),
        runs: failoverMs,
        p50: failoverMs.length ? [...failoverMs].sort((a, b) => a - b)[failoverMs.length >> 1] : null,
      },
      rssMiBAfterRun: rss,
      medians,
      ratios,
      targets: checkTargets({
        ratios,
        medians,
        failoverMs,
        idleCpuSecondsPer10s: { commitlog: idle.commitlog ?? 0, etcd: idle.etcd ?? 0 },
        rssMiB: rss.commitlog ?? [],
      }),
      samples,
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    for (const c of cleanups.reverse()) await c().catch(() => {});
  }
}

await main();
