/**
 * Liveness and readiness of a cluster node, as grpc.health.v1 statuses (what the kubelet's
 * native gRPC probes ask) and /readyz (the HTTP endpoint) — one decision for both:
 *
 * - `""` (liveness, and `log.v1.Admin`, which the operator must reach on a not-ready
 *   member): SERVING while the process serves, NOT_SERVING once Raft failed fatally or the
 *   agent stops. A failed probe restarts the container, so nothing else may flip it.
 * - `log.v1.Log` (readiness): SERVING only for a caught-up member — a leader is known and
 *   this node is a voter of the configuration (the leader promotes a learner only once it
 *   has caught up, Raft §4.2.1), or a learner that asked to stay one (`--role learner`).
 *   A fresh node waiting to be added, or a learner still catching up, is not ready, so the
 *   operator's one-member-at-a-time scale-up waits for it.
 */
import type { RaftNode } from '../raft/index.js';
import { ServingStatus, type HealthState } from '../server/health-service.js';
import type { DesiredRole } from './config.js';

/** Health service names the probes use (operator/src/model/stateful-set.ts). */
export const ProbeServices = { liveness: '', readiness: 'log.v1.Log', admin: 'log.v1.Admin' } as const;

/** Outcome of a readiness check. */
export type Readiness = { readonly ready: true } | { readonly ready: false; readonly reason: string };

/** The facts readiness depends on (a pure view, so the rule is testable without Raft). */
export interface ReadinessFacts {
  readonly stopping: boolean;
  readonly fatal: boolean;
  readonly leaderKnown: boolean;
  /** This node's suffrage in the configuration; undefined = not a member. */
  readonly suffrage: 'voter' | 'learner' | undefined;
  readonly desiredRole: DesiredRole;
}

/** The readiness rule (see the file comment). */
export function readinessOf(f: ReadinessFacts): Readiness {
  if (f.stopping) return { ready: false, reason: 'shutting down' };
  if (f.fatal) return { ready: false, reason: 'raft failed; this node no longer serves' };
  if (f.suffrage === undefined)
    return { ready: false, reason: 'not a member of the Raft configuration yet (waiting to be added)' };
  if (!f.leaderKnown) return { ready: false, reason: 'no Raft leader known' };
  if (f.suffrage === 'learner' && f.desiredRole === 'voter')
    return { ready: false, reason: 'learner catching up (not promoted to voter yet)' };
  return { ready: true };
}

/** Facts of a running node. */
export function factsOf(node: RaftNode, desiredRole: DesiredRole, stopping: boolean, fatal: boolean): ReadinessFacts {
  const s = node.status();
  return {
    stopping,
    fatal,
    leaderKnown: s.leader !== null,
    suffrage: s.members.find((m) => m.id === s.id)?.suffrage,
    desiredRole,
  };
}

/**
 * Keeps a {@link HealthState} in line with {@link readinessOf}: at once on every leader
 * change, `periodMs` after applied entries (configuration changes arrive as applied entries;
 * one check per `periodMs` of applying is cheaper than one per applied batch and far below the
 * kubelet's probe period), and every `safetyMs` regardless. An idle node applies nothing, so
 * it wakes for readiness only every `safetyMs` (issue 15: the 250 ms poll was 4 wakeups a
 * second on every idle node).
 */
export class HealthDriver {
  private timer: NodeJS.Timeout | undefined;
  private soon: NodeJS.Timeout | undefined;
  private offs: (() => void)[] = [];
  private stopping = false;
  private fatal = false;
  private last: Readiness = { ready: false, reason: 'starting' };

  constructor(
    private readonly health: HealthState,
    private readonly node: RaftNode,
    private readonly desiredRole: DesiredRole,
    private readonly periodMs = 250,
    private readonly safetyMs = 5_000,
  ) {}

  /** Marks the process live and starts tracking readiness. */
  start(): void {
    this.offs.push(this.node.onLeaderChange(() => this.update()));
    this.offs.push(this.node.onApplied(() => this.updateSoon()));
    this.timer = setInterval(() => this.update(), this.safetyMs);
    this.timer.unref();
    this.update();
  }

  /** The current readiness (also what /readyz answers). */
  readiness(): Readiness {
    return this.last;
  }

  /** Raft failed: not live, not ready (the kubelet restarts the container). */
  markFatal(): void {
    this.fatal = true;
    this.update();
  }

  /** The agent is stopping: not ready, not live; stops tracking. */
  stop(): void {
    this.stopping = true;
    this.update();
    for (const off of this.offs.splice(0)) off();
    if (this.timer) clearInterval(this.timer);
    if (this.soon) clearTimeout(this.soon);
  }

  /** One check `periodMs` after the first applied batch since the last one. */
  private updateSoon(): void {
    if (this.soon !== undefined || this.stopping) return;
    this.soon = setTimeout(() => {
      this.soon = undefined;
      this.update();
    }, this.periodMs);
    this.soon.unref();
  }

  private update(): void {
    this.last = readinessOf(factsOf(this.node, this.desiredRole, this.stopping, this.fatal));
    const live = !this.stopping && !this.fatal ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
    this.health.set(ProbeServices.liveness, live);
    this.health.set(ProbeServices.admin, live);
    this.health.set(ProbeServices.readiness, this.last.ready ? ServingStatus.SERVING : ServingStatus.NOT_SERVING);
  }
}
