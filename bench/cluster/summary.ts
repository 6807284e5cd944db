/**
 * The pure half of `npm run bench:cluster`: samples in, the JSON summary out. One sample is
 * one phase of one workload against one target in one round; the summary gives, per
 * workload and target, the medians over rounds, and per round the ratios between targets
 * measured back to back in that round (a shared, busy machine moves absolute rates by tens
 * of percent between minutes; ratios of neighbours move much less), with their medians.
 * Then the targets (issue 15) as booleans with the figures they were checked on.
 */

/** One measured phase. */
export interface Sample {
  readonly round: number;
  /** e.g. "unary.c64", "produceStream.256", "consumeStream". */
  readonly workload: string;
  /** e.g. "commitlog.leader", "commitlog.follower", "etcd.leader", "noop". */
  readonly target: string;
  readonly ops: number;
  readonly opsPerSec: number;
  readonly p50Ms?: number;
  readonly p99Ms?: number;
  /** CPU time of every server process of the target's cluster per operation (µs). */
  readonly serverCpuUsPerOp: number;
  /** 1-minute load average when the phase started. */
  readonly load1: number;
}

/** Medians of one workload × target. */
export interface Medians {
  readonly rounds: number;
  readonly opsPerSec: number;
  readonly p50Ms?: number;
  readonly p99Ms?: number;
  readonly serverCpuUsPerOp: number;
}

/** A ratio asked for: numerator target over denominator target, within each round. */
export interface RatioSpec {
  readonly name: string;
  readonly num: string;
  readonly den: string;
  /** "rate" compares opsPerSec; "cpu" compares serverCpuUsPerOp. */
  readonly of: 'rate' | 'cpu';
}

/** Median of the numbers (mean of the middle two for an even count); NaN for none. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000;

/** Nearest-rank percentile of sorted numbers (0 for none). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return round3(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] as number);
}

/** Medians per workload and target. */
export function mediansOf(samples: readonly Sample[]): Record<string, Record<string, Medians>> {
  const groups = new Map<string, Sample[]>();
  for (const s of samples) {
    const k = `${s.workload}\u0000${s.target}`;
    groups.set(k, [...(groups.get(k) ?? []), s]);
  }
  const out: Record<string, Record<string, Medians>> = {};
  for (const [k, g] of groups) {
    const [workload, target] = k.split('\u0000') as [string, string];
    const m = (f: (s: Sample) => number | undefined): number | undefined => {
      const xs = g.map(f).filter((x): x is number => x !== undefined);
      return xs.length === 0 ? undefined : round3(median(xs));
    };
    (out[workload] ??= {})[target] = {
      rounds: g.length,
      opsPerSec: Math.round(m((s) => s.opsPerSec) ?? 0),
      ...(m((s) => s.p50Ms) !== undefined ? { p50Ms: m((s) => s.p50Ms) } : {}),
      ...(m((s) => s.p99Ms) !== undefined ? { p99Ms: m((s) => s.p99Ms) } : {}),
      serverCpuUsPerOp: m((s) => s.serverCpuUsPerOp) ?? 0,
    };
  }
  return out;
}

/** Per-round ratios and their median, per workload, for every spec whose two targets ran in that round. */
export function ratiosOf(
  samples: readonly Sample[],
  specs: readonly RatioSpec[],
): Record<string, Record<string, { readonly perRound: number[]; readonly median: number }>> {
  const at = new Map<string, Sample>();
  for (const s of samples) at.set(`${s.workload}\u0000${s.target}\u0000${s.round}`, s);
  const workloads = [...new Set(samples.map((s) => s.workload))];
  const rounds = [...new Set(samples.map((s) => s.round))].sort((a, b) => a - b);
  const out: Record<string, Record<string, { perRound: number[]; median: number }>> = {};
  for (const w of workloads)
    for (const spec of specs) {
      const perRound: number[] = [];
      for (const r of rounds) {
        const a = at.get(`${w}\u0000${spec.num}\u0000${r}`);
        const b = at.get(`${w}\u0000${spec.den}\u0000${r}`);
        if (a === undefined || b === undefined) continue;
        const [x, y] = spec.of === 'rate' ? [a.opsPerSec, b.opsPerSec] : [a.serverCpuUsPerOp, b.serverCpuUsPerOp];
        if (y > 0) perRound.push(round3(x / y));
      }
      if (perRound.length > 0) (out[w] ??= {})[spec.name] = { perRound, median: round3(median(perRound)) };
    }
  return out;
}

/** What the targets are checked on (all medians from one run). */
export interface TargetInputs {
  readonly ratios: ReturnType<typeof ratiosOf>;
  readonly medians: ReturnType<typeof mediansOf>;
  readonly failoverMs: readonly number[];
  readonly idleCpuSecondsPer10s: { readonly commitlog: number; readonly etcd: number };
  readonly rssMiB: readonly number[];
}

/** One target of issue 15: the rule, the figure it was checked on, and whether it is met. */
export interface TargetResult {
  readonly rule: string;
  readonly value: number | null;
  readonly met: boolean;
}

/** Checks the targets of issue 15 ("Targets, checked by that benchmark"). A missing figure is not met. */
export function checkTargets(t: TargetInputs): Record<string, TargetResult> {
  const r = (w: string, name: string): number | null => t.ratios[w]?.[name]?.median ?? null;
  const m = (w: string, target: string): Medians | undefined => t.medians[w]?.[target];
  const check = (rule: string, value: number | null | undefined, ok: (v: number) => boolean): TargetResult => ({
    rule,
    value: value ?? null,
    met: value !== null && value !== undefined && Number.isFinite(value) && ok(value),
  });
  const failoverP50 = t.failoverMs.length > 0 ? median(t.failoverMs) : null;
  return {
    unary64VsEtcd: check('unary c=64 >= 1.5x etcd', r('unary.c64', 'leaderVsEtcd'), (v) => v >= 1.5),
    unary64VsCeiling: check('unary c=64 >= 0.9x the no-op ceiling', r('unary.c64', 'leaderVsNoop'), (v) => v >= 0.9),
    unary1VsEtcd: check('unary c=1 >= 1x etcd', r('unary.c1', 'leaderVsEtcd'), (v) => v >= 1),
    unary1P50: check('unary c=1 p50 <= 1 ms', m('unary.c1', 'commitlog.leader')?.p50Ms, (v) => v <= 1),
    followerVsDirect: check(
      'through a follower >= 0.9x direct (unary c=64)',
      r('unary.c64', 'followerVsLeader'),
      (v) => v >= 0.9,
    ),
    produceStream: check(
      'ProduceStream >= 50k replicated durable records/s',
      m('produceStream.256', 'commitlog.leader')?.opsPerSec,
      (v) => v >= 50_000,
    ),
    consumeStream: check(
      'ConsumeStream >= 200k records/s',
      m('consumeStream', 'commitlog.follower')?.opsPerSec,
      (v) => v >= 200_000,
    ),
    produceStreamBatched: check(
      'ProduceStream, 32 records per request (opt-in batches) >= 50k replicated durable records/s',
      m('produceStream.256.batch32', 'commitlog.leader')?.opsPerSec,
      (v) => v >= 50_000,
    ),
    consumeStreamBatched: check(
      'ConsumeStream, batch_records 256 (opt-in batches) >= 200k records/s',
      m('consumeStream.batch256', 'commitlog.follower')?.opsPerSec,
      (v) => v >= 200_000,
    ),
    failover: check('failover p50 <= 1.5 s', failoverP50, (v) => v <= 1500),
    idleCpu: check(
      "idle CPU <= etcd's (ratio commitlog/etcd)",
      t.idleCpuSecondsPer10s.etcd > 0 ? round3(t.idleCpuSecondsPer10s.commitlog / t.idleCpuSecondsPer10s.etcd) : null,
      (v) => v <= 1,
    ),
    rss: check(
      'resident memory per node <= 200 MB after the run (largest node, MiB)',
      t.rssMiB.length > 0 ? Math.max(...t.rssMiB) : null,
      (v) => v <= 200,
    ),
  };
}

/** The ratio specs for the commitlog cluster, etcd, the ceiling and any variants (e.g. "before"). */
export function ratioSpecs(variants: readonly string[]): RatioSpec[] {
  return [
    { name: 'leaderVsEtcd', num: 'commitlog.leader', den: 'etcd.leader', of: 'rate' },
    { name: 'leaderVsNoop', num: 'commitlog.leader', den: 'noop', of: 'rate' },
    { name: 'followerVsLeader', num: 'commitlog.follower', den: 'commitlog.leader', of: 'rate' },
    { name: 'followerVsEtcdFollower', num: 'commitlog.follower', den: 'etcd.follower', of: 'rate' },
    { name: 'etcdFollowerVsLeader', num: 'etcd.follower', den: 'etcd.leader', of: 'rate' },
    { name: 'cpuPerOpLeaderVsEtcd', num: 'commitlog.leader', den: 'etcd.leader', of: 'cpu' },
    { name: 'cpuPerOpFollowerVsLeader', num: 'commitlog.follower', den: 'commitlog.leader', of: 'cpu' },
    ...variants.flatMap((v): RatioSpec[] => [
      { name: `leaderVs_${v}`, num: 'commitlog.leader', den: `${v}.leader`, of: 'rate' },
      { name: `followerVs_${v}`, num: 'commitlog.follower', den: `${v}.follower`, of: 'rate' },
      { name: `cpuPerOpLeaderVs_${v}`, num: 'commitlog.leader', den: `${v}.leader`, of: 'cpu' },
    ]),
  ];
}
