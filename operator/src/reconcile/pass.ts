/**
 * One reconcile pass's context: the cluster as read at its start, the client and event
 * recorder bound to the pass's AbortSignal (a shutdown stops the pass at its next call and it
 * records nothing more), the clock, the log, and the list of what it changed. Steps are
 * functions of a Pass; a step's failure is a {@link StepError} naming it.
 */
import { API_VERSION, KIND, type CommitLogCluster, type CommitLogClusterStatus } from '../api/types.js';
import type { KubeClient } from '../kube/client.js';
import type { EventRecorder, EventType } from '../kube/events.js';
import type { Logger } from '../kube/logger.js';
import { RESOURCES } from '../kube/resources.js';
import { contains, differences } from './compare.js';

/** A step failed; `step` names it for metrics and the Degraded message. */
export class StepError extends Error {
  readonly code = 'RECONCILE_STEP_FAILED';
  constructor(
    readonly step: string,
    override readonly cause: unknown,
  ) {
    super(`step ${step} failed: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'StepError';
  }
}

/** The context of one pass over one cluster. */
export interface Pass {
  readonly c: CommitLogCluster;
  readonly client: KubeClient;
  readonly log: Logger;
  readonly signal: AbortSignal;
  readonly now: () => Date;
  /** Objects created, updated or deleted by this pass, for the `Applied` event. */
  readonly changed: string[];
  /** Records an event about the cluster, unless the pass was cancelled. */
  event(type: EventType, reason: string, action: string, note: string): Promise<void>;
}

/** A {@link Pass} over `c`. */
export function newPass(
  c: CommitLogCluster,
  deps: { client: KubeClient; events: EventRecorder; log: Logger; now: () => Date },
  signal: AbortSignal,
): Pass {
  return {
    c,
    client: deps.client,
    log: deps.log,
    signal,
    now: deps.now,
    changed: [],
    event: (type, reason, action, note) =>
      signal.aborted ? Promise.resolve() : deps.events.record(c, type, reason, action, note),
  };
}

/** The pass's time in the API's seconds precision (`2026-01-01T00:00:00Z`). */
export function nowIso(p: Pass): string {
  return p
    .now()
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z');
}

/** The cluster's metadata.generation (0 before the API server set it). */
export const generationOf = (p: Pass): number => p.c.metadata.generation ?? 0;

/** Runs step `name`; any failure becomes a {@link StepError} naming it (an inner one is kept). */
export async function step<T>(name: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    throw e instanceof StepError ? e : new StepError(name, e);
  }
}

/**
 * Writes status through the subresource when it differs from the status read at the start of
 * the pass; returns whether it wrote. The paths that differ are logged (debug), so a write
 * over an unchanged cluster says why.
 */
export async function writeStatus(p: Pass, status: CommitLogClusterStatus): Promise<boolean> {
  const old = p.c.status;
  if (old && contains(old, status) && contains(status, old)) return false;
  const diff = old ? [...new Set([...differences(old, status), ...differences(status, old)])] : ['(new)'];
  p.log.debug({ diff: diff.slice(0, 20) }, 'status changed');
  await p.client.apply(
    RESOURCES.cluster,
    {
      apiVersion: API_VERSION,
      kind: KIND,
      metadata: { name: p.c.metadata.name, namespace: p.c.metadata.namespace },
      status,
    },
    'status',
  );
  return true;
}
