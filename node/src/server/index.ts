/**
 * The node's gRPC server: log.v1.Log, log.v1.Admin and grpc.health.v1 over a
 * {@link LogBackend}, with TLS, mutual TLS, the ACL, request logs and metrics.
 */
export * from './admin.js';
export * from './backend.js';
export * from './commit-notifier.js';
export * from './config.js';
export * from './errors.js';
export * from './health-service.js';
export { ANONYMOUS, methodActions, subjectOf } from './interceptor.js';
export * from './local-backend.js';
export * from './memory-backend.js';
export * from './server.js';
export type { StreamStats } from './streams.js';
