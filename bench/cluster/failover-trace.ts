/**
 * `tsx bench/cluster/failover-trace.ts`: where the time of a failover goes (issue 15). Runs
 * the failover of `npm run bench:cluster` (kill -9 of the leader, then unary Produce
 * attempts with a 500 ms deadline alternating between the two survivors until one succeeds:
 * the same client loop) and breaks each one down from the survivors' logs and the attempts:
 * kill → first pre-candidate (an election timeout fired) → pre-votes refused within the
 * leader lease → candidate → leader → the other survivor follows it → the first successful
 * produce (when it started, where it went, what the attempts before it got and how long
 * each took).
 *
 * Flags: --rounds N (failovers per cluster, default 5), --base ROOT (repeatable: also a
 * cluster from another checkout, e.g. the commit before a change, its failovers interleaved
 * with this checkout's), --json FILE (every failover's record).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { Metadata, type ServiceError } from '@grpc/grpc-js';
import type { LogClient } from '../../node/src/gen/v1/log.js';
import { benchPki, CommitlogCluster, waitFor } from './clusters.js';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    base: { type: 'string', multiple: true, default: [] },
    json: { type: 'string' },
  },
});

const log = (msg: string): void => void process.stderr.write(`[failover-trace] ${msg}\n`);

/** One produce attempt, times in ms after the kill. */
interface Attempt {
  readonly node: string;
  readonly start: number;
  readonly ms: number;
  /** "ok" or the gRPC status name and details. */
  readonly outcome: string;
}

/** One failover: its phases in ms after the kill (undefined: not seen in the logs). */
interface Failover {
  readonly cluster: string;
  readonly totalMs: number;
  readonly firstPreCandidate?: number;
  readonly leaseRefusals: number;
  readonly preCandidacies: number;
  readonly candidate?: number;
  readonly leader?: number;
  readonly newLeader?: string;
  readonly attempts: readonly Attempt[];
  /** The survivors' election lines: `ms node msg {fields}`. */
  readonly election: readonly string[];
}

interface LogLine {
  readonly time: string;
  readonly msg: string;
  readonly node?: string;
  readonly lead?: string | null;
  readonly id?: string;
}

function readLog(file: string, sinceMs: number): (LogLine & { t: number })[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const out: (LogLine & { t: number })[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const l = JSON.parse(line) as LogLine;
      const t = Date.parse(l.time);
      if (t >= sinceMs) out.push({ ...l, t: t - sinceMs });
    } catch {
      // a partial line at the end
    }
  }
  return out;
}

function unary(f: (cb: (e: Error | null) => void) => void): Promise<void> {
  return new Promise((res, rej) => f((e) => (e ? rej(e) : res())));
}

function describe(e: Partial<ServiceError>): string {
  return `${e.code ?? '?'} ${(e.details ?? e.message ?? '').slice(0, 80)}`;
}

async function oneFailover(c: CommitlogCluster, logDir: string): Promise<Failover> {
  const value = Buffer.alloc(256, 0x63);
  // (Retried: the leader the previous round's waitFormed saw may be moving; such elections are counted.)
  const leader = await waitFor('a leader', 60_000, () => c.leaderIndex());
  const survivors = [0, 1, 2].filter((i) => i !== leader);
  const clients = survivors.map((i) => c.client(i));
  await Promise.all(
    clients.map((cl) =>
      waitFor('a survivor to answer', 60_000, () => unary((cb) => cl.getServers({}, cb)).then(() => true)),
    ),
  );
  const wall0 = Date.now();
  const t0 = performance.now();
  await c.kill(leader);
  const attempts: Attempt[] = [];
  for (let attempt = 0; ; attempt++) {
    const k = attempt % clients.length;
    const cl = clients[k] as LogClient;
    const start = performance.now() - t0;
    try {
      await unary((cb) =>
        cl.produce(
          { record: { value, offset: 0, term: 0, type: 0 } },
          new Metadata(),
          { deadline: Date.now() + 500 },
          cb,
        ),
      );
      attempts.push({ node: `node-${survivors[k]}`, start, ms: performance.now() - t0 - start, outcome: 'ok' });
      break;
    } catch (e) {
      attempts.push({
        node: `node-${survivors[k]}`,
        start,
        ms: performance.now() - t0 - start,
        outcome: describe(e as ServiceError),
      });
      if (performance.now() - t0 > 30_000) throw new Error('failover: no successful produce within 30 s');
    }
  }
  const totalMs = performance.now() - t0;
  for (const cl of clients) cl.close();
  // The survivors' logs of the failover (their pino writes are asynchronous: wait for the leader line).
  const names = survivors.map((i) => `node-${i}`);
  const lines = await waitFor('the new leader in the logs', 20_000, async () => {
    const all = names.flatMap((n) => readLog(join(logDir, `${n}.log`), wall0).map((l) => ({ ...l, file: n })));
    return all.some((l) => l.msg === 'became leader') ? all.sort((a, b) => a.t - b.t) : undefined;
  }).catch(() => names.flatMap((n) => readLog(join(logDir, `${n}.log`), wall0).map((l) => ({ ...l, file: n }))));
  const first = (msg: string, file?: string): (LogLine & { t: number; file: string }) | undefined =>
    lines.find((l) => l.msg === msg && (file === undefined || l.file === file));
  const won = first('became leader');
  c.restart(leader);
  await c.waitFormed(120_000);
  return {
    cluster: c.o.name,
    totalMs: Math.round(totalMs),
    firstPreCandidate: first('became pre-candidate')?.t,
    preCandidacies: lines.filter((l) => l.msg === 'became pre-candidate').length,
    leaseRefusals: lines.filter((l) => l.msg === 'ignoring vote request within leader lease').length,
    candidate: first('became candidate')?.t,
    leader: won?.t,
    ...(won?.id !== undefined ? { newLeader: won.id } : {}),
    attempts: attempts.map((a) => ({ ...a, start: Math.round(a.start), ms: Math.round(a.ms) })),
    election: lines
      .filter((l) => /vote|became|lease|leader/i.test(l.msg) && l.t <= totalMs + 1000)
      .map((l) => {
        const { time: _time, msg, node: _node, t, file, ...rest } = l as LogLine & Record<string, unknown>;
        return `${t} ${file} ${msg} ${JSON.stringify(rest)}`;
      }),
  };
}

function summary(f: Failover): string {
  const ok = f.attempts[f.attempts.length - 1];
  const failed = f.attempts.slice(0, -1);
  const byOutcome = new Map<string, { n: number; ms: number }>();
  for (const a of failed) {
    const key = `${a.node} ${a.outcome.split(' ').slice(0, 4).join(' ')}`;
    const s = byOutcome.get(key) ?? { n: 0, ms: 0 };
    byOutcome.set(key, { n: s.n + 1, ms: s.ms + a.ms });
  }
  return (
    `${f.cluster}: total ${f.totalMs} ms | pre-candidate ${f.firstPreCandidate} (${f.preCandidacies}×, ` +
    `${f.leaseRefusals} lease refusals) → candidate ${f.candidate} → leader ${f.leader} (${f.newLeader}) | ` +
    `success: ${ok?.node} started ${ok?.start} took ${ok?.ms} ms | ` +
    `${failed.length} failed: ${[...byOutcome].map(([k, s]) => `${s.n}× ${k} (${Math.round(s.ms)} ms)`).join('; ')}`
  );
}

async function main(): Promise<void> {
  const rounds = Number(args.rounds);
  const { pki, dir, credentials } = await benchPki();
  const logRoot = mkdtempSync(join(tmpdir(), 'commitlog-failover-trace-'));
  const systems = [{ name: 'commitlog' }, ...args.base.map((root) => ({ name: basename(root), root }))];
  const clusters: { c: CommitlogCluster; logDir: string }[] = [];
  const out: Failover[] = [];
  try {
    for (const s of systems) {
      const logDir = mkdtempSync(join(logRoot, `${s.name}-`));
      clusters.push({ c: await CommitlogCluster.start({ ...s, pki, credentials, logDir }), logDir });
    }
    for (let r = 0; r < rounds; r++)
      for (const { c, logDir } of clusters) {
        const f = await oneFailover(c, logDir);
        out.push(f);
        log(`round ${r + 1}/${rounds} load ${loadavg()[0]?.toFixed(1)} ${summary(f)}`);
      }
  } finally {
    await Promise.all(clusters.map(({ c }) => c.stop()));
    rmSync(dir, { recursive: true, force: true });
    // Elections beyond the failovers' (the first one, one per failover) are spurious: a leader
    // that stepped down, or a node that won although a leader was alive.
    for (const { c, logDir } of clusters) {
      const all = [0, 1, 2].flatMap((i) => readLog(join(logDir, `node-${i}.log`), 0));
      const count = (msg: string): number => all.filter((l) => l.msg === msg).length;
      const failovers = out.filter((f) => f.cluster === c.o.name).length;
      log(
        `${c.o.name}: ${count('became leader')} elections won for ${failovers} failovers (+1 at the start); ` +
          `${count('lost contact with a quorum, stepping down')} check-quorum step-downs; ` +
          `${count('became pre-candidate')} pre-candidacies, ${count('became candidate')} candidacies`,
      );
    }
    rmSync(logRoot, { recursive: true, force: true });
  }
  for (const s of systems) {
    const t = out.filter((f) => f.cluster === s.name).map((f) => f.totalMs);
    log(`${s.name}: failovers ${t.join(', ')} ms; p50 ${[...t].sort((a, b) => a - b)[t.length >> 1]} ms`);
  }
  if (args.json !== undefined) writeFileSync(args.json, JSON.stringify(out, null, 2));
}

await main();
