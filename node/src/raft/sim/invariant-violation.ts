/** The error every simulator invariant throws. */
/** A broken safety property. `invariant` names it. */
export class InvariantViolation extends Error {
  readonly code = 'RAFT_SIM_INVARIANT';
  constructor(
    readonly invariant: string,
    detail: string,
  ) {
    super(`${invariant}: ${detail}`);
    this.name = 'InvariantViolation';
  }
}
