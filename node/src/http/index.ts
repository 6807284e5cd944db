/**
 * The node's JSON-over-HTTPS API (`curl`-able, the book's first chapter) with the gRPC
 * API's security: TLS with client certificates, the Casbin ACL, the one error table.
 */
export * from './api-server.js';
export * from './codec.js';
export * from './config.js';
export * from './status.js';
export type { BodyStats } from './body.js';
export type { TailStats } from './tail.js';
