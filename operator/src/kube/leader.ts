/**
 * Lease-based leader election (coordination.k8s.io/v1, client-go's leaderelection contract):
 * try to acquire or renew every `retryPeriodMs`; a lease held by someone else is taken only
 * after it went unrenewed for `leaseDurationMs` as measured on our own clock since we last
 * saw it change (no trust in other clocks); a leader that cannot renew for `renewDeadlineMs`
 * steps down; on stop a leader releases the lease so a standby takes over at once.
 * Writes use the object's resourceVersion, so two candidates never both win.
 */
import type { KubeClient, KubeObj } from './client.js';
import { isConflict } from './errors.js';
import { formatMicroTime } from './micro-time.js';
import { RESOURCES } from './resources.js';

/** Leader election settings. */
export interface LeaderElectionOptions {
  readonly namespace: string;
  readonly name: string;
  readonly identity: string;
  readonly leaseDurationMs?: number;
  readonly renewDeadlineMs?: number;
  readonly retryPeriodMs?: number;
  readonly onStartedLeading: () => void;
  readonly onStoppedLeading: () => void;
  readonly onError?: (err: unknown) => void;
}

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}
interface Lease extends KubeObj {
  spec?: LeaseSpec;
}

/** One candidate in a Lease election. */
export class LeaderElector {
  private leading = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private lastRenew = 0;
  private observed: { record: string; at: number } | undefined;
  private readonly o: Required<Omit<LeaderElectionOptions, 'onError'>> & Pick<LeaderElectionOptions, 'onError'>;
  private loop: Promise<void> = Promise.resolve();

  constructor(
    private readonly client: KubeClient,
    opts: LeaderElectionOptions,
  ) {
    this.o = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000, ...opts };
  }

  /** True while this candidate holds the lease. */
  get isLeader(): boolean {
    return this.leading;
  }

  /** Starts campaigning. */
  start(): void {
    const tick = (): void => {
      this.loop = this.step().finally(() => {
        if (!this.stopped) this.timer = setTimeout(tick, this.o.retryPeriodMs);
      });
    };
    tick();
  }

  /** Stops; a leader releases the lease (holder cleared) and steps down. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.loop;
    if (this.leading) {
      try {
        const lease = await this.client.get<Lease>(RESOURCES.lease, this.o.namespace, this.o.name);
        if (lease?.spec?.holderIdentity === this.o.identity) {
          await this.client.replace(RESOURCES.lease, {
            ...lease,
            spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1 },
          });
        }
      } catch (e) {
        this.o.onError?.(e);
      }
      this.setLeading(false);
    }
  }

  private setLeading(v: boolean): void {
    if (v === this.leading) return;
    this.leading = v;
    if (v) this.o.onStartedLeading();
    else this.o.onStoppedLeading();
  }

  private async step(): Promise<void> {
    let ok = false;
    try {
      ok = await this.tryAcquireOrRenew();
    } catch (e) {
      this.o.onError?.(e);
    }
    const now = Date.now();
    if (ok) {
      this.lastRenew = now;
      this.setLeading(true);
    } else if (this.leading && now - this.lastRenew > this.o.renewDeadlineMs) {
      this.setLeading(false);
    }
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = new Date();
    const seconds = Math.ceil(this.o.leaseDurationMs / 1000);
    const lease = await this.client.get<Lease>(RESOURCES.lease, this.o.namespace, this.o.name);
    if (!lease) {
      try {
        await this.client.create(RESOURCES.lease, {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: this.o.name, namespace: this.o.namespace },
          spec: {
            holderIdentity: this.o.identity,
            leaseDurationSeconds: seconds,
            acquireTime: formatMicroTime(now),
            renewTime: formatMicroTime(now),
            leaseTransitions: 0,
          },
        });
        return true;
      } catch (e) {
        if (isConflict(e)) return false;
        throw e;
      }
    }
    const spec = lease.spec ?? {};
    const record = JSON.stringify([spec.holderIdentity, spec.renewTime, spec.acquireTime]);
    if (this.observed?.record !== record) this.observed = { record, at: now.getTime() };
    const holder = spec.holderIdentity ?? '';
    const held = holder !== '' && holder !== this.o.identity;
    const durationMs = (spec.leaseDurationSeconds ?? seconds) * 1000;
    if (held && this.observed.at + durationMs > now.getTime()) return false;
    const next: LeaseSpec = {
      ...spec,
      holderIdentity: this.o.identity,
      leaseDurationSeconds: seconds,
      renewTime: formatMicroTime(now),
      ...(holder !== this.o.identity
        ? { acquireTime: formatMicroTime(now), leaseTransitions: (spec.leaseTransitions ?? 0) + 1 }
        : {}),
    };
    try {
      await this.client.replace(RESOURCES.lease, { ...lease, spec: next });
      return true;
    } catch (e) {
      if (isConflict(e)) return false;
      throw e;
    }
  }
}
