/**
 * Seeded simulation scenarios with their checks. Each returns a {@link ScenarioResult}; a
 * failed check names its seed and the command that replays it.
 */
import { coreParams, presets } from '../config.js';
import { type CoreParams } from '../core/params.js';
import { SimCluster } from './cluster.js';
import { failureBoundMs, healBoundMs, joinBoundMs } from './bounds.js';

/** Scenario names. */
export const scenarioNames = ['join', 'kill', 'restart', 'leave', 'partition', 'false-failures'] as const;
/** One of {@link scenarioNames}. */
export type ScenarioName = (typeof scenarioNames)[number];

/** Inputs of one run. */
export interface ScenarioInput {
  readonly scenario: ScenarioName;
  readonly seed: number;
  readonly n: number;
  readonly loss: number;
  /** Virtual duration for the false-failure scenario (ms). */
  readonly durationMs?: number;
}

/** What a run measured and whether its checks held. */
export interface ScenarioResult {
  readonly input: ScenarioInput;
  readonly ok: boolean;
  /** Measured time of the checked event (ms), when there is one. */
  readonly measuredMs?: number;
  readonly boundMs?: number;
  /** False failure declarations (scenario false-failures / leave). */
  readonly falseFailures?: number;
  readonly detail: string;
  /** Command that replays exactly this run. */
  readonly replay: string;
}

/**
 * Parameters the simulation runs with: the `lan` preset (memberlist DefaultLANConfig, what
 * production runs), plain UDP budget. Virtual time makes its 1 s probe period cheap.
 */
export const simParams: CoreParams = coreParams(presets.lan, false);

/** Simulator tick. */
export const SIM_TICK_MS = 20;

/** False failure declarations allowed per member-minute under ≤ 10 % loss (see README). */
export const FALSE_FAILURE_LIMIT_PER_MEMBER_MINUTE = 0.01;

const replayOf = (i: ScenarioInput): string =>
  `npx tsx node/src/gossip/sim/cli.ts --scenario ${i.scenario} --n ${i.n} --loss ${i.loss} --seed ${i.seed}` +
  (i.durationMs === undefined ? '' : ` --duration ${i.durationMs}`);

function newCluster(i: ScenarioInput): SimCluster {
  return new SimCluster({
    seed: i.seed,
    params: simParams,
    link: { loss: i.loss, minLatencyMs: 1, maxLatencyMs: 5, duplicate: 0.01 },
    tickMs: SIM_TICK_MS,
  });
}

/** Starts n members joining through n0; returns the time all agreed, or undefined. */
function boot(sim: SimCluster, n: number, bound: number): number | undefined {
  sim.start('n0');
  for (let k = 1; k < n; k++) sim.start(`n${k}`, ['n0']);
  return sim.runUntil(() => sim.converged(), bound);
}

/** False `failed` events: about a member that was running (not killed, not left) at the time. */
function falseFailures(sim: SimCluster, since: number, excluded: ReadonlySet<string>): number {
  return sim.events.filter((e) => e.at >= since && e.event.type === 'failed' && !excluded.has(e.event.member.name))
    .length;
}

/** Runs one scenario. */
export function runScenario(i: ScenarioInput): ScenarioResult {
  const sim = newCluster(i);
  const replay = replayOf(i);
  const res = (ok: boolean, detail: string, extra: Partial<ScenarioResult> = {}): ScenarioResult => ({
    input: i,
    ok,
    detail: ok ? detail : `${detail} — seed ${i.seed}; replay: ${replay}`,
    replay,
    ...extra,
  });
  const joinBound = joinBoundMs(simParams, i.n, i.loss);
  const joined = boot(sim, i.n, joinBound);
  if (i.scenario === 'join') {
    return joined === undefined
      ? res(false, `N=${i.n} loss=${i.loss}: members did not agree within ${joinBound} ms`, { boundMs: joinBound })
      : res(true, `converged in ${joined} ms (bound ${joinBound})`, { measuredMs: joined, boundMs: joinBound });
  }
  if (joined === undefined) return res(false, `N=${i.n}: initial join did not converge within ${joinBound} ms`);
  const t0 = sim.now;
  switch (i.scenario) {
    case 'kill': {
      const victim = `n${i.n - 1}`;
      sim.kill(victim);
      const bound = failureBoundMs(simParams, i.n, i.loss);
      const live = sim.names('running');
      const t = sim.runUntil(() => live.every((o) => sim.stateOf(o, victim) === 'dead'), bound);
      const ff = falseFailures(sim, t0, new Set([victim]));
      if (t === undefined)
        return res(false, `N=${i.n} loss=${i.loss}: ${victim} not marked failed by all within ${bound} ms`, {
          boundMs: bound,
        });
      return res(true, `failed everywhere after ${t} ms (bound ${bound})`, {
        measuredMs: t,
        boundMs: bound,
        falseFailures: ff,
      });
    }
    case 'restart': {
      // kill -9, wait for the failure verdict, restart with the same name on a new address
      // (a pod gets a new IP) and incarnation 0: everyone must see it alive again.
      const victim = `n${i.n - 1}`;
      sim.kill(victim);
      const live = sim.names('running');
      const failedBy = sim.runUntil(
        () => live.every((o) => sim.stateOf(o, victim) === 'dead'),
        failureBoundMs(simParams, i.n, i.loss),
      );
      if (failedBy === undefined) return res(false, `${victim} was not marked failed before the restart`);
      sim.start(victim, ['n0'], {}, `10.9.9.9:8401`);
      const t = sim.runUntil(() => sim.converged(), joinBound);
      if (t === undefined)
        return res(false, `N=${i.n} loss=${i.loss}: restarted ${victim} not seen alive by all within ${joinBound} ms`, {
          boundMs: joinBound,
        });
      const wrongAddr = live.filter((o) => sim.core(o).member(victim as never)?.addr !== '10.9.9.9:8401');
      if (wrongAddr.length > 0) return res(false, `${wrongAddr.join(',')} kept the old address of ${victim}`);
      return res(true, `rejoined everywhere after ${t} ms (bound ${joinBound})`, { measuredMs: t, boundMs: joinBound });
    }
    case 'leave': {
      const leaver = `n${i.n - 1}`;
      sim.leave(leaver);
      const bound = joinBound + simParams.probeIntervalMs * 10;
      const t = sim.runUntil(() => sim.status(leaver) === 'left' && sim.converged(), bound);
      // Keep running well past a full suspicion timeout: a failure verdict would show up.
      sim.runFor(failureBoundMs(simParams, i.n, i.loss));
      // Only verdicts after the leave began count (a false failure earlier, possible under
      // heavy loss, is the false-failure scenario's business).
      const wrong = sim.events.filter((e) => e.at >= t0 && e.event.type === 'failed' && e.event.member.name === leaver);
      if (wrong.length > 0)
        return res(
          false,
          `graceful leave of ${leaver} reported as failure by ${wrong.map((w) => w.observer).join(',')}`,
        );
      if (t === undefined)
        return res(false, `leave of ${leaver} not recorded by all within ${bound} ms`, { boundMs: bound });
      const notLeft = sim.names('running').filter((o) => ![undefined, 'left'].includes(sim.stateOf(o, leaver)));
      if (notLeft.length > 0) return res(false, `${notLeft.join(',')} do not record ${leaver} as left`);
      return res(true, `left everywhere after ${t} ms, no failure reported`, {
        measuredMs: t,
        boundMs: bound,
        falseFailures: 0,
      });
    }
    case 'partition': {
      const cut = Math.floor(i.n / 2);
      const sideA = Array.from({ length: cut }, (_, k) => `n${k}`);
      const sideB = Array.from({ length: i.n - cut }, (_, k) => `n${k + cut}`);
      sim.partition(sideA, sideB);
      // Long enough for each side to declare the other dead.
      sim.runUntil(() => sim.stateOf('n0', sideB[0] ?? 'n0') === 'dead', failureBoundMs(simParams, i.n, i.loss));
      sim.runFor(2 * simParams.probeIntervalMs);
      const splitSeen = sim.stateOf('n0', sideB[0] ?? 'n0') === 'dead';
      sim.heal();
      const bound = healBoundMs(simParams, i.n, i.loss);
      const t = sim.runUntil(() => sim.converged(), bound);
      if (!splitSeen) return res(false, 'the partition was never detected (check the scenario)');
      if (t === undefined)
        return res(false, `N=${i.n} loss=${i.loss}: no agreement within ${bound} ms after the heal`, {
          boundMs: bound,
        });
      return res(true, `agreed ${t} ms after the heal (bound ${bound})`, { measuredMs: t, boundMs: bound });
    }
    case 'false-failures': {
      const duration = i.durationMs ?? 60_000;
      sim.runFor(duration);
      const ff = falseFailures(sim, t0, new Set());
      const memberMinutes = (i.n * duration) / 60_000;
      const rate = ff / memberMinutes;
      const ok = i.loss > 0.1 || rate <= FALSE_FAILURE_LIMIT_PER_MEMBER_MINUTE;
      return res(
        ok,
        `${ff} false failure declarations in ${memberMinutes} member-minutes (rate ${rate.toFixed(4)}, limit ${FALSE_FAILURE_LIMIT_PER_MEMBER_MINUTE})`,
        {
          falseFailures: ff,
        },
      );
    }
  }
}
