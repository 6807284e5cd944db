/**
 * The chaos run itself; runs INSIDE the bridge namespace (scripts/chaos.ts starts it there
 * with `ip netns exec` after building the network, and removes the network afterwards).
 *
 *   tsx test/chaos/run.ts <prefix> <seed> <secs> [fault,fault…]   (prints the JSON summary on stdout)
 *
 * Three agents, each started with `ip netns exec <prefix>-n<i>` (so it lives in its own
 * namespace, advertising 10.77.0.<i+1>), three idempotent producers (CommitLogClient) and a
 * consumer. Faults, chosen by a seeded RNG, one at a time, each healed before the next and
 * followed by a wait for a successful produce: isolate the leader, a 2/1 split, netem delay +
 * loss, kill -9 and restart, SIGSTOP/SIGCONT of the leader. At the end the network is healed,
 * the logs of all nodes are read directly and checked (check.ts). Exit 1 on any violation.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { ensureLocalPki, ensureNodeCert, localPkiFlags, nodeCertFiles } from '../../node/src/agent/local-pki.js';
import { CommitLogClient } from '../../node/src/client/index.js';
import { seededRng } from '../../node/src/raft/core/env.js';
import { clientCredentials } from '../../node/src/tls/credentials.js';
import { percentile, verdict, type ProduceOutcome, type ReadOutcome } from './check.js';
import { inNs, netNames, nodeIp } from './netns.js';
import { readAll } from '../support/read-all.js';

const MAIN = fileURLToPath(new URL('../../node/src/agent/main.ts', import.meta.url));
const N = 3;
const PRODUCERS = 3;
const RPC = 8400;
const TLS_NAME = 'localhost';

/** The fault kinds, in the order the RNG indexes them. */
export const FAULTS = ['isolate-leader', 'split-2-1', 'netem', 'kill-restart', 'pause-leader'] as const;
/** Faults run only when asked for (`--faults`): a follower killed, its data directory removed, restarted. */
export const EXTRA_FAULTS = ['wipe-follower'] as const;
export type FaultKind = (typeof FAULTS)[number] | (typeof EXTRA_FAULTS)[number];

const say = (m: string): void => void process.stderr.write(`[chaos ${new Date().toISOString().slice(11, 23)}] ${m}\n`);

async function waitFor<T>(what: string, ms: number, f: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await f();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${ms} ms waiting for ${what} (last error: ${String(last)})`);
    await sleep(200);
  }
}

/** Whether the kernel has the netem qdisc (tried on `lo` of namespace `ns`, then removed). */
function netemAvailable(ns: string): boolean {
  try {
    inNs(ns, 'tc', 'qdisc', 'add', 'dev', 'lo', 'root', 'netem', 'delay', '1ms');
    inNs(ns, 'tc', 'qdisc', 'del', 'dev', 'lo', 'root');
    return true;
  } catch {
    return false;
  }
}

/**
 * Delay and loss on `ns`'s eth0: netem where the kernel has it; otherwise random loss with
 * iptables' statistic match (rules in that namespace only) and a tbf rate limit whose queue
 * adds delay.
 */
function degrade(ns: string, netem: boolean, pick: (n: number) => number): void {
  const loss = 5 + pick(15);
  if (netem) {
    inNs(
      ns,
      'tc',
      'qdisc',
      'add',
      'dev',
      'eth0',
      'root',
      'netem',
      'delay',
      `${50 + pick(150)}ms`,
      '20ms',
      'loss',
      `${loss}%`,
    );
    return;
  }
  for (const chain of ['INPUT', 'OUTPUT'])
    inNs(
      ns,
      'iptables',
      '-A',
      chain,
      '-m',
      'statistic',
      '--mode',
      'random',
      '--probability',
      String(loss / 100),
      '-j',
      'DROP',
    );
  inNs(
    ns,
    'tc',
    'qdisc',
    'add',
    'dev',
    'eth0',
    'root',
    'tbf',
    'rate',
    `${256 + pick(768)}kbit`,
    'burst',
    '16kbit',
    'latency',
    '200ms',
  );
}

function undegrade(ns: string): void {
  inNs(ns, 'tc', 'qdisc', 'del', 'dev', 'eth0', 'root');
  inNs(ns, 'iptables', '-F');
}

async function main(prefix: string, seed: number, secs: number, kinds: readonly FaultKind[]): Promise<number> {
  const net = netNames(prefix, N);
  const rng = seededRng(seed);
  const pick = (n: number): number => Math.floor(rng.nextFloat() * n);
  const root = mkdtempSync(join(tmpdir(), 'commitlog-chaos-'));
  const { paths: pki } = await ensureLocalPki(root);
  const names = Array.from({ length: N }, (_, i) => `c${i}`);
  for (const n of names) await ensureNodeCert(pki, n);
  const creds = clientCredentials({ caFile: pki.ca, certFile: pki.rootCert, keyFile: pki.rootKey });
  const chan = { 'grpc.ssl_target_name_override': TLS_NAME, 'grpc.default_authority': TLS_NAME };
  const procs: (ChildProcess | undefined)[] = [];
  const tails: string[] = names.map(() => '');

  const start = (i: number, bootstrap: boolean): void => {
    const flags = {
      'node-name': names[i] as string,
      'data-dir': join(root, names[i] as string),
      'bind-addr': `${nodeIp(i)}:8401`,
      'rpc-port': String(RPC),
      'http-port': '8402',
      'json-port': '0',
      'cluster-id': 'chaos',
      'gossip-preset': 'local',
      'start-join-addrs': names.flatMap((_, j) => (j === i ? [] : [`${nodeIp(j)}:8401`])).join(','),
      'log-level': 'info',
      ...localPkiFlags(pki, nodeCertFiles(pki, names[i] as string)),
    };
    const args = [...Object.entries(flags).map(([k, v]) => `--${k}=${v}`), ...(bootstrap ? ['--bootstrap'] : [])];
    // `ip netns exec` execs the command in place: the child's pid is the agent's.
    const p = spawn(
      'ip',
      ['netns', 'exec', net.nodes[i] as string, process.execPath, '--import', 'tsx', MAIN, ...args],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const keep = (d: Buffer): void => void (tails[i] = (tails[i] + d.toString()).slice(-3000));
    p.stdout.on('data', keep);
    p.stderr.on('data', keep);
    procs[i] = p;
  };
  const kill = async (i: number): Promise<void> => {
    const p = procs[i];
    if (p === undefined || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await exited;
  };

  const client = (): CommitLogClient =>
    new CommitLogClient({
      target: `commitlog:///${names.map((_, i) => `${nodeIp(i)}:${RPC}`)[0]}`,
      credentials: creds,
      channelOptions: chan,
      deadlineMs: 30_000,
      refreshMs: 500,
    });
  const admin = client();
  const leader = async (): Promise<number | undefined> => {
    const s = await admin.getServers();
    const l = s.find((x) => x.isLeader);
    return l === undefined || s.filter((x) => x.isVoter).length < N ? undefined : names.indexOf(l.id);
  };

  let stopping = false;
  const produces: ProduceOutcome[] = [];
  const reads: ReadOutcome[] = [];
  let clock = 0;
  const faults: { kind: FaultKind; node: number; at: number; healedAt?: number; failoverMs?: number }[] = [];
  const loops: Promise<void>[] = [];
  try {
    start(0, true);
    for (let i = 1; i < N; i++) start(i, false);
    const withNetem = netemAvailable(net.nodes[0] as string);
    if (!withNetem) say('this kernel has no netem qdisc: the netem fault uses iptables random loss + a tbf rate limit');
    const l0 = await waitFor('a leader with 3 voters', 120_000, leader);
    say(`cluster up, leader c${l0}; seed ${seed}, ${secs} s of faults`);

    for (let p = 0; p < PRODUCERS; p++) {
      const c = client();
      loops.push(
        (async () => {
          for (let seq = 0; !stopping; seq++) {
            const value = `p${p}-${seq}`;
            const call = ++clock;
            const sentAt = Date.now();
            try {
              const offset = await c.produce(Buffer.from(value));
              produces.push({ producer: p, value, call, ret: ++clock, at: Date.now(), sentAt, offset });
            } catch (e) {
              produces.push({ producer: p, value, call, ret: ++clock, at: Date.now(), sentAt, error: String(e) });
            }
            await sleep(20);
          }
          c.close();
        })(),
      );
    }
    const consumer = client();
    loops.push(
      (async () => {
        let next = 0;
        while (!stopping) {
          const call = ++clock;
          try {
            const r = await consumer.consume(next);
            reads.push({ offset: next, value: r.value.toString(), call, ret: ++clock });
            next++;
          } catch {
            // Not yet written, or unreachable: a read has no effect, so it is left out of the history.
            await sleep(50);
          }
        }
        consumer.close();
      })(),
    );

    const endAt = Date.now() + secs * 1000;
    while (Date.now() < endAt) {
      const kind = kinds[pick(kinds.length)] as FaultKind;
      const holdMs = 2000 + pick(3000);
      const lead = (await leader().catch(() => undefined)) ?? 0;
      const node =
        kind === 'isolate-leader' || kind === 'pause-leader'
          ? lead
          : kind === 'wipe-follower'
            ? (lead + 1 + pick(N - 1)) % N
            : pick(N);
      const ns = net.nodes[node] as string;
      const at = Date.now();
      say(`fault ${kind} on c${node} (leader c${lead}) for ${holdMs} ms`);
      if (kind === 'isolate-leader' || kind === 'split-2-1') inNs(ns, 'ip', 'link', 'set', 'eth0', 'down');
      else if (kind === 'netem') degrade(ns, withNetem, pick);
      else if (kind === 'kill-restart') await kill(node);
      else if (kind === 'wipe-follower') {
        await kill(node);
        rmSync(join(root, names[node] as string), { recursive: true, force: true });
      } else procs[node]?.kill('SIGSTOP');
      await sleep(holdMs);
      if (kind === 'isolate-leader' || kind === 'split-2-1') inNs(ns, 'ip', 'link', 'set', 'eth0', 'up');
      else if (kind === 'netem') undegrade(ns);
      else if (kind === 'kill-restart' || kind === 'wipe-follower') start(node, false);
      else procs[node]?.kill('SIGCONT');
      const f: (typeof faults)[number] = { kind, node, at, healedAt: Date.now() };
      faults.push(f);
      // Healed: wait until the cluster acknowledges a produce sent after the heal, and has 3 voters again.
      await waitFor(`an acknowledged produce after healing ${kind}`, 90_000, async () =>
        produces.some((o) => o.offset !== undefined && o.sentAt >= (f.healedAt as number)) ? true : undefined,
      );
      await waitFor('3 voters and a leader', 90_000, leader);
      const first = produces.find((o) => o.offset !== undefined && o.sentAt >= at);
      if (first !== undefined) f.failoverMs = first.at - at;
    }
    stopping = true;
    await Promise.all(loops);

    // Every node's whole log, read directly, until all hold as much as the highest acknowledged offset.
    const highest = Math.max(-1, ...produces.map((o) => o.offset ?? -1));
    const logs = await waitFor('every node to hold every acknowledged offset', 120_000, async () => {
      const m = new Map<string, string[]>();
      for (const [i, n] of names.entries()) m.set(n, await readAll(`${nodeIp(i)}:${RPC}`, creds, chan));
      const lens = [...m.values()].map((l) => l.length);
      return lens.every((x) => x === lens[0]) && (lens[0] ?? 0) > highest ? m : undefined;
    });
    const v = verdict(logs, produces, reads, 3_000_000);
    const byKind = Object.fromEntries(
      FAULTS.map((k) => {
        const ms = faults.filter((f) => f.kind === k && f.failoverMs !== undefined).map((f) => f.failoverMs as number);
        return [
          k,
          {
            count: faults.filter((f) => f.kind === k).length,
            failoverP50Ms: percentile(ms, 50),
            failoverMaxMs: ms.length ? Math.max(...ms) : undefined,
          },
        ];
      }),
    );
    const summary = {
      seed,
      secs,
      ok: v.problems.length === 0,
      degrade: withNetem ? 'netem' : 'iptables-loss+tbf',
      ...v,
      faults: byKind,
      timeline: faults,
    };
    process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
    return summary.ok ? 0 : 1;
  } catch (e) {
    say(`ERROR: ${(e as Error).stack ?? String(e)}`);
    tails.forEach((t, i) => say(`--- c${i} tail ---\n${t}`));
    process.stdout.write(JSON.stringify({ seed, secs, ok: false, error: String(e), timeline: faults }) + '\n');
    return 1;
  } finally {
    stopping = true;
    admin.close();
    for (const [i, p] of procs.entries()) {
      p?.kill('SIGCONT');
      await kill(i);
    }
    rmSync(root, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const [prefix, seed, secs, faults] = process.argv.slice(2);
  const kinds = faults === undefined || faults === '' ? [...FAULTS] : (faults.split(',') as FaultKind[]);
  main(prefix ?? 'clc', Number(seed ?? 1), Number(secs ?? 30), kinds).then(
    (code) => process.exit(code),
    (e: unknown) => {
      say(`ERROR: ${String(e)}`);
      process.exit(1);
    },
  );
}
