/**
 * `tsx bench/cluster/idle.ts`: idle CPU of a 3-node commitlog cluster started as `npm start`
 * starts it (and, with --etcd, of etcd's 3 members next to it), in CPU seconds per 10 s from
 * /proc/<pid>/stat: a load-insensitive measure of the wakeups an idle cluster costs (issue 15).
 *
 * Flags: --seconds S (each window, default 10), --windows N (default 3), --etcd,
 * --flag F (an extra agent flag, repeatable), --node-arg A (an extra node argument for every
 * agent, repeatable: e.g. `--import=/path/preload.mjs`), --base DIR (also run a 3-node cluster
 * from another checkout DIR, e.g. `git archive main | tar -x -C DIR` with its node_modules
 * linked, measured in the same windows: before/after under the same load), --hold (print the
 * pids and wait for SIGINT, to attach strace or read /proc by hand), --prof-dir D (nodes run
 * under `--cpu-prof` into D; summarize with `tsx bench/cluster/profile-summary.ts FILE`).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { binaryPath } from '../../test/controlplane/binaries.js';
import { testbinDir } from '../../test/controlplane/config.js';
import { benchPki, CommitlogCluster, EtcdCluster } from './clusters.js';
import { cpuSeconds, rssMiB } from './proc-stat.js';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    windows: { type: 'string', default: '3' },
    etcd: { type: 'boolean', default: false },
    flag: { type: 'string', multiple: true, default: [] },
    'node-arg': { type: 'string', multiple: true, default: [] },
    base: { type: 'string' },
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
  if (args.base !== undefined) {
    const b = await CommitlogCluster.start({
      name: 'base',
      root: args.base,
      flags: args.flag,
      pki,
      credentials,
      nodeArgs,
    });
    systems.push({ name: 'base', pids: () => b.pids(), stop: () => b.stop() });
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
    for (let w = 0; w < Number(args.windows); w++) {
      const before = systems.map((s) => s.pids().map(cpuSeconds));
      await sleep(ms);
      const line = systems.map((s, i) => {
        const per = s.pids().map((p, j) => ((cpuSeconds(p) - (before[i]?.[j] ?? 0)) * 10_000) / ms);
        const sum = per.reduce((a, b) => a + b, 0);
        return `${s.name} ${sum.toFixed(3)} CPU-s/10s [${per.map((x) => x.toFixed(2)).join(' ')}] rss ${s
          .pids()
          .map((p) => Math.round(rssMiB(p)))
          .join('/')} MiB`;
      });
      process.stdout.write(`window ${w + 1}: ${line.join('; ')}; load ${loadavg()[0]?.toFixed(2)}\n`);
    }
  }
} finally {
  for (const s of systems.reverse()) await s.stop().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
}
