/**
 * Kubernetes Events (events.k8s.io/v1) about a CommitLogCluster: what the operator did and
 * why it could not. Recording never fails a reconcile. Two limits keep a failing cluster from
 * flooding its namespace, as client-go's event correlator does:
 * - identical events (same object, type, reason and note) within ten minutes are recorded once;
 * - distinct Warning events about one object are rate-limited by a token bucket (client-go's
 *   `EventSourceObjectSpamFilter`: a burst of {@link EVENT_BURST}, then one more every
 *   {@link EVENT_REFILL_MS}); one over the limit is dropped (and counted in `dropped`). Normal
 *   events are not limited: they tell steps that happen once (a pod restarted, a CA phase
 *   entered), which users and the e2e read in order, and a failure that repeats is a Warning.
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
/** Distinct events about one object recorded at once before the rate limit applies (client-go's 25). */
export const EVENT_BURST = 25;
/** After the burst, one more event about an object per this many milliseconds (client-go's 1/300 s). */
export const EVENT_REFILL_MS = 5 * 60_000;

/** Options of {@link KubeEventRecorder}. */
export interface EventRecorderOptions {
  /** The clock (ms since the epoch) of deduplication and rate limiting; default `Date.now`. */
  readonly now?: () => number;
}

/** The token bucket of one object: tokens left at `at`. */
interface Bucket {
  tokens: number;
  at: number;
}

/** {@link EventRecorder} writing through a KubeClient. */
export class KubeEventRecorder implements EventRecorder {
  private readonly recent = new Map<string, number>();
  private readonly buckets = new Map<string, Bucket>();
  private readonly now: () => number;
  /** Warning events dropped by the rate limit so far. */
  dropped = 0;
  /** Makes event names unique within this recorder (several events may share a millisecond). */
  private seq = 0;

  constructor(
    private readonly client: KubeClient,
    private readonly instance: string,
    private readonly onError: (e: unknown) => void = () => undefined,
    opts: EventRecorderOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
  }

  /** Takes a token of `object`'s bucket if one is left (refilled one per {@link EVENT_REFILL_MS}). */
  private admit(object: string, now: number): boolean {
    const b = this.buckets.get(object) ?? { tokens: EVENT_BURST, at: now };
    const tokens = Math.min(EVENT_BURST, b.tokens + Math.max(0, now - b.at) / EVENT_REFILL_MS);
    const ok = tokens >= 1;
    this.buckets.set(object, { tokens: ok ? tokens - 1 : tokens, at: now });
    if (this.buckets.size > 1000)
      for (const [k, v] of this.buckets)
        if (v.tokens + (now - v.at) / EVENT_REFILL_MS >= EVENT_BURST) this.buckets.delete(k);
    return ok;
  }

  async record(regarding: KubeObj, type: EventType, reason: string, action: string, note: string): Promise<void> {
    const m = regarding.metadata ?? {};
    const object = m.uid ?? `${m.namespace ?? ''}/${m.name ?? ''}`;
    const key = `${object}|${type}|${reason}|${note}`;
    const now = this.now();
    const last = this.recent.get(key);
    if (last !== undefined && now - last < DEDUP_MS) return;
    if (type === 'Warning' && !this.admit(object, now)) {
      this.dropped += 1;
      return;
    }
    this.recent.set(key, now);
    if (this.recent.size > 1000) for (const [k, t] of this.recent) if (now - t > DEDUP_MS) this.recent.delete(k);
    try {
      await this.client.create(RESOURCES.event, {
        apiVersion: 'events.k8s.io/v1',
        kind: 'Event',
        metadata: {
          name: `${m.name ?? 'unknown'}.${now.toString(16)}${(this.seq++).toString(16)}${Math.floor(Math.random() * 0xffff).toString(16)}`,
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
