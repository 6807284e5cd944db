/**
 * Gossip benchmark (simulated, deterministic): for growing cluster sizes, how long the
 * members take to agree after joining through one seed, how long until every member marks a
 * killed member failed, and what steady-state traffic costs (bytes and packets per member
 * per second, UDP + TCP, plain encoding). Uses the real core and codec on the simulator with
 * the `lan` preset (memberlist DefaultLANConfig) unless `--preset` names another, 1–5 ms
 * latency, no loss unless `--loss`.
 *
 *   npm run bench:gossip [-- --sizes 5,10,25,50,100 --seeds 3 --loss 0 --preset lan]
 *
 * Prints one JSON document; numbers are medians over the seeds.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { SimCluster, coreParams, presets, type PresetName } from '../node/src/gossip/index.js';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '5,10,25,50,100' },
    seeds: { type: 'string', default: '3' },
    loss: { type: 'string', default: '0' },
    steady: { type: 'string', default: '60000' },
    preset: { type: 'string', default: 'lan' },
  },
});
const sizes = values.sizes.split(',').map(Number);
const seeds = Number(values.seeds);
const loss = Number(values.loss);
const steadyMs = Number(values.steady);
if (!(values.preset in presets)) throw new Error(`--preset: one of ${Object.keys(presets).join(', ')}`);
const preset = values.preset as PresetName;
const params = coreParams(presets[preset], false);

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)] ?? NaN;
};

interface Run {
  convergeMs: number;
  detectMs: number;
  bytesPerMemberSec: number;
  packetsPerMemberSec: number;
}

function run(n: number, seed: number): Run {
  const sim = new SimCluster({
    seed,
    params,
    link: { loss, minLatencyMs: 1, maxLatencyMs: 5, duplicate: 0 },
    tickMs: presets[preset].tickMs,
  });
  sim.start('n0');
  for (let k = 1; k < n; k++) sim.start(`n${k}`, ['n0']);
  const convergeMs = sim.runUntil(() => sim.converged(), 600_000) ?? NaN;
  // Steady state: let the join broadcasts die out first, then measure a window.
  sim.runFor(10_000);
  const b0 = sim.totalBytes;
  const p0 = sim.totalPackets;
  sim.runFor(steadyMs);
  const secs = steadyMs / 1000;
  const bytesPerMemberSec = (sim.totalBytes - b0) / n / secs;
  const packetsPerMemberSec = (sim.totalPackets - p0) / n / secs;
  const victim = `n${n - 1}`;
  sim.kill(victim);
  const live = sim.names('running');
  const detectMs = sim.runUntil(() => live.every((o) => sim.stateOf(o, victim) === 'dead'), 600_000) ?? NaN;
  return { convergeMs, detectMs, bytesPerMemberSec, packetsPerMemberSec };
}

const started = Date.now();
const results = sizes.map((n) => {
  const runs = Array.from({ length: seeds }, (_, k) => run(n, k + 1));
  return {
    n,
    convergeMs: median(runs.map((r) => r.convergeMs)),
    failureDetectMs: median(runs.map((r) => r.detectMs)),
    bytesPerMemberPerSec: Math.round(median(runs.map((r) => r.bytesPerMemberSec))),
    packetsPerMemberPerSec: Number(median(runs.map((r) => r.packetsPerMemberSec)).toFixed(2)),
  };
});

process.stdout.write(
  `${JSON.stringify(
    {
      benchmark: 'gossip',
      simulated: true,
      preset,
      loss,
      latencyMs: [1, 5],
      seeds,
      steadyWindowMs: steadyMs,
      date: new Date().toISOString(),
      machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model ?? 'unknown', node: process.version },
      wallMs: Date.now() - started,
      results,
    },
    null,
    2,
  )}\n`,
);
