/**
 * Kubernetes Events (events.k8s.io/v1) about a CommitLogCluster: what the operator did and
 * why it could not. Recording never fails a reconcile; identical events within ten minutes
 * are recorded once.
 */
import type { KubeClient, KubeObj } from './client.js';
import { formatMicroTime } from './micro-time.js';
import { RESOURCES } from './resources.js';

/** Event severity. */
export type EventType = 'Normal' | 'Warning';

/** Records Events; `record` is fire-and-forget safe (it never rejects). */
export interface EventRecorder {
  record(regarding: KubeObj, type: EventType, reason: string, action: string, note: string): Promise<void>;
}

const DEDUP_MS = 10 * 60_000;

/** {@link EventRecorder} writing through a KubeClient. */
export class KubeEventRecorder implements EventRecorder {
  private readonly recent = new Map<string, number>();

  constructor(
    private readonly client: KubeClient,
    private readonly instance: string,
    private readonly onError: (e: unknown) => void = () => undefined,
  ) {}

  async record(regarding: KubeObj, type: EventType, reason: string, action: string, note: string): Promise<void> {
    const m = regarding.metadata ?? {};
    const key = `${m.uid ?? m.name ?? ''}|${type}|${reason}|${note}`;
    const now = Date.now();
    const last = this.recent.get(key);
    if (last !== undefined && now - last < DEDUP_MS) return;
    this.recent.set(key, now);
    if (this.recent.size > 1000) for (const [k, t] of this.recent) if (now - t > DEDUP_MS) this.recent.delete(k);
    try {
      await this.client.create(RESOURCES.event, {
        apiVersion: 'events.k8s.io/v1',
        kind: 'Event',
        metadata: {
          name: `${m.name ?? 'unknown'}.${now.toString(16)}${Math.floor(Math.random() * 0xffff).toString(16)}`,
          namespace: m.namespace,
        },
        eventTime: formatMicroTime(new Date(now)),
        reportingController: 'commitlog.dev/operator',
        reportingInstance: this.instance,
        action,
        reason,
        note: note.slice(0, 1024),
        type,
        regarding: {
          apiVersion: regarding.apiVersion,
          kind: regarding.kind,
          name: m.name,
          namespace: m.namespace,
          uid: m.uid,
          resourceVersion: m.resourceVersion,
        },
      });
    } catch (e) {
      this.onError(e);
    }
  }
}
