/**
 * Phased CA rotation (Strimzi's model), as a pure state machine. Replacing the CA in one step
 * breaks mutual TLS: peers pick Secrets up at different times, and a node still presenting a
 * leaf of the old CA is refused by a node that trusts only the new one. So a rotation goes
 * through three phases, each entered only when the previous one has reached every node and
 * every member is Ready (so no phase ever costs quorum):
 *
 * 1. `TrustBoth`: the trust bundle (`ca.crt` of every Secret) holds the old and the new CA;
 *    leaves are still issued by the old CA. Nothing presented changes, trust widens.
 * 2. `ReissueLeaves`: leaves (servers, operator, users) are re-issued by the new CA; both CAs
 *    are still trusted, so old and new leaves interoperate while pods pick them up.
 * 3. `DropOld`: every leaf chains to the new CA; the bundle shrinks to the new CA alone.
 *    Then the rotation is over (`Idle`).
 *
 * Pods being Ready is not enough to leave a phase: clients outside the StatefulSet (and pods
 * it does not restart) read the Secrets through their own Secret volumes, which the kubelet
 * refreshes only at its sync period (about a minute by default). So a phase also lasts a
 * *dwell* after it began (when its Secrets were written, `since`): a client that follows its
 * Secret volume has loaded the phase's trust bundle or re-issued leaf before the next phase
 * relies on it (the next phase's servers present leaves of the new CA, or stop trusting the
 * old one).
 *
 * The phase, its start and both fingerprints are recorded in a Secret (and mirrored in the
 * cluster's status), so a rotation survives an operator restart; the reconcile supplies the
 * facts (what the Secrets hold, what the pods picked up, the time), this decides what the
 * Secrets must hold next. No I/O and no clock: the time is a fact.
 */

/** The phases of a rotation; `Idle` = no rotation in progress. */
export const RotationPhase = {
  Idle: 'Idle',
  TrustBoth: 'TrustBoth',
  ReissueLeaves: 'ReissueLeaves',
  DropOld: 'DropOld',
} as const;
/** One of {@link RotationPhase}. */
export type RotationPhase = (typeof RotationPhase)[keyof typeof RotationPhase];

/** The persisted state of a rotation (status.caRotation). CAs are named by fingerprint. */
export interface RotationState {
  readonly phase: RotationPhase;
  /** The CA leaves are issued by when no rotation runs, and the old one during a rotation. */
  readonly current: string;
  /** The CA being rotated to; absent when `Idle`. */
  readonly next?: string;
  /**
   * When the phase began, in ms since the epoch: the pass that entered it (and wrote its
   * Secrets). Absent when `Idle`; a phase recorded without it (by an older operator) starts
   * its dwell at the next pass.
   */
  readonly since?: number;
}

/** What the reconcile observed this pass. */
export interface RotationFacts {
  /** A new CA is wanted: the current one is near expiry, a user CA Secret changed, or the force annotation is set. Its fingerprint. */
  readonly wanted?: string;
  /** Every node pod runs with (has reloaded) the trust bundle of the current phase. */
  readonly bundleEverywhere: boolean;
  /** Every leaf certificate (server, operator, user Secrets) chains to `next`. */
  readonly leavesOnNext: boolean;
  /** Every member the StatefulSet should run is Ready. */
  readonly allReady: boolean;
  /** The time of this pass, in ms since the epoch (the operator's injected clock). */
  readonly now: number;
  /** How long a phase lasts at least after it began, in ms (`spec.tls.rotationDwellSeconds`). */
  readonly dwellMs: number;
}

/** What the Secrets must hold this pass. */
export interface RotationPlan {
  readonly state: RotationState;
  /** The CAs in every `ca.crt` (the trust bundle), oldest first. */
  readonly trust: readonly string[];
  /** The CA new leaves are issued by. */
  readonly issuer: string;
  /** Re-issue every leaf not issued by `issuer` (phase ReissueLeaves). */
  readonly reissueLeaves: boolean;
  /** Why the rotation does not advance this pass, if it is waiting. */
  readonly waiting?: string;
  /**
   * The rotation waits for nothing but the dwell: it may advance this many ms from now (look
   * again then; there is nothing to poll for meanwhile).
   */
  readonly dwellLeftMs?: number;
}

const plan = (state: RotationState, waiting?: string, dwellLeftMs?: number): RotationPlan => {
  const { phase, current, next } = state;
  const both = next !== undefined ? [current, next] : [current];
  const wait = { ...(waiting ? { waiting } : {}), ...(dwellLeftMs !== undefined ? { dwellLeftMs } : {}) };
  switch (phase) {
    case RotationPhase.Idle:
      return { state, trust: [current], issuer: current, reissueLeaves: false };
    case RotationPhase.TrustBoth:
      return { state, trust: both, issuer: current, reissueLeaves: false, ...wait };
    case RotationPhase.ReissueLeaves:
      return { state, trust: both, issuer: next ?? current, reissueLeaves: true, ...wait };
    case RotationPhase.DropOld:
      return { state, trust: [next ?? current], issuer: next ?? current, reissueLeaves: false, ...wait };
  }
};

/** `ms` since the epoch as RFC 3339, rounded up to the second (the dwell is never shown shorter). */
const iso = (ms: number): string => new Date(Math.ceil(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** The waiting message of a phase whose pods are settled but whose dwell runs until `until`. */
const dwelling = (until: number): string =>
  `every pod runs the phase's certificates; the phase lasts until ${iso(until)} (spec.tls.rotationDwellSeconds) so that clients load them from their Secret volumes`;

/** What the Secrets hold in `state` (no advance): what pods running that state's revision picked up. */
export function planFor(state: RotationState): RotationPlan {
  return plan(state);
}

/**
 * The next step of a rotation from `state` and this pass's `facts`: at most one phase per
 * pass, and only when the phase has reached every pod, every member is Ready and the phase
 * began at least `facts.dwellMs` ago. A phase entered in this pass begins at `facts.now`.
 */
export function nextRotation(state: RotationState, facts: RotationFacts): RotationPlan {
  const settled = facts.bundleEverywhere && facts.allReady;
  const enter = (s: Omit<RotationState, 'since'>): RotationState => ({ ...s, since: facts.now });
  const here: RotationState = { ...state, since: state.since ?? facts.now };
  const until = (here.since ?? facts.now) + facts.dwellMs;
  /** Stays in the phase: `pending` when not settled, else the dwell while it runs; undefined = may advance. */
  const stay = (pending: string, ready: boolean): RotationPlan | undefined =>
    !ready ? plan(here, pending) : until > facts.now ? plan(here, dwelling(until), until - facts.now) : undefined;
  switch (state.phase) {
    case RotationPhase.Idle:
      if (facts.wanted === undefined || facts.wanted === state.current) return plan(state);
      return plan(
        enter({ phase: RotationPhase.TrustBoth, current: state.current, next: facts.wanted }),
        'waiting for every node to trust both CAs',
      );
    case RotationPhase.TrustBoth:
      return (
        stay('waiting for every node to trust both CAs', settled) ??
        plan(
          enter({ ...state, phase: RotationPhase.ReissueLeaves }),
          'waiting for every leaf to be re-issued by the new CA',
        )
      );
    case RotationPhase.ReissueLeaves:
      return (
        stay('waiting for every leaf to be re-issued by the new CA and picked up', facts.leavesOnNext && settled) ??
        plan(enter({ ...state, phase: RotationPhase.DropOld }), 'waiting for every node to drop the old CA')
      );
    case RotationPhase.DropOld:
      return (
        stay('waiting for every node to drop the old CA', settled) ??
        plan({ phase: RotationPhase.Idle, current: state.next ?? state.current })
      );
  }
}

/**
 * Whether a node presenting a leaf issued by `presented` is accepted by a node trusting
 * `trust`: the invariant every phase keeps for any pair of pods, one on the previous plan
 * and one on the next (they pick Secrets up at different times).
 */
export function accepts(trust: readonly string[], presented: string): boolean {
  return trust.includes(presented);
}

/** Which CA issues new leaves this pass, and the CAs whose existing leaves are kept as they are. */
export interface LeafIssuance {
  readonly issuer: string;
  readonly keep: readonly string[];
}

/**
 * The leaf rule of `plan`. With the old CA's key at hand (the operator's own CA) leaves are
 * issued, and kept, by `plan.issuer`. Without it (a user-supplied CA the user has already
 * replaced in their Secret: the operator holds the old CA's certificate only) phase TrustBoth
 * keeps every leaf the old CA issued and issues a leaf it must create (a new pod, a renewal)
 * by the new CA, which every bundle of the phase trusts; the other phases are unchanged. Both
 * CAs are always members of `plan.trust`, so the invariant of {@link accepts} holds.
 */
export function leafIssuance(plan: RotationPlan, oldKeyAvailable: boolean): LeafIssuance {
  const { phase, current, next } = plan.state;
  if (!oldKeyAvailable && phase === RotationPhase.TrustBoth && next !== undefined)
    return { issuer: next, keep: [current, next] };
  return { issuer: plan.issuer, keep: [plan.issuer] };
}
