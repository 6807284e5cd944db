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
const settled: RotationFacts = { bundleEverywhere: true, leavesOnNext: true, allReady: true };

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
    const s: RotationState = { phase: RotationPhase.ReissueLeaves, current: 'old', next: 'new' };
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
