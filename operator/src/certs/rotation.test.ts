import assert from 'node:assert/strict';
import {
  accepts,
  leafIssuance,
  nextRotation,
  RotationPhase,
  type RotationFacts,
  type RotationPlan,
  type RotationState,
} from './rotation.js';

const idle: RotationState = { phase: RotationPhase.Idle, current: 'old' };
const settled: RotationFacts = { bundleEverywhere: true, leavesOnNext: true, allReady: true, now: 0, dwellMs: 0 };

/** Runs passes with `facts` until Idle again (at most `max`), returning every plan. */
function rotate(facts: (p: RotationPlan) => RotationFacts, max = 10): RotationPlan[] {
  const plans: RotationPlan[] = [];
  let state = idle;
  let first = true;
  for (let i = 0; i < max; i++) {
    const p = nextRotation(
      state,
      first ? { ...facts(plans.at(-1) ?? nextRotation(idle, settled)), wanted: 'new' } : facts(plans.at(-1)!),
    );
    first = false;
    plans.push(p);
    state = p.state;
    if (state.phase === RotationPhase.Idle) break;
  }
  return plans;
}

/**
 * Every refusal between two pods along `plans`. Within a plan, while leaves are re-issued, a
 * pod presents a leaf of either CA. A phase ends only once every pod runs its plan, so at a
 * transition pods of plan a present a leaf of a.issuer, and pods already on b one of b.issuer.
 */
function refusals(plans: readonly RotationPlan[]): string[] {
  const out: string[] = [];
  for (const p of plans) {
    const presented = p.reissueLeaves ? [p.state.current, p.issuer] : [p.issuer];
    for (const x of presented) if (!accepts(p.trust, x)) out.push(`${p.state.phase} refuses its own leaf of ${x}`);
  }
  for (let i = 1; i < plans.length; i++) {
    const [a, b] = [plans[i - 1]!, plans[i]!];
    if (!accepts(b.trust, a.issuer)) out.push(`${b.state.phase} refuses a leaf of ${a.issuer} from ${a.state.phase}`);
    if (!accepts(a.trust, b.issuer)) out.push(`${a.state.phase} refuses a leaf of ${b.issuer} from ${b.state.phase}`);
  }
  return out;
}

describe('phased CA rotation', () => {
  it('goes Idle → TrustBoth → ReissueLeaves → DropOld → Idle, one phase per pass once settled', () => {
    const plans = rotate(() => settled);
    assert.deepEqual(
      plans.map((p) => [p.state.phase, p.trust.join('+'), p.issuer, p.reissueLeaves]),
      [
        ['TrustBoth', 'old+new', 'old', false],
        ['ReissueLeaves', 'old+new', 'new', true],
        ['DropOld', 'new', 'new', false],
        ['Idle', 'new', 'new', false],
      ],
    );
    assert.deepEqual(plans.at(-1)?.state, { phase: 'Idle', current: 'new' });
  });

  describe('the dwell: a phase lasts at least spec.tls.rotationDwellSeconds after it began', () => {
    const T0 = Date.parse('2030-01-01T00:00:00Z');
    const DWELL = 120_000;
    const at = (now: number, extra: Partial<RotationFacts> = {}): RotationFacts => ({
      ...settled,
      now,
      dwellMs: DWELL,
      ...extra,
    });

    it('entering a phase records the pass time as its start', () => {
      const p = nextRotation(idle, at(T0, { wanted: 'new' }));
      assert.deepEqual(p.state, { phase: 'TrustBoth', current: 'old', next: 'new', since: T0 });
      assert.equal(p.dwellLeftMs, undefined, 'a phase just entered waits for its pods first');
    });

    it('settled pods do not advance the phase before the dwell; it advances once the dwell is over', () => {
      for (const phase of [RotationPhase.TrustBoth, RotationPhase.ReissueLeaves, RotationPhase.DropOld]) {
        const s: RotationState = { phase, current: 'old', next: 'new', since: T0 };
        const early = nextRotation(s, at(T0 + DWELL - 1));
        assert.deepEqual(early.state, s, `${phase}: 1 ms before the dwell ends`);
        assert.equal(early.dwellLeftMs, 1, phase);
        assert.match(early.waiting ?? '', /lasts until 2030-01-01T00:02:00Z \(spec.tls.rotationDwellSeconds\)/);
        const onTime = nextRotation(s, at(T0 + DWELL));
        assert.notEqual(onTime.state.phase, phase, `${phase}: advances when the dwell ends`);
        assert.equal(onTime.dwellLeftMs, undefined);
      }
    });

    it('the next phase begins when it is entered, not when the previous one began', () => {
      const s: RotationState = { phase: RotationPhase.TrustBoth, current: 'old', next: 'new', since: T0 };
      const later = T0 + 10 * DWELL;
      assert.deepEqual(nextRotation(s, at(later)).state, { ...s, phase: 'ReissueLeaves', since: later });
      assert.deepEqual(nextRotation(s, at(later)).state.since, later);
    });

    it('while it only dwells, the plan is the same at every pass (nothing to write) but for the time left', () => {
      const s: RotationState = { phase: RotationPhase.ReissueLeaves, current: 'old', next: 'new', since: T0 };
      const a = nextRotation(s, at(T0 + 1_000));
      const b = nextRotation(s, at(T0 + 90_000));
      assert.deepEqual({ ...a, dwellLeftMs: 0 }, { ...b, dwellLeftMs: 0 });
      assert.deepEqual([a.dwellLeftMs, b.dwellLeftMs], [119_000, 30_000]);
    });

    it('pods not settled: the phase waits for them, with no dwell deadline to sleep until (they are polled)', () => {
      const s: RotationState = { phase: RotationPhase.TrustBoth, current: 'old', next: 'new', since: T0 };
      const p = nextRotation(s, at(T0 + 10 * DWELL, { allReady: false }));
      assert.deepEqual([p.state, p.dwellLeftMs], [s, undefined]);
      assert.match(p.waiting ?? '', /trust both CAs/);
    });

    it('a phase recorded without its start (an older operator) starts its dwell at this pass', () => {
      const s: RotationState = { phase: RotationPhase.DropOld, current: 'old', next: 'new' };
      const p = nextRotation(s, at(T0));
      assert.deepEqual([p.state, p.dwellLeftMs], [{ ...s, since: T0 }, DWELL]);
    });

    it('with the dwell and pods settled at every pass, the phases begin one dwell apart', () => {
      let state: RotationState = idle;
      let now = T0;
      const entered: number[] = [];
      for (let i = 0; i < 100 && !(i > 0 && state.phase === RotationPhase.Idle); i++) {
        const p = nextRotation(state, at(now, i === 0 ? { wanted: 'new' } : {}));
        if (p.state.phase !== state.phase) entered.push(now - T0);
        state = p.state;
        now += 10_000;
      }
      assert.deepEqual(entered, [0, DWELL, 2 * DWELL, 3 * DWELL]);
    });
  });

  it('never advances while a member is not ready or a pod has not picked up the bundle', () => {
    const trustBoth = nextRotation(idle, { ...settled, wanted: 'new' }).state;
    for (const facts of [
      { ...settled, allReady: false },
      { ...settled, bundleEverywhere: false },
    ]) {
      const p = nextRotation(trustBoth, facts);
      assert.equal(p.state.phase, 'TrustBoth');
      assert.match(p.waiting ?? '', /trust both CAs/);
    }
    const reissuing = nextRotation(trustBoth, settled).state;
    const stuck = nextRotation(reissuing, { ...settled, leavesOnNext: false });
    assert.deepEqual([stuck.state.phase, stuck.reissueLeaves], ['ReissueLeaves', true]);
  });

  it('the state survives a restart: the same state and facts give the same plan', () => {
    const s: RotationState = { phase: RotationPhase.ReissueLeaves, current: 'old', next: 'new', since: 0 };
    assert.deepEqual(
      nextRotation(s, { ...settled, leavesOnNext: false }),
      nextRotation({ ...s }, { ...settled, leavesOnNext: false }),
    );
  });

  it('a wanted CA equal to the current one starts nothing', () => {
    assert.deepEqual(nextRotation(idle, { ...settled, wanted: 'old' }).state, idle);
  });

  it('no pair of pods ever refuses the other: within a phase, and across each transition', () => {
    assert.deepEqual(refusals([nextRotation(idle, settled), ...rotate(() => settled)]), []);
  });

  it('replacing the CA in one step (what the operator did before) is caught by the same check', () => {
    const oneStep: RotationPlan[] = [
      nextRotation(idle, settled),
      nextRotation({ phase: 'Idle', current: 'new' }, settled),
    ];
    assert.deepEqual(refusals(oneStep), [
      'Idle refuses a leaf of old from Idle',
      'Idle refuses a leaf of new from Idle',
    ]);
  });

  it('with the old key at hand, leaves are issued and kept by the phase issuer only', () => {
    for (const p of rotate(() => settled)) {
      const l = leafIssuance(p, true);
      assert.deepEqual(l, { issuer: p.issuer, keep: [p.issuer] }, p.state.phase);
    }
  });

  it('without the old key (a replaced user CA), TrustBoth keeps the old leaves and issues a new one from the new CA, trusted by every pod of TrustBoth and later', () => {
    const plans = rotate(() => settled);
    assert.deepEqual(
      plans.map((p) => [p.state.phase, leafIssuance(p, false).issuer, leafIssuance(p, false).keep.join('+')]),
      [
        ['TrustBoth', 'new', 'old+new'],
        ['ReissueLeaves', 'new', 'new'],
        ['DropOld', 'new', 'new'],
        ['Idle', 'new', 'new'],
      ],
    );
    for (const p of plans) {
      const l = leafIssuance(p, false);
      for (const ca of [l.issuer, ...l.keep]) assert.ok(accepts(p.trust, ca), `${p.state.phase} trusts ${ca}`);
    }
    // A leaf created in TrustBoth (a new pod) is accepted by TrustBoth and ReissueLeaves; only a
    // pod that has not yet loaded the TrustBoth bundle (the Idle plan before) refuses it until it does.
    const [trustBoth, reissue] = plans;
    assert.ok(accepts(reissue!.trust, leafIssuance(trustBoth!, false).issuer));
    assert.equal(accepts(nextRotation(idle, settled).trust, leafIssuance(trustBoth!, false).issuer), false);
  });
});
