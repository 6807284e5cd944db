/**
 * CommitLogClient: a TypeScript client of a commitlog cluster with client-side load
 * balancing (the book's resolver + picker), implemented as a wrapper over one grpc-js
 * channel per server:
 *
 * - resolve: `GetServers` on a known address (the target first, then any server seen
 *   before) gives the servers, the leader and the voters;
 * - Produce goes to the leader; Consume/ConsumeStream are spread round-robin over the
 *   followers (a follower that has not applied the offset yet answers OUT_OF_RANGE: the
 *   client then asks the leader, so a client reads its own writes);
 * - re-resolves on every UNAVAILABLE / not-leader answer and on a timer, and retries a
 *   Produce at the new leader until `deadlineMs` passes; each attempt has its own deadline
 *   (`readAttemptMs`, `writeAttemptMs`), cut to what remains of `deadlineMs`.
 *
 * Failover off a silent server (paused, partitioned; issue 12 item 4): the attempt deadlines
 * of reads and idempotent Produces default to the cluster's election timeout
 * (`electionTimeoutMs`, default 1000 ms: the `lan` preset), doubling after each attempt of a
 * call that timed out (so a cluster that is slow but alive still gets the time it needs).
 * A server at which an attempt timed out, or whose connection was refused, reset or never
 * established, becomes a *suspect* (suspects.ts): it does not work from this client,
 * whatever the cluster thinks of it (a paused leader; a leader whose LoadBalancer address
 * refuses connections while its pod restarts). Suspicion is a PREFERENCE, never an
 * exclusion (picker.ts's `route`): a write goes to the leader unless it is suspect, then to
 * a follower that is not (which forwards the Produce to the leader over the cluster's own
 * addresses), and when every server is suspect, to the leader anyway; reads prefer servers
 * that are not suspect. Resolution asks the other servers first and looks past answers that
 * still name a suspect leader. A call the server answers, a background probe it answers, or
 * `suspectTtlMs` clear a suspicion. So a Produce moves off a paused leader in about one
 * election timeout — the time the followers need to elect another leader anyway — and is
 * still served by a leader that is merely slow, or that only this client cannot reach.
 * Concurrent callers share one GetServers in flight, and a caller whose attempt began
 * before the latest resolve does not resolve again.
 *
 * Produce is idempotent by default (Kafka's enable.idempotence): the client picks one random
 * 128-bit producer id and numbers its produces 0, 1, 2, … (one sequence per `produce` call,
 * the same on every attempt of it). The cluster appends each (producer id, sequence) at most
 * once and answers a retry with the original offset (node/src/raft/shell/producer-state.ts),
 * so every transient failure of a Produce — indeterminate ones included (ABORTED, an
 * attempt's deadline, a connection cut after the request left) — is retried safely until
 * `deadlineMs`: exactly-once. With `idempotent: false` (the book's at-least-once client)
 * a Produce is retried only when it is known not to have been appended — the server itself
 * answered UNAVAILABLE or RESOURCE_EXHAUSTED, or the call never left this process
 * ({@link neverSent}) — and an indeterminate one is handed to the caller. See
 * {@link retryPolicy}. Reads are retried on every transient status. Acknowledged records
 * are never lost.
 *
 * The same routing also exists inside one grpc-js channel (grpc-lb.ts: resolver
 * `commitlog:///` + policy `commitlog_leader`); this wrapper adds what a channel does not:
 * retrying a Produce at the new leader across a failover, and reading your own writes.
 */
import { randomBytes } from 'node:crypto';
import {
  Metadata,
  status as Status,
  type ChannelCredentials,
  type ClientOptions,
  type ClientReadableStream,
  type ServiceError,
} from '@grpc/grpc-js';
import {
  LogClient,
  type ConsumeResponse,
  type GetServersResponse,
  type ProduceRequest,
  type Server,
  type ProduceResponse,
  type Record as WireRecord,
} from '../gen/v1/log.js';
import { ErrorMetadataKeys } from '../server/errors.js';
import { parseHostPort } from '../net/address.js';
import { resolveServers } from './get-servers.js';
import { CallKind, Picker, type ClusterServer } from './picker.js';
import { isRetryable, silent } from './retry-policy.js';
import { Suspects } from './suspects.js';

export { isRetryable, neverSent, outcomeUnknown, retryPolicy, serverAnswered, silent } from './retry-policy.js';

/** An attempt deadline doubles after each timeout of a call up to max(its first value, this). */
const MAX_ATTEMPT_MS = 10_000;

/** Bytes of a generated producer id (128 random bits). */
const PRODUCER_ID_BYTES = 16;

/** The scheme of cluster targets: `commitlog:///host:port` (host:port alone works too). */
export const COMMITLOG_SCHEME = 'commitlog';

/** Options of {@link CommitLogClient}. */
export interface CommitLogClientOptions {
  /** `commitlog:///host:port` or `host:port` of any server (a seed for GetServers). */
  readonly target: string;
  readonly credentials: ChannelCredentials;
  readonly channelOptions?: Partial<ClientOptions>;
  /** Dial servers' externalRpcAddr when they have one (clients outside Kubernetes). */
  readonly useExternalAddrs?: boolean;
  /** How long one call keeps retrying across leader changes (default 15000 ms): the bound over all its attempts. */
  readonly deadlineMs?: number;
  /**
   * The cluster's election timeout (default 1000 ms: the `lan` Raft preset, 10 ticks of
   * 100 ms; the `test` preset's is 200 ms). The attempt deadlines below default to it:
   * a silent leader is replaced by the followers after one to two election timeouts
   * (Raft §5.2), so waiting longer at it gains nothing.
   */
  readonly electionTimeoutMs?: number;
  /**
   * The deadline of the first attempt of a read (default `electionTimeoutMs`), doubled
   * after each timed-out attempt of the call up to max(this, 10 s), never beyond
   * `deadlineMs`: a paused or partitioned server costs one attempt, then the call moves on
   * to another server.
   */
  readonly readAttemptMs?: number;
  /**
   * The deadline of the first attempt of a Produce, doubled like {@link readAttemptMs}.
   * Default `electionTimeoutMs` for an idempotent Produce (the default): an attempt that
   * times out is retried at the leader then known (the cluster deduplicates). Default
   * 10000 ms with `idempotent: false`: a timed-out attempt is then indeterminate and NOT
   * retried ({@link retryPolicy}), so it must be long enough for a commit on a loaded cluster.
   */
  readonly writeAttemptMs?: number;
  /**
   * How long a server stays suspect at most after a call to it failed without an answer
   * (default 10 × `electionTimeoutMs`); an answer to a call or to a probe clears it sooner.
   */
  readonly suspectTtlMs?: number;
  /** The deadline of each GetServers attempt while resolving (default `electionTimeoutMs`, never beyond the call's deadline). */
  readonly resolveAttemptMs?: number;
  /** Re-resolve at least this often (default 5000 ms). */
  readonly refreshMs?: number;
  /**
   * Idempotent produce (default true): every record carries this client's producer id and
   * a sequence number, so retries of indeterminate failures never duplicate a record.
   * false: the book's wire format, at-least-once (indeterminate failures are not retried).
   */
  readonly idempotent?: boolean;
  /** The producer id (1..64 bytes) when idempotent; default 16 random bytes per client. */
  readonly producerId?: Uint8Array;
  /** Called with the server that answered each call (tests, debugging). */
  readonly onRoute?: (call: 'produce' | 'consume' | 'consumeStream', server: ClusterServer) => void;
}

/** A record read back. */
export interface ConsumedRecord {
  readonly offset: number;
  readonly value: Buffer;
  readonly term: number;
}

/** No server could be reached or no leader was found before the deadline. */
export class ClusterUnavailableError extends Error {
  readonly code = 'cluster-unavailable';
  constructor(
    message: string,
    readonly lastError?: unknown,
  ) {
    super(message);
    this.name = 'ClusterUnavailableError';
  }
}

/** Parses `commitlog:///host:port` or `host:port` into `host:port`. */
export function parseTarget(target: string): string {
  const m = /^commitlog:\/\/\/?(.+)$/.exec(target);
  const addr = m ? (m[1] as string) : target;
  const parsed = parseHostPort(addr);
  if (!parsed.ok)
    throw new RangeError(`target must be commitlog:///host:port or host:port, got "${target}": ${parsed.reason}`);
  return addr;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function positive(name: string, ms: number): number {
  if (!Number.isFinite(ms) || ms <= 0)
    throw new RangeError(`${name} must be a positive number of milliseconds, got ${ms}`);
  return ms;
}

function unary<T>(
  fn: (md: Metadata, opts: { deadline: number }, cb: (err: ServiceError | null, res: T) => void) => unknown,
  timeoutMs: number,
): Promise<T> {
  return new Promise((resolve, reject) =>
    fn(new Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => (err ? reject(err) : resolve(res))),
  );
}

/** A load-balancing client of a commitlog cluster. Call {@link close} when done. */
export class CommitLogClient {
  private readonly seed: string;
  private readonly channels = new Map<string, LogClient>();
  private readonly picker = new Picker();
  private readonly deadlineMs: number;
  private readonly attemptMs: Readonly<Record<CallKind, number>>;
  private readonly resolveAttemptMs: number;
  private readonly suspects: Suspects;
  private resolving: Promise<void> | undefined;
  private lastResolve = 0;
  /** Consecutive resolves that failed (no server answered GetServers in time). */
  private resolveFailures = 0;
  /** Counts completed resolves: an attempt that began before the latest one does not resolve again. */
  private generation = 0;
  private closed = false;
  /** This client's producer id (undefined: not idempotent) and its next sequence number. */
  readonly producerId: Buffer | undefined;
  private nextSeq = 0;

  constructor(private readonly o: CommitLogClientOptions) {
    this.seed = parseTarget(o.target);
    this.deadlineMs = positive('deadlineMs', o.deadlineMs ?? 15_000);
    const election = positive('electionTimeoutMs', o.electionTimeoutMs ?? 1_000);
    const idempotent = o.idempotent ?? true;
    this.attemptMs = {
      [CallKind.read]: positive('readAttemptMs', o.readAttemptMs ?? election),
      [CallKind.write]: positive('writeAttemptMs', o.writeAttemptMs ?? (idempotent ? election : MAX_ATTEMPT_MS)),
    };
    this.resolveAttemptMs = positive('resolveAttemptMs', o.resolveAttemptMs ?? election);
    if (o.producerId !== undefined && (o.producerId.byteLength === 0 || o.producerId.byteLength > 64))
      throw new RangeError(`producerId must be 1..64 bytes, got ${o.producerId.byteLength}`);
    this.producerId = idempotent ? Buffer.from(o.producerId ?? randomBytes(PRODUCER_ID_BYTES)) : undefined;
    this.suspects = new Suspects({
      probe: (addr) => this.getServersAt(addr, 2 * election),
      retryMs: election,
      ttlMs: positive('suspectTtlMs', o.suspectTtlMs ?? 10 * election),
    });
  }

  private getServersAt(addr: string, attemptMs: number): Promise<GetServersResponse> {
    return unary<GetServersResponse>((md, opts, cb) => this.channel(addr).getServers({}, md, opts, cb), attemptMs);
  }

  /** The address this client dials for `s`. */
  private dialAddr(s: { rpcAddr: string; externalRpcAddr: string }): string {
    return this.o.useExternalAddrs && s.externalRpcAddr ? s.externalRpcAddr : s.rpcAddr;
  }

  private channel(addr: string): LogClient {
    let c = this.channels.get(addr);
    if (c === undefined) {
      c = new LogClient(addr, this.o.credentials, this.o.channelOptions ?? {});
      this.channels.set(addr, c);
    }
    return c;
  }

  /** The servers as last resolved. */
  get servers(): readonly ClusterServer[] {
    return this.picker.view;
  }

  /**
   * Calls GetServers (seed first, then known servers; suspects only when no other server
   * answered) and updates the routing view. Concurrent callers share the call in flight.
   */
  resolve(): Promise<void> {
    // Each resolve that failed doubles the next one's GetServers deadline (up to
    // max(resolveAttemptMs, 5 s)): a loaded cluster whose answers take longer is still resolved.
    const grown = Math.min(
      this.resolveAttemptMs * 2 ** this.resolveFailures,
      Math.max(this.resolveAttemptMs, MAX_ATTEMPT_MS / 2),
    );
    return (this.resolving ??= this.doResolve(grown).then(
      () => {
        this.resolveFailures = 0;
        this.resolving = undefined;
      },
      (err: unknown) => {
        this.resolveFailures++;
        this.resolving = undefined;
        throw err;
      },
    ));
  }

  private async doResolve(attemptMs: number): Promise<void> {
    const candidates = [...new Set([this.seed, ...this.picker.view.map((s) => s.addr)])];
    const ask = (addr: string): Promise<GetServersResponse> =>
      this.getServersAt(addr, attemptMs).then((r) => (this.suspects.clear(addr), r));
    const trusted = (leader: Server): boolean => !this.suspects.has(this.dialAddr(leader));
    let resolved = await resolveServers(
      candidates.filter((a) => !this.suspects.has(a)),
      ask,
      undefined,
      trusted,
    );
    if (!resolved.ok)
      resolved = await resolveServers(
        candidates.filter((a) => this.suspects.has(a)),
        ask,
      );
    if (!resolved.ok)
      throw new ClusterUnavailableError(
        `no server answered GetServers (tried ${candidates.join(', ')})`,
        resolved.lastError,
      );
    const servers = resolved.servers.map((s) => ({
      id: s.id,
      addr: this.dialAddr(s),
      isLeader: s.isLeader,
      isVoter: s.isVoter,
    }));
    this.picker.update(servers);
    this.lastResolve = Date.now();
    this.generation++;
    for (const a of this.suspects.addrs)
      if (a !== this.seed && !servers.some((s) => s.addr === a)) this.suspects.clear(a);
    for (const [a, c] of this.channels) {
      if (a === this.seed || servers.some((s) => s.addr === a)) continue;
      c.close();
      this.channels.delete(a);
    }
  }

  /**
   * Resolves when there is no view yet, or refreshes a view older than `refreshMs`. A
   * refresh that fails keeps the view it has: the call's own attempt then tells whether the
   * servers it names still work.
   */
  private async ensureFresh(): Promise<void> {
    if (this.picker.view.length === 0) return this.resolve();
    if (Date.now() - this.lastResolve > (this.o.refreshMs ?? 5000)) await this.resolve().catch(() => {});
  }

  /**
   * Runs `call` on the server the picker chooses, re-resolving and retrying retryable
   * failures until the call's deadline. `call` gets this attempt's budget: the attempt
   * deadline of `kind`, cut to what remains of the call's.
   */
  private async routed<T>(
    kind: CallKind,
    call: (c: LogClient, s: ClusterServer, attemptMs: number) => Promise<T>,
    idempotent = false,
  ): Promise<T> {
    if (this.closed) throw new ClusterUnavailableError('the client is closed');
    const deadline = Date.now() + this.deadlineMs;
    const first = this.attemptMs[kind];
    let lastErr: unknown;
    let timeouts = 0;
    for (let attempt = 0; Date.now() < deadline; attempt++) {
      let generation = this.generation;
      let server: ClusterServer | undefined;
      try {
        await this.ensureFresh();
        generation = this.generation;
        const p = this.picker.pick(kind, (s) => this.suspects.has(s.addr));
        if (!p.ok)
          throw new ClusterUnavailableError(`no server to ${kind === 'write' ? 'write to' : 'read from'}: ${p.reason}`);
        server = p.server;
        const grown = Math.min(first * 2 ** timeouts, Math.max(first, MAX_ATTEMPT_MS));
        const attemptMs = Math.max(1, Math.min(grown, deadline - Date.now()));
        const res = await call(this.channel(server.addr), server, attemptMs);
        this.suspects.clear(server.addr);
        return res;
      } catch (err) {
        lastErr = err;
        const e = err as Partial<ServiceError>;
        if (server !== undefined && !(err instanceof ClusterUnavailableError)) {
          if (silent(e)) this.suspects.add(server.addr);
          else this.suspects.clear(server.addr);
        }
        if (e.code === Status.DEADLINE_EXCEEDED) timeouts++;
        if (!(err instanceof ClusterUnavailableError) && !isRetryable(kind, e, idempotent)) throw err;
        // An overloaded leader gets more room than a leader change needs.
        await sleep(
          e.code === Status.RESOURCE_EXHAUSTED ? Math.min(100 * 2 ** attempt, 2000) : Math.min(50 * 2 ** attempt, 500),
        );
        // A resolve completed since this attempt began already reflects its failure.
        if (Date.now() < deadline && this.generation === generation) await this.resolve().catch(() => {});
      }
    }
    if (lastErr instanceof Error && typeof (lastErr as Partial<ServiceError>).code === 'number') throw lastErr;
    throw new ClusterUnavailableError(`gave up after ${this.deadlineMs} ms`, lastErr);
  }

  /**
   * Appends `value` at the leader; resolves with its offset once committed. Idempotent by
   * default: one sequence number per call, the same on every attempt, so a retry after an
   * indeterminate failure returns the original offset instead of appending again.
   */
  produce(value: Uint8Array): Promise<number> {
    const req: ProduceRequest = {
      record: { value: Buffer.from(value), offset: 0, term: 0, type: 0 },
      ...(this.producerId !== undefined ? { producerId: this.producerId, sequence: this.nextSeq++ } : {}),
    };
    return this.routed(
      CallKind.write,
      async (c, s, attemptMs) => {
        const res = await unary<ProduceResponse>((md, opts, cb) => c.produce(req, md, opts, cb), attemptMs);
        this.o.onRoute?.('produce', s);
        return res.offset;
      },
      this.producerId !== undefined,
    );
  }

  /**
   * Reads the record at `offset` from a follower; if that follower has not applied it yet
   * (OUT_OF_RANGE), from the leader (even a suspect one: it has the last word). Rejects
   * OUT_OF_RANGE when the cluster has no such record. A leader that does not answer becomes
   * a suspect and the read is retried (the follower will have applied it soon).
   */
  consume(offset: number): Promise<ConsumedRecord> {
    return this.routed(CallKind.read, async (c, s, attemptMs) => {
      const get = (client: LogClient): Promise<ConsumeResponse> =>
        unary<ConsumeResponse>((md, opts, cb) => client.consume({ offset }, md, opts, cb), attemptMs);
      let res: ConsumeResponse;
      let server = s;
      try {
        res = await get(c);
      } catch (err) {
        const leader = this.picker.leader;
        if (
          (err as Partial<ServiceError>).code !== Status.OUT_OF_RANGE ||
          leader === undefined ||
          leader.addr === s.addr
        )
          throw err;
        server = leader;
        try {
          res = await get(this.channel(leader.addr));
          this.suspects.clear(leader.addr);
        } catch (atLeader) {
          if (!silent(atLeader as Partial<ServiceError>)) throw atLeader;
          // The follower answered; the leader did not: blame the leader, retry the read.
          this.suspects.add(leader.addr);
          throw new ClusterUnavailableError(`the leader ${leader.id} did not answer a read`, atLeader);
        }
      }
      this.o.onRoute?.('consume', server);
      return toRecord(res.record);
    });
  }

  /**
   * Streams records from `offset` on (tailing) from one follower; the caller cancels it.
   * With `batchRecords` N > 0 each message may carry up to N records (ConsumeRequest.
   * batch_records; fewer when the server's limit is lower, and one per message from a server
   * that predates batches): read every message with `recordsOf` (consume-records.ts).
   */
  async consumeStream(
    offset: number,
    opts: { batchRecords?: number } = {},
  ): Promise<ClientReadableStream<ConsumeResponse>> {
    await this.ensureFresh();
    const p = this.picker.pick(CallKind.read, (s) => this.suspects.has(s.addr));
    if (!p.ok) throw new ClusterUnavailableError(`no server to read from: ${p.reason}`);
    this.o.onRoute?.('consumeStream', p.server);
    const batchRecords = opts.batchRecords ?? 0;
    return this.channel(p.server.addr).consumeStream(batchRecords > 0 ? { offset, batchRecords } : { offset });
  }

  /** The cluster's servers (GetServers through the resolver). */
  async getServers(): Promise<readonly ClusterServer[]> {
    await this.resolve();
    return this.picker.view;
  }

  /** Closes every channel and stops probing suspects. */
  close(): void {
    this.closed = true;
    this.suspects.close();
    for (const c of this.channels.values()) c.close();
    this.channels.clear();
  }
}

function toRecord(r: WireRecord | undefined): ConsumedRecord {
  if (r === undefined) throw new ClusterUnavailableError('the server answered without a record');
  return { offset: r.offset, value: r.value, term: r.term };
}

/** The leader address a "not-leader" error carries, if any. */
export function leaderAddrOf(err: unknown): string | undefined {
  const md = (err as Partial<ServiceError>).metadata;
  const v = md?.get(ErrorMetadataKeys.leaderAddr)[0];
  return typeof v === 'string' ? v : undefined;
}
