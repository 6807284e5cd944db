import assert from 'node:assert/strict';
import { describe, it } from 'mocha';
import { encodePutRequest } from './etcd-wire.js';
import { parseIoSyscalls, parseStatCpuSeconds, parseStatusRssMiB } from './proc-stat.js';
import { checkTargets, median, mediansOf, ratioSpecs, ratiosOf, type Sample } from './summary.js';

const sample = (round: number, workload: string, target: string, opsPerSec: number, cpu = 100): Sample => ({
  round,
  workload,
  target,
  ops: opsPerSec,
  opsPerSec,
  p50Ms: 1000 / opsPerSec,
  serverCpuUsPerOp: cpu,
  load1: 1,
});

describe('bench:cluster summary (the JSON the benchmark prints; no timing)', () => {
  it('median of an odd and an even count', () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 2, 3]), 2.5);
    assert.ok(Number.isNaN(median([])));
  });

  it('ratios are taken within a round, then their median is reported', () => {
    const samples = [
      sample(0, 'unary.c64', 'commitlog.leader', 2000),
      sample(0, 'unary.c64', 'etcd.leader', 1000),
      sample(1, 'unary.c64', 'commitlog.leader', 900),
      sample(1, 'unary.c64', 'etcd.leader', 600),
      sample(2, 'unary.c64', 'commitlog.leader', 1000),
      sample(2, 'unary.c64', 'etcd.leader', 1000),
    ];
    const r = ratiosOf(samples, ratioSpecs([]));
    assert.deepEqual(r['unary.c64']?.leaderVsEtcd, { perRound: [2, 1.5, 1], median: 1.5 });
    // Medians of absolute rates mix rounds: 1000 / 1000 = 1, not the per-round 1.5.
    const m = mediansOf(samples);
    assert.equal(m['unary.c64']?.['commitlog.leader']?.opsPerSec, 1000);
    assert.equal(m['unary.c64']?.['commitlog.leader']?.rounds, 3);
  });

  it('a ratio whose denominator did not run in a round is left out of that round', () => {
    const r = ratiosOf(
      [sample(0, 'unary.c1', 'commitlog.leader', 10), sample(1, 'unary.c1', 'commitlog.leader', 10)],
      ratioSpecs(['before']),
    );
    assert.equal(r['unary.c1'], undefined);
  });

  it('variants get after/before ratios of rate and CPU per op', () => {
    const r = ratiosOf(
      [sample(0, 'unary.c64', 'commitlog.leader', 1200, 80), sample(0, 'unary.c64', 'before.leader', 1000, 100)],
      ratioSpecs(['before']),
    );
    assert.equal(r['unary.c64']?.leaderVs_before?.median, 1.2);
    assert.equal(r['unary.c64']?.cpuPerOpLeaderVs_before?.median, 0.8);
  });

  it('targets: every target of issue 15 is reported; a missing figure is not met', () => {
    const t = checkTargets({
      ratios: {},
      medians: {},
      failoverMs: [900, 1200, 2000],
      idleCpuSecondsPer10s: { commitlog: 0.3, etcd: 0.3 },
      rssMiB: [120, 210],
    });
    assert.deepEqual(Object.keys(t).sort(), [
      'consumeStream',
      'consumeStreamBatched',
      'failover',
      'followerVsDirect',
      'idleCpu',
      'produceStream',
      'produceStreamBatched',
      'rss',
      'unary1P50',
      'unary1VsEtcd',
      'unary64VsCeiling',
      'unary64VsEtcd',
    ]);
    assert.deepEqual(t.unary64VsEtcd, { rule: 'unary c=64 >= 1.5x etcd', value: null, met: false });
    assert.equal(t.failover?.value, 1200);
    assert.equal(t.failover?.met, true);
    assert.equal(t.idleCpu?.met, true);
    assert.deepEqual([t.rss?.value, t.rss?.met], [210, false]);
  });
});

describe('bench:cluster helpers', () => {
  it('encodes an etcd PutRequest as fields 1 (key) and 2 (value), length-delimited', () => {
    const b = encodePutRequest({ key: Buffer.from('k'), value: Buffer.from('vv') });
    assert.deepEqual([...b], [0x0a, 1, 0x6b, 0x12, 2, 0x76, 0x76]);
  });

  it('reads CPU seconds from a /proc stat line whose command name has spaces and parentheses', () => {
    const line =
      '4242 (node (x) y) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 50 0 0 20 0 11 0 12345 1000000 5000 18446744073709551615';
    assert.equal(parseStatCpuSeconds(line), 3);
  });

  it('reads VmRSS from /proc status', () => {
    assert.equal(parseStatusRssMiB('Name:\tnode\nVmRSS:\t  204800 kB\nVmSwap: 0 kB\n'), 200);
    assert.equal(parseStatusRssMiB('Name:\tzombie\n'), 0);
    assert.deepEqual(parseIoSyscalls('rchar: 6976\nwchar: 0\nsyscr: 10\nsyscw: 3\nread_bytes: 0\n'), {
      reads: 10,
      writes: 3,
    });
    assert.throws(() => parseIoSyscalls('rchar: 1\n'), /unexpected \/proc io text/);
  });
});
