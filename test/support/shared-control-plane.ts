/**
 * The one control plane of a mocha run. Kept on `globalThis` under a registered symbol so
 * that the root hook (loaded by mocha through `--require`, possibly as CommonJS) and the test
 * files (ESM) see the same instance even if the module is evaluated twice. This file imports
 * nothing heavy, so the root hook costs nothing in runs that never start a control plane.
 */

/** What the slot holds: the start promise (shared by every caller) and how to stop it. */
export interface SharedSlot {
  started: Promise<{ stop(): Promise<void> }> | null;
  /** Installation of the repository's CRDs (crds/) into the started control plane. */
  crds: Promise<unknown> | null;
}

const key = Symbol.for('commitlog.test.sharedControlPlane');

/** The process-wide slot. */
export function sharedSlot(): SharedSlot {
  const g = globalThis as unknown as Record<symbol, SharedSlot | undefined>;
  let slot = g[key];
  if (slot === undefined) {
    slot = { started: null, crds: null };
    g[key] = slot;
  }
  return slot;
}

/** Stops the shared control plane if one was started (a failed start has nothing to stop). */
export async function stopShared(): Promise<void> {
  const slot = sharedSlot();
  const started = slot.started;
  slot.started = null;
  slot.crds = null;
  if (started === null) return;
  let cp: { stop(): Promise<void> };
  try {
    cp = await started;
  } catch {
    return;
  }
  await cp.stop();
}
