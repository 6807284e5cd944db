/**
 * `tsx bench/cluster/idle.ts`: idle CPU of a 3-node commitlog cluster started as `npm start`
 * starts it (and, with --etcd, of etcd's 3 members next to it), in CPU seconds per 10 s from
 * /proc/<pid>/stat: a load-insensitive measure of the wakeups an idle cluster costs (issue 15).
 *
 * Flags: --seconds S (each window, default 10), --windows N (default 3), --etcd,
 * --flag F (an extra agent flag, repeatable), --node-arg A (an extra node argument for every
 * agent, repeatable: e.g. `--import=$PWD/bench/cluster/count-timers.mjs`, timer fires per source), --base DIR (repeatable: also run a
 * 3-node cluster from another checkout DIR, named after its last path component, e.g.
 * `git archive main | tar -x -C DIR` with its node_modules linked, measured in the same
 * windows: before/after under the same load), --hold (print the
 * pids and wait for SIGINT, to attach strace or read /proc by hand), --prof-dir D (nodes run
 * under `--cpu-prof` into D; summarize with `tsx bench/cluster/profile-summary.ts FILE`).
 *
 * Each window prints, per system: CPU-s per 10 s from /proc/<pid>/stat (10 ms ticks) with the
 * per-process split, the same from the threads' schedstat (ns, `sched`), and `wakeups/s`: the
 * voluntary context switches of all threads per second (each is a sleep ended by a wakeup).
 * The last line gives the median of the windows and of the per-window ratios.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { binaryPath } from '../../test/controlplane/binaries.js';
import { testbinDir } from '../../test/controlplane/config.js';
import { benchPki, CommitlogCluster, EtcdCluster } from './clusters.js';
import { cpuSeconds, rssMiB } from './proc-stat.js';

/** On-CPU ns (schedstat) and voluntary context switches summed over every thread of `pid`. */
function threadStats(pid: number): { cpuNs: number; wakeups: number } {
  let cpuNs = 0;
  let wakeups = 0;
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        cpuNs += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
        const m = /^voluntary_ctxt_switches:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8'));
        wakeups += Number(m?.[1] ?? 0);
      } catch {
        // the thread ended between the listing and the read
      }
    }
  } catch {
    // the process is gone
  }
  return { cpuNs, wakeups };
}

const median = (xs: readonly number[]): number => {
  const v = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(v.length / 2);
  return v.length % 2 === 1 ? (v[mid] ?? NaN) : ((v[mid - 1] ?? NaN) + (v[mid] ?? NaN)) / 2;
};

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    windows: { type: 'string', default: '3' },
    etcd: { type: 'boolean', default: false },
    flag: { type: 'string', multiple: true, default: [] },
    'node-arg': { type: 'string', multiple: true, default: [] },
    base: { type: 'string', multiple: true, default: [] },
    hold: { type: 'boolean', default: false },
    'prof-dir': { type: 'string' },
  },
});
const { pki, dir, credentials } = await benchPki();
const systems: { name: string; pids: () => number[]; stop: () => Promise<void> }[] = [];
try {
  const nodeArgs = [
    ...args['node-arg'],
    ...(args['prof-dir'] ? ['--cpu-prof', `--cpu-prof-dir=${args['prof-dir']}`] : []),
  ];
  const c = await CommitlogCluster.start({ name: 'commitlog', flags: args.flag, pki, credentials, nodeArgs });
  systems.push({ name: 'commitlog', pids: () => c.pids(), stop: () => c.stop() });
  for (const root of args.base) {
    const name = basename(root);
    const b = await CommitlogCluster.start({ name, root, flags: args.flag, pki, credentials, nodeArgs });
    systems.push({ name, pids: () => b.pids(), stop: () => b.stop() });
  }
  if (args.etcd) {
    const e = await EtcdCluster.start(binaryPath(testbinDir(), 'etcd'), pki);
    systems.push({ name: 'etcd', pids: () => e.pids(), stop: () => e.stop() });
  }
  if (args.hold) {
    for (const s of systems) process.stdout.write(`${s.name} pids ${s.pids().join(' ')}\n`);
    await new Promise((r) => process.once('SIGINT', r));
  } else {
    await sleep(3000); // past start-up (joins, promotions, first push/pull)
    const ms = Number(args.seconds) * 1000;
    const sched: number[][] = systems.map(() => []);
    const wakes: number[][] = systems.map(() => []);
    for (let w = 0; w < Number(args.windows); w++) {
      const before = systems.map((s) => s.pids().map(cpuSeconds));
      const beforeT = systems.map((s) => s.pids().map(threadStats));
      const t0 = Date.now();
      await sleep(ms);
      const line = systems.map((s, i) => {
        const elapsed = Date.now() - t0;
        const per = s.pids().map((p, j) => ((cpuSeconds(p) - (before[i]?.[j] ?? 0)) * 10_000) / ms);
        const sum = per.reduce((a, b) => a + b, 0);
        const after = s.pids().map(threadStats);
        const ns = after.reduce((a, t, j) => a + t.cpuNs - (beforeT[i]?.[j]?.cpuNs ?? 0), 0);
        const wk = after.reduce((a, t, j) => a + t.wakeups - (beforeT[i]?.[j]?.wakeups ?? 0), 0);
        const schedPer10s = (ns / 1e9) * (10_000 / elapsed);
        const wakePerS = (wk * 1000) / elapsed;
        sched[i]?.push(schedPer10s);
        wakes[i]?.push(wakePerS);
        return `${s.name} ${sum.toFixed(3)} CPU-s/10s [${per.map((x) => x.toFixed(2)).join(' ')}] sched ${schedPer10s.toFixed(3)} wakeups/s ${wakePerS.toFixed(0)} rss ${s
          .pids()
          .map((p) => Math.round(rssMiB(p)))
          .join('/')} MiB`;
      });
      process.stdout.write(`window ${w + 1}: ${line.join('; ')}; load ${loadavg()[0]?.toFixed(2)}\n`);
    }
    const ratio = (i: number, xs: number[][]): string =>
      i === 0
        ? ''
        : ` (commitlog/${systems[i]?.name} ${median((xs[0] ?? []).map((x, w) => x / (xs[i]?.[w] ?? NaN))).toFixed(2)})`;
    const summary = systems.map(
      (s, i) =>
        `${s.name} sched ${median(sched[i] ?? []).toFixed(3)} CPU-s/10s${ratio(i, sched)}, wakeups/s ${median(wakes[i] ?? []).toFixed(0)}${ratio(i, wakes)}`,
    );
    process.stdout.write(`median of ${args.windows} windows: ${summary.join('; ')}\n`);
  }
} finally {
  for (const s of systems.reverse()) await s.stop().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
}
