/**
 * The TypeScript client of a commitlog cluster: {@link CommitLogClient} (routing Produce →
 * leader, Consume → followers, with retries across leader changes), the pure
 * {@link Picker}, and the grpc-js resolver + load-balancing policy for `commitlog:///`.
 */
export {
  CommitLogClient,
  ClusterUnavailableError,
  COMMITLOG_SCHEME,
  isRetryable,
  outcomeUnknown,
  leaderAddrOf,
  parseTarget,
  retryPolicy,
  silent,
  type CommitLogClientOptions,
  type ConsumedRecord,
} from './client.js';
export { recordsOf } from './consume-records.js';
export { CallKind, Picker, type ClusterServer, type Pick } from './picker.js';
export {
  loadBalancedChannel,
  loadBalancedLogClient,
  registerCommitLogLoadBalancing,
  seedsOf,
  LB_POLICY_NAME,
  CLOCK_OPTION,
  DEFAULT_SUSPECT_TTL_MS,
  RESOLVER_CREDENTIALS_OPTION,
  RESOLVER_REFRESH_OPTION,
  SUSPECT_TTL_OPTION,
  type LoadBalancedChannelOptions,
} from './grpc-lb.js';
