/**
 * The API server's audit log, as tests use it: count the write requests a piece of code
 * made (e.g. "a second reconcile of an unchanged cluster performs zero writes").
 *
 * The policy below records every write verb at Metadata level, once, at ResponseComplete;
 * reads are not recorded. Because the log is written asynchronously to the client seeing
 * its response, "everything up to now" is established with a checkpoint: a marker request
 * (a DELETE of a ConfigMap that does not exist: audited, changes nothing) whose own event
 * is awaited in the log.
 */
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiException, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';

/** The write verbs the policy records. */
export const writeVerbs = ['create', 'update', 'patch', 'delete', 'deletecollection'] as const;

/** Audit policy file contents (audit.k8s.io/v1). */
export const auditPolicyYaml = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived", "ResponseStarted", "Panic"]
rules:
  - level: Metadata
    verbs: [${writeVerbs.map((v) => `"${v}"`).join(', ')}]
  - level: None
`;

/** The fields of an audit.k8s.io/v1 Event that tests use. */
export interface AuditEvent {
  readonly auditID: string;
  readonly stage: string;
  readonly verb: string;
  readonly requestURI: string;
  readonly user: { readonly username: string; readonly groups?: readonly string[] };
  readonly objectRef?: {
    readonly resource?: string;
    readonly namespace?: string;
    readonly name?: string;
    readonly apiGroup?: string;
    readonly subresource?: string;
  };
  readonly responseStatus?: { readonly code?: number };
}

/** Selects events; every given field must match. */
export interface AuditFilter {
  /** User name (the CN of the client certificate). */
  readonly user?: string;
  readonly namespace?: string;
  readonly resource?: string;
  readonly subresource?: string;
  readonly verb?: (typeof writeVerbs)[number];
}

/** A position in the audit log: every event before it has been written. */
export interface AuditCheckpoint {
  readonly index: number;
}

const markerNamespace = 'kube-system';
const markerPrefix = 'commitlog-audit-marker-';

/** Reader of one API server's audit log. */
export class AuditLog {
  constructor(
    readonly path: string,
    private readonly adminConfig: KubeConfig,
  ) {}

  /** Every event written so far, in log order (marker events included). */
  events(): AuditEvent[] {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    const out: AuditEvent[] = [];
    for (const line of text.split('\n')) {
      // The last line may be half-written; it is complete on the next read.
      if (line.trim() === '') continue;
      try {
        out.push(JSON.parse(line) as AuditEvent);
      } catch {
        break;
      }
    }
    return out;
  }

  /**
   * Sends a marker request and waits (up to `timeoutMs`) until its event is in the log;
   * every request that completed before this call is then in the log too.
   */
  async checkpoint(timeoutMs = 10_000): Promise<AuditCheckpoint> {
    const name = `${markerPrefix}${randomUUID()}`;
    const core = this.adminConfig.makeApiClient(CoreV1Api);
    try {
      await core.deleteNamespacedConfigMap({ name, namespace: markerNamespace });
    } catch (e) {
      if (!(e instanceof ApiException && e.code === 404)) throw e;
    }
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const events = this.events();
      const i = events.findIndex((ev) => ev.objectRef?.name === name);
      if (i >= 0) return { index: i };
      if (Date.now() > deadline)
        throw new Error(`audit marker ${name} did not appear in ${this.path} within ${timeoutMs} ms`);
      await sleep(50);
    }
  }

  /** Write events strictly between two checkpoints that match `filter` (markers excluded). */
  between(from: AuditCheckpoint, to: AuditCheckpoint, filter: AuditFilter = {}): AuditEvent[] {
    return this.events()
      .slice(from.index + 1, to.index)
      .filter((ev) => !isMarker(ev) && matches(ev, filter));
  }
}

function isMarker(ev: AuditEvent): boolean {
  return ev.objectRef?.namespace === markerNamespace && (ev.objectRef.name ?? '').startsWith(markerPrefix);
}

/** True when `ev` satisfies every field of `filter`. */
export function matches(ev: AuditEvent, filter: AuditFilter): boolean {
  if (filter.user !== undefined && ev.user.username !== filter.user) return false;
  if (filter.namespace !== undefined && ev.objectRef?.namespace !== filter.namespace) return false;
  if (filter.resource !== undefined && ev.objectRef?.resource !== filter.resource) return false;
  if (filter.subresource !== undefined && ev.objectRef?.subresource !== filter.subresource) return false;
  if (filter.verb !== undefined && ev.verb !== filter.verb) return false;
  return true;
}
