/**
 * Certificates and TLS credentials: ECDSA P-256 CA and leaf certificates
 * (@peculiar/x509), PEM files, reloading server credentials and client credentials.
 */
export * from './certs.js';
export * from './credentials.js';
export * from './file-watcher.js';
export * from './pem-files.js';
