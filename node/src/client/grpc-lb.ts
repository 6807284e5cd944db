/**
 * The book's client-side load balancing inside ONE grpc-js channel: a resolver for
 * `commitlog:///host:port` and a load-balancing policy "commitlog_leader", registered
 * through grpc-js's `experimental` API by {@link registerCommitLogLoadBalancing}.
 *
 * - The resolver calls GetServers on the target (then on any server seen before), hands
 *   the servers' addresses to the channel as endpoints, the leader's address as a channel
 *   attribute, and a ConfigSelector that labels each call `write` (Produce, ProduceStream)
 *   or `read` (everything else) — grpc-js's picker does not see the method, the
 *   ConfigSelector's `pickInformation` is how it learns it (as grpc-js's xDS code does).
 *   It re-resolves every `refreshMs`, and whenever the policy asks.
 * - The policy keeps one pick-first child per server and routes by picker.ts's `route`
 *   (the rule the Picker uses too): `write` picks the leader, `read` picks the READY
 *   followers round-robin (the leader when no follower is ready). Suspects are a
 *   preference, as CommitLogClient's: a child is suspect while its subchannel is in
 *   TRANSIENT_FAILURE (its address refuses connections from here), or after a call it
 *   carried ended DEADLINE_EXCEEDED or UNAVAILABLE with no answer of the server's own (a
 *   paused or partitioned server keeps its connection READY; lb-suspects.ts says when that
 *   ends). A Produce or ProduceStream whose leader is suspect goes to a READY follower that
 *   is not, which forwards it to the leader; when every child is suspect, to the leader.
 *   The Admin calls only the leader answers are labelled `leader` and always go to it. A
 *   call that ends UNAVAILABLE, one that makes a suspect, or a subchannel that fails asks
 *   for re-resolution, so a new leader is found after a failover.
 *
 * The resolver's GetServers call needs credentials, which grpc-js does not hand to
 * resolvers: pass them in the channel option {@link RESOLVER_CREDENTIALS_OPTION}.
 */
import {
  type ChannelCredentials,
  type ChannelOptions,
  type ServiceError,
  connectivityState as ConnectivityState,
  experimental,
  Metadata,
  status as Status,
} from '@grpc/grpc-js';
import { LogClient, type GetServersResponse } from '../gen/v1/log.js';
import { hostPort, isHostPort } from '../net/address.js';
import { resolveServers } from './get-servers.js';
import { CallKind, route, type RouteView } from './picker.js';
import { callVerdict, ChildSuspects } from './lb-suspects.js';

/** Channel option carrying the ChannelCredentials the resolver uses for GetServers. */
export const RESOLVER_CREDENTIALS_OPTION = 'commitlog.resolver_credentials';
/** Channel option: re-resolve at least this often (ms; default 5000). */
export const RESOLVER_REFRESH_OPTION = 'commitlog.resolver_refresh_ms';
/**
 * Channel option: how long a child stays suspect after a call it carried timed out or lost
 * its connection (ms; default {@link DEFAULT_SUSPECT_TTL_MS}), unless it answers a call or a
 * re-resolution names another leader first (lb-suspects.ts).
 */
export const SUSPECT_TTL_OPTION = 'commitlog.suspect_ttl_ms';
/** Default of {@link SUSPECT_TTL_OPTION}: 10 election timeouts of the `lan` preset, as CommitLogClient's `suspectTtlMs`. */
export const DEFAULT_SUSPECT_TTL_MS = 10_000;
/** Channel option: the clock (`() => number`, ms) the policy's suspicion expiry reads; default `Date.now`. For tests. */
export const CLOCK_OPTION = 'commitlog.clock';
/** Name of the load-balancing policy. */
export const LB_POLICY_NAME = 'commitlog_leader';
const LEADER_ATTRIBUTE = 'commitlog.leader_addr';
const KIND_KEY = 'commitlog.kind';
/** Pick information: `'1'` on a streaming call (its deadline is the caller's bound, lb-suspects.ts). */
const STREAM_KEY = 'commitlog.stream';
/** The streaming methods of the Log service. */
const STREAM_METHODS = new Set(['/log.v1.Log/ConsumeStream', '/log.v1.Log/ProduceStream']);

/** Writes a follower forwards to the leader: sent to a follower when the leader's subchannel fails. */
const WRITE_METHODS = new Set(['/log.v1.Log/Produce', '/log.v1.Log/ProduceStream']);
/** Calls only the leader answers (a follower refuses them): always sent to the leader. */
const LEADER_METHODS = new Set([
  '/log.v1.Admin/ListMembers',
  '/log.v1.Admin/AddLearner',
  '/log.v1.Admin/PromoteMember',
  '/log.v1.Admin/RemoveMember',
  '/log.v1.Admin/TransferLeadership',
]);

/** The seeds of a `commitlog:///host:port,host:port` target path. */
export function seedsOf(path: string): string[] {
  return path
    .replace(/^\//, '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** How the policy routes a call: a forwardable write, a leader-only call, or a read. */
export type PickKind = 'write' | 'leader' | 'read';

/** The {@link PickKind} of the method at `path` (`/log.v1.Log/Produce`). */
export function pickKindOf(path: string): PickKind {
  return WRITE_METHODS.has(path) ? 'write' : LEADER_METHODS.has(path) ? 'leader' : 'read';
}

/** Labels every call write, leader or read for the picker. */
const configSelector: experimental.ConfigSelector = {
  invoke: (methodName: string) => ({
    methodConfig: { name: [] },
    pickInformation: { [KIND_KEY]: pickKindOf(methodName), [STREAM_KEY]: STREAM_METHODS.has(methodName) ? '1' : '' },
    status: Status.OK,
    dynamicFilterFactories: [],
  }),
  unref: () => {},
};

class CommitLogResolver implements experimental.Resolver {
  private readonly seeds: readonly string[];
  private known: string[] = [];
  private readonly creds: ChannelCredentials;
  private readonly clientOptions: ChannelOptions;
  private timer: NodeJS.Timeout | undefined;
  private inFlight = false;
  private destroyed = false;
  private readonly clients = new Map<string, LogClient>();

  constructor(
    target: experimental.GrpcUri,
    private readonly listener: experimental.ResolverListener,
    options: ChannelOptions,
  ) {
    this.seeds = seedsOf(target.path);
    // The resolver's own GetServers channels verify the same server name as the parent channel.
    const override = options['grpc.ssl_target_name_override'] as string | undefined;
    this.clientOptions = override
      ? { 'grpc.ssl_target_name_override': override, 'grpc.default_authority': override }
      : {};
    const creds = (options as Record<string, unknown>)[RESOLVER_CREDENTIALS_OPTION];
    if (creds === undefined)
      throw new Error(
        `the commitlog resolver needs ChannelCredentials in the channel option ${RESOLVER_CREDENTIALS_OPTION}`,
      );
    this.creds = creds as ChannelCredentials;
    const refresh = Number((options as Record<string, unknown>)[RESOLVER_REFRESH_OPTION] ?? 5000);
    this.timer = setInterval(() => this.updateResolution(), refresh);
    this.timer.unref();
  }

  private client(addr: string): LogClient {
    let c = this.clients.get(addr);
    if (c === undefined) {
      c = new LogClient(addr, this.creds, this.clientOptions);
      this.clients.set(addr, c);
    }
    return c;
  }

  updateResolution(): void {
    if (this.inFlight || this.destroyed) return;
    this.inFlight = true;
    void this.resolve().finally(() => (this.inFlight = false));
  }

  private async resolve(): Promise<void> {
    const resolved = await resolveServers(
      [...this.seeds, ...this.known],
      (addr) =>
        new Promise<GetServersResponse>((ok, fail) =>
          this.client(addr).getServers(
            {},
            new Metadata(),
            { deadline: Date.now() + 3000 },
            (e: ServiceError | null, r: GetServersResponse) => (e ? fail(e) : ok(r)),
          ),
        ),
      // A server without a valid address (none yet, or garbage) cannot be dialled.
      (s) => isHostPort(s.rpcAddr),
    );
    if (this.destroyed) return;
    if (resolved.ok) {
      const servers = resolved.servers;
      this.known = servers.map((s) => s.rpcAddr);
      const leader = servers.find((s) => s.isLeader)?.rpcAddr ?? '';
      const endpoints = servers.map((s) => ({ addresses: [hostPort(s.rpcAddr)] }));
      this.listener(
        experimental.statusOrFromValue(endpoints),
        { [experimental.CHANNEL_ARGS_CONFIG_SELECTOR_KEY]: configSelector, [LEADER_ATTRIBUTE]: leader },
        experimental.statusOrFromValue({ loadBalancingConfig: [{ [LB_POLICY_NAME]: {} }], methodConfig: [] }),
        `GetServers via ${resolved.via}: leader ${leader || 'unknown'}`,
      );
      return;
    }
    const lastErr = resolved.lastError as ServiceError | undefined;
    if (!this.destroyed) {
      this.listener(
        experimental.statusOrFromError({
          code: Status.UNAVAILABLE,
          details: `GetServers failed on every known server: ${lastErr?.details ?? 'no servers'}`,
          metadata: new Metadata(),
        }),
        {},
        null,
        'resolution failed',
      );
    }
  }

  destroy(): void {
    this.destroyed = true;
    if (this.timer) clearInterval(this.timer);
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }

  /** The first seed: the name TLS verifies unless `grpc.ssl_target_name_override` says otherwise. */
  static getDefaultAuthority(target: experimental.GrpcUri): string {
    return seedsOf(target.path)[0] ?? '';
  }
}

class LeaderLbConfig implements experimental.TypedLoadBalancingConfig {
  getLoadBalancerName(): string {
    return LB_POLICY_NAME;
  }
  toJsonObject(): object {
    return { [LB_POLICY_NAME]: {} };
  }
  static createFromJson(): LeaderLbConfig {
    return new LeaderLbConfig();
  }
}

interface Child {
  readonly addr: string;
  readonly lb: experimental.LeafLoadBalancer;
}

class CommitLogLoadBalancer implements experimental.LoadBalancer {
  private children = new Map<string, Child>();
  private leader = '';
  private next = 0;
  /** Created by the first address list, which carries the channel options (TTL, clock). */
  private suspects: ChildSuspects | undefined;

  constructor(private readonly helper: experimental.ChannelControlHelper) {}

  updateAddressList(
    endpoints: experimental.StatusOr<experimental.Endpoint[]>,
    _cfg: experimental.TypedLoadBalancingConfig,
    options: ChannelOptions,
    note: string,
  ): boolean {
    if (!endpoints.ok) {
      if (this.children.size === 0)
        this.helper.updateState(
          ConnectivityState.TRANSIENT_FAILURE,
          new experimental.UnavailablePicker(endpoints.error),
          endpoints.error.details,
        );
      return true;
    }
    const opts = options as Record<string, unknown>;
    const suspects = (this.suspects ??= new ChildSuspects({
      ttlMs: Number(opts[SUSPECT_TTL_OPTION] ?? DEFAULT_SUSPECT_TTL_MS),
      now: typeof opts[CLOCK_OPTION] === 'function' ? (opts[CLOCK_OPTION] as () => number) : Date.now,
    }));
    const leader = String(opts[LEADER_ATTRIBUTE] ?? '');
    if (this.leader !== '' && leader !== this.leader) suspects.leaderChanged(this.leader);
    this.leader = leader;
    const wanted = new Map(
      endpoints.value.map((e) => [
        experimental.subchannelAddressToString(e.addresses[0] as experimental.SubchannelAddress),
        e,
      ]),
    );
    suspects.retain(new Set(wanted.keys()));
    for (const [addr, c] of this.children) {
      if (!wanted.has(addr)) {
        c.lb.destroy();
        this.children.delete(addr);
      }
    }
    for (const [addr, e] of wanted) {
      if (this.children.has(addr)) continue;
      const helper = experimental.createChildChannelControlHelper(this.helper, { updateState: () => this.publish() });
      const lb = new experimental.LeafLoadBalancer(e, helper, options, note);
      this.children.set(addr, { addr, lb });
      lb.startConnecting();
    }
    this.publish();
    return true;
  }

  /** Recomputes the aggregate state and installs a new picker. */
  private publish(): void {
    const states = [...this.children.values()].map((c) => c.lb.getConnectivityState());
    const state = states.includes(ConnectivityState.READY)
      ? ConnectivityState.READY
      : states.includes(ConnectivityState.CONNECTING) || states.includes(ConnectivityState.IDLE)
        ? ConnectivityState.CONNECTING
        : ConnectivityState.TRANSIENT_FAILURE;
    if (states.includes(ConnectivityState.TRANSIENT_FAILURE)) this.helper.requestReresolution();
    const children = [...this.children.values()];
    const leaderOnly: RouteView<Child> = {
      isLeader: (c) => c.addr === this.leader,
      readable: (c) => c.lb.getConnectivityState() === ConnectivityState.READY,
    };
    const view: RouteView<Child> = {
      ...leaderOnly,
      suspect: (c) =>
        c.lb.getConnectivityState() === ConnectivityState.TRANSIENT_FAILURE || this.suspects?.has(c.addr) === true,
    };
    const connecting = (c: Child): boolean =>
      [ConnectivityState.CONNECTING, ConnectivityState.IDLE].includes(c.lb.getConnectivityState());
    const picker: experimental.Picker = {
      pick: (args) => {
        const label = args.extraPickInfo[KIND_KEY];
        const streaming = args.extraPickInfo[STREAM_KEY] === '1';
        const kind = label === 'write' || label === 'leader' ? CallKind.write : CallKind.read;
        const routed = route(kind, children, label === 'leader' ? leaderOnly : view, this.next);
        if (routed.ok) this.next = routed.next;
        const child = routed.ok ? routed.server : undefined;
        // The pick's subchannel failed (it cannot carry the call at all) while another server
        // is still connecting: wait for it (publish() runs again on every child's state
        // change). A child suspect only because a call timed out there is READY and may
        // answer: it is used at once, as a preference must (a connection attempt to a
        // partitioned server can take its whole connect timeout).
        const better =
          child !== undefined &&
          label !== 'leader' &&
          child.lb.getConnectivityState() === ConnectivityState.TRANSIENT_FAILURE &&
          children.some((c) => c !== child && connecting(c));
        if (child === undefined || better) {
          this.helper.requestReresolution();
          for (const c of children) if (c.lb.getConnectivityState() === ConnectivityState.IDLE) c.lb.exitIdle();
          return {
            pickResultType: experimental.PickResultType.QUEUE,
            subchannel: null,
            status: null,
            onCallStarted: null,
            onCallEnded: null,
          };
        }
        const r = child.lb.getPicker().pick(args);
        if (r.pickResultType !== experimental.PickResultType.COMPLETE) return r;
        const inner = r.onCallEnded;
        return {
          ...r,
          onCallEnded: (code, details, md) => {
            inner?.(code, details, md);
            // No answer from this child (paused, partitioned, gone): the next calls prefer
            // the others. Not the leader any more, or no answer: learn the new topology.
            const suspected = this.suspects?.record(child.addr, callVerdict(code, details, md, streaming)) === true;
            if (suspected || code === Status.UNAVAILABLE) this.helper.requestReresolution();
          },
        };
      },
    };
    this.helper.updateState(state, picker, null);
  }

  exitIdle(): void {
    for (const c of this.children.values()) c.lb.exitIdle();
  }
  resetBackoff(): void {}
  destroy(): void {
    for (const c of this.children.values()) c.lb.destroy();
    this.children.clear();
  }
  getTypeName(): string {
    return LB_POLICY_NAME;
  }
}

let registered = false;

/** Registers the `commitlog` resolver scheme and the `commitlog_leader` policy (idempotent). */
export function registerCommitLogLoadBalancing(): void {
  if (registered) return;
  registered = true;
  experimental.registerResolver('commitlog', CommitLogResolver);
  experimental.registerLoadBalancerType(LB_POLICY_NAME, CommitLogLoadBalancer, LeaderLbConfig);
}

/** Options of {@link loadBalancedChannel} and {@link loadBalancedLogClient}. */
export interface LoadBalancedChannelOptions {
  /** Re-resolve at least this often (ms; default 5000): {@link RESOLVER_REFRESH_OPTION}. */
  readonly refreshMs?: number;
  /** How long a child that did not answer stays suspect (ms): {@link SUSPECT_TTL_OPTION}. */
  readonly suspectTtlMs?: number;
  /** The clock of the suspicion expiry (default `Date.now`): {@link CLOCK_OPTION}. */
  readonly now?: () => number;
  /** More channel options (TLS name override, interceptors, …). */
  readonly channelOptions?: ChannelOptions;
}

/**
 * A generated LogClient on one load-balanced channel to `commitlog:///host:port`: Produce
 * and ProduceStream go to the leader, Consume/ConsumeStream/GetServers to the followers.
 */
export function loadBalancedLogClient(
  target: string,
  credentials: ChannelCredentials,
  o: LoadBalancedChannelOptions = {},
): LogClient {
  const lb = loadBalancedChannel(target, credentials, o);
  return new LogClient(lb.target, credentials, lb.options);
}

/**
 * The target and channel options of a load-balanced channel to `commitlog:///host:port,…`
 * (a bare `host:port,…` is taken as the seed list), for any generated client: LogClient, or
 * AdminClient, whose membership calls and TransferLeadership then reach the leader.
 */
export function loadBalancedChannel(
  target: string,
  credentials: ChannelCredentials,
  o: LoadBalancedChannelOptions = {},
): { target: string; options: ChannelOptions } {
  registerCommitLogLoadBalancing();
  return {
    target: target.startsWith('commitlog:') ? target : `commitlog:///${target}`,
    options: {
      ...o.channelOptions,
      [RESOLVER_CREDENTIALS_OPTION]: credentials,
      [RESOLVER_REFRESH_OPTION]: o.refreshMs ?? 5000,
      ...(o.suspectTtlMs !== undefined && { [SUSPECT_TTL_OPTION]: o.suspectTtlMs }),
      ...(o.now !== undefined && { [CLOCK_OPTION]: o.now }),
    },
  };
}
