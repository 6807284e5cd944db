/**
 * The TypeScript client of a commitlog cluster: {@link CommitLogClient} with client-side
 * routing (Produce → leader, Consume → followers) and the pure {@link Picker}.
 */
export { CommitLogClient, ClusterUnavailableError, COMMITLOG_SCHEME, leaderAddrOf, parseTarget, type CommitLogClientOptions, type ConsumedRecord } from './client.js';
export { CallKind, Picker, type ClusterServer, type Pick } from './picker.js';
