/**
 * The chaos run itself; runs INSIDE the bridge namespace (scripts/chaos.ts starts it there
 * with `ip netns exec` after building the network, and removes the network afterwards).
 *
 *   tsx test/chaos/run.ts <prefix> <seed> <secs> [fault,fault…]   (prints the JSON summary on stdout)
 *
 * Three agents in their own namespaces (agents.ts), three idempotent producers
 * (CommitLogClient) and a consumer. Faults (faults.ts), chosen by a seeded RNG, one at a
 * time: injected, held 2-5 s, healed, then the run waits (bounded) for an acknowledged
 * produce sent after the heal and for the cluster to be healed (heal.ts: every node a
 * caught-up voter of one leader under its current storage id) before the next. At the end
 * the logs of all nodes are read directly and checked (check.ts), together with whatever a
 * fault saw while it was held (a rogue member listed anywhere). Exit 1 on any violation.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ensureLocalPki } from '../../node/src/agent/local-pki.js';
import { CommitLogClient } from '../../node/src/client/index.js';
import { seededRng } from '../../node/src/raft/core/env.js';
import { clientCredentials } from '../../node/src/tls/credentials.js';
import { CHANNEL, ChaosAgents } from './agents.js';
import { percentile, verdict, type ProduceOutcome, type ReadOutcome } from './check.js';
import { FAULTS, NAMESPACES, inject, netemAvailable, type FaultContext, type FaultKind } from './faults.js';
import { netNames } from './netns.js';
import { readAll } from '../support/read-all.js';
import { isMain } from '../support/is-main.js';

const N = 3;
const PRODUCERS = 3;
/**
 * How long a heal may take. A restarted agent is nearly all of it: 3-5 s on a quiet machine,
 * 77 s measured at load 30 (a wiped follower, seed 13), then catch-up and promotion.
 */
const HEAL_MS = 240_000;

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

async function main(prefix: string, seed: number, secs: number, kinds: readonly FaultKind[]): Promise<number> {
  const net = netNames(prefix, NAMESPACES);
  const rng = seededRng(seed);
  const pick = (n: number): number => Math.floor(rng.nextFloat() * n);
  const root = mkdtempSync(join(tmpdir(), 'commitlog-chaos-'));
  // Each agent's whole output, kept after a failed run (removed after a passing one).
  const logDir = `${root}-logs`;
  mkdirSync(logDir);
  let keepLogs = true;
  const { paths: pki } = await ensureLocalPki(root);
  const creds = clientCredentials({ caFile: pki.ca, certFile: pki.rootCert, keyFile: pki.rootKey });
  const members = Array.from({ length: N }, (_, i) => i);
  const agents = new ChaosAgents({ root, logDir, pki, nodeNs: net.nodes, creds });
  for (const i of members) await agents.prepare(i);

  const client = (): CommitLogClient =>
    new CommitLogClient({
      target: `commitlog:///${agents.rpcAddr(0)}`,
      credentials: creds,
      channelOptions: CHANNEL,
      deadlineMs: 30_000,
      refreshMs: 500,
    });
  const healed = (): Promise<true | undefined> =>
    agents.unhealed(members).then((why) => {
      lastUnhealed = why;
      return why === undefined ? true : undefined;
    });
  let lastUnhealed: string | undefined;

  let stopping = false;
  const produces: ProduceOutcome[] = [];
  const reads: ReadOutcome[] = [];
  const problems: string[] = [];
  let clock = 0;
  const faults: {
    kind: FaultKind;
    node: number;
    at: number;
    detail?: string;
    healedAt?: number;
    failoverMs?: number;
    note?: string;
  }[] = [];
  const loops: Promise<void>[] = [];
  // The harness's own heap (MB used) at each phase boundary, in the summary and on stderr;
  // after a full collection when node runs with --expose-gc (scripts/chaos.ts starts it so).
  const heap: Record<string, number> = {};
  const heapAt = (phase: string): void => {
    globalThis.gc?.();
    heap[phase] = Math.round(process.memoryUsage().heapUsed / 2 ** 20);
    say(`heap ${heap[phase]} MB at ${phase} (${produces.length} produces, ${reads.length} reads)`);
  };
  try {
    agents.start(0, members, true);
    for (const i of members.slice(1)) agents.start(i, members);
    const withNetem = netemAvailable(net.nodes[0] as string);
    if (!withNetem) say('this kernel has no netem qdisc: the netem fault uses iptables random loss + a tbf rate limit');
    await waitFor('3 caught-up voters', 120_000, healed).catch((e: Error) => {
      throw new Error(`${e.message}: ${lastUnhealed}`);
    });
    say(`cluster up, leader c${await agents.leader(members)}; seed ${seed}, ${secs} s of faults: ${kinds.join(', ')}`);

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

    const ctx: FaultContext = {
      agents,
      ns: (i) => net.nodes[i] as string,
      members,
      pki,
      netem: withNetem,
      pick,
      waitFor,
      problem: (m) => {
        if (problems.length < 50) problems.push(m);
      },
      say,
    };
    const endAt = Date.now() + secs * 1000;
    while (Date.now() < endAt) {
      const kind = kinds[pick(kinds.length)] as FaultKind;
      const holdMs = 2000 + pick(3000);
      const lead = (await agents.leader(members)) ?? 0;
      const at = Date.now();
      const f: (typeof faults)[number] = { kind, node: -1, at };
      faults.push(f);
      const injected = await inject(ctx, kind, lead);
      f.node = injected.node;
      if (injected.detail !== undefined) f.detail = injected.detail;
      say(
        `fault ${kind} on c${f.node}${injected.detail ? ` (${injected.detail})` : ''} (leader c${lead}) for ${holdMs} ms`,
      );
      await sleep(holdMs);
      const note = await injected.heal();
      if (note !== undefined) f.note = note;
      f.healedAt = Date.now();
      // Healed: the cluster acknowledges a produce sent after the heal, and every node is, under
      // its current storage id, a caught-up voter of one leader (heal.ts).
      await waitFor(`an acknowledged produce after healing ${kind}`, 120_000, async () =>
        produces.some((o) => o.offset !== undefined && o.sentAt >= (f.healedAt as number)) ? true : undefined,
      );
      await waitFor(`the cluster to heal after ${kind}`, HEAL_MS, healed).catch((e: Error) => {
        throw new Error(`${e.message}: ${lastUnhealed}`);
      });
      const first = produces.find((o) => o.offset !== undefined && o.sentAt >= at);
      if (first !== undefined) f.failoverMs = first.at - at;
    }
    stopping = true;
    await Promise.all(loops);
    heapAt('faults done');

    // Every node's whole log, read directly, until all hold as much as the highest acknowledged offset.
    // (A reduce, not Math.max(...): a spread of a long run's history overflows the stack.)
    const highest = produces.reduce((m, o) => Math.max(m, o.offset ?? -1), -1);
    const logs = await waitFor('every node to hold every acknowledged offset', 120_000, async () => {
      // All three at once, each the acknowledged prefix in batches first (read-all.ts).
      const read = await Promise.all(
        members.map((i) => readAll(agents.rpcAddr(i), creds, CHANNEL, { prefix: highest + 1 })),
      );
      const m = new Map(members.map((i, k) => [ChaosAgents.nameOf(i), read[k] as string[]]));
      const lens = [...m.values()].map((l) => l.length);
      return lens.every((x) => x === lens[0]) && (lens[0] ?? 0) > highest ? m : undefined;
    });
    heapAt('logs read');
    const v = verdict(logs, produces, reads);
    heapAt('checked');
    const byKind = Object.fromEntries(
      kinds
        .filter((k, i) => kinds.indexOf(k) === i)
        .map((k) => {
          const ms = faults
            .filter((f) => f.kind === k && f.failoverMs !== undefined)
            .map((f) => f.failoverMs as number);
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
    const all = [...problems, ...v.problems];
    const summary = {
      seed,
      secs,
      ok: all.length === 0,
      degrade: withNetem ? 'netem' : 'iptables-loss+tbf',
      ...v,
      problems: all,
      heapMb: heap,
      faults: byKind,
      timeline: faults,
    };
    process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
    keepLogs = !summary.ok;
    return summary.ok ? 0 : 1;
  } catch (e) {
    say(`ERROR: ${(e as Error).stack ?? String(e)}`);
    members.forEach((i) => say(`--- c${i} tail ---\n${agents.tail(i)}`));
    process.stdout.write(
      JSON.stringify({ seed, secs, ok: false, error: String(e), problems, timeline: faults }) + '\n',
    );
    return 1;
  } finally {
    stopping = true;
    await agents.close();
    rmSync(root, { recursive: true, force: true });
    if (keepLogs) say(`agents' logs kept in ${logDir}`);
    else rmSync(logDir, { recursive: true, force: true });
  }
}

if (isMain(import.meta)) {
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
