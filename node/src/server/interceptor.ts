/**
 * The one server interceptor: authentication (client certificate CN), authorization
 * (ACL action per method), the per-request log line `{method, subject, code, ms}` and
 * the request metrics. Denials follow grpc-js's documented interceptor pattern: the call
 * is ended with a status from onReceiveMetadata and never reaches its handler.
 */
import {
  ServerInterceptingCall,
  status as Status,
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
} from '@grpc/grpc-js';
import { TLSSocket, type PeerCertificate } from 'node:tls';
import type { Action, Authorizer } from '../acl/authorizer.js';
import type { Logger, LogLevel } from '../observability/logger.js';
import type { NodeMetrics } from '../observability/metrics.js';
import {
  PermissionDeniedError,
  ServerError,
  ServerErrorCode,
  ShuttingDownError,
  statusName,
  toStatus,
} from './errors.js';

/** Subject used when the server does not verify client certificates (no client CA). */
export const ANONYMOUS = 'anonymous';

/** ACL action of each method path; methods not listed need no authentication (health). */
export const methodActions: Readonly<Record<string, Action>> = {
  '/log.v1.Log/Produce': 'produce',
  '/log.v1.Log/ProduceStream': 'produce',
  '/log.v1.Log/Consume': 'consume',
  '/log.v1.Log/ConsumeStream': 'consume',
  '/log.v1.Log/GetServers': 'consume',
  '/log.v1.Admin/GetStatus': 'admin',
  '/log.v1.Admin/ListMembers': 'admin',
  '/log.v1.Admin/AddLearner': 'admin',
  '/log.v1.Admin/PromoteMember': 'admin',
  '/log.v1.Admin/RemoveMember': 'admin',
  '/log.v1.Admin/TransferLeadership': 'admin',
  // Server reflection: whoever may read the log may read its schema (reflection.ts).
  '/grpc.reflection.v1.ServerReflection/ServerReflectionInfo': 'consume',
  '/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo': 'consume',
};

/** What the interceptor reads on every call (getters, so reloads take effect at once). */
export interface InterceptorDeps {
  /** True when client certificates are verified (a client CA is configured). */
  readonly mutual: boolean;
  readonly authorizer: () => Authorizer;
  /** True once the server is shutting down: new calls get UNAVAILABLE. */
  readonly closing: () => boolean;
  readonly logger: Logger;
  readonly requestLogLevel: LogLevel;
  readonly metrics: NodeMetrics | undefined;
}

function commonName(cert: PeerCertificate | undefined): string | undefined {
  const cn: unknown = cert?.subject?.CN;
  if (typeof cn === 'string') return cn;
  if (Array.isArray(cn) && typeof cn[0] === 'string') return cn[0];
  return undefined;
}

/** Subject (or the UNAUTHENTICATED error) of each HTTP/2 session, computed once per connection. */
const sessionSubjects = new WeakMap<object, string | ServerError>();

/**
 * The subject of a verified client certificate (its CN), or the UNAUTHENTICATED error for
 * none or one without a CN. Shared with the JSON API (node/src/http), so both say the same.
 */
export function authenticate(cert: PeerCertificate | undefined): string | ServerError {
  if (!cert)
    return new ServerError(
      ServerErrorCode.unauthenticated,
      "a valid client certificate signed by the server's client CA is required",
    );
  const cn = commonName(cert);
  if (!cn)
    return new ServerError(
      ServerErrorCode.unauthenticated,
      'the client certificate has no common name (CN) to authorize',
    );
  return cn;
}

/**
 * The HTTP/2 session of a call, when grpc-js exposes it (its base call keeps the stream in
 * `stream`). Used only to cache the subject per connection: parsing the peer certificate
 * on every call (what `getAuthContext()` does) cost ~8 % of the server's CPU on unary calls.
 */
function sessionOf(call: ServerInterceptingCallInterface): { socket?: unknown } | undefined {
  const session = (call as { stream?: { session?: { socket?: unknown } } }).stream?.session;
  return session && session.socket instanceof TLSSocket ? session : undefined;
}

/**
 * The caller's subject: the verified client certificate's CN under mutual TLS, else
 * {@link ANONYMOUS}. Throws UNAUTHENTICATED-coded errors for a missing, unverified or
 * CN-less certificate. A TLS connection's peer certificate cannot change, so the answer
 * is cached per connection.
 */
export function subjectOf(call: ServerInterceptingCallInterface, mutual: boolean): string {
  if (!mutual) return ANONYMOUS;
  const session = sessionOf(call);
  let subject = session ? sessionSubjects.get(session) : undefined;
  if (subject === undefined) {
    if (session) {
      // Same rule as grpc-js's getAuthContext(): a certificate counts only on an authorized socket.
      const socket = session.socket as TLSSocket;
      const cert = socket.authorized ? socket.getPeerCertificate() : undefined;
      subject = authenticate(cert && cert.raw ? cert : undefined);
      sessionSubjects.set(session, subject);
    } else {
      subject = authenticate(call.getAuthContext().sslPeerCertificate);
    }
  }
  if (subject instanceof ServerError) throw subject;
  return subject;
}

/** Builds the interceptor. */
export function createInterceptor(deps: InterceptorDeps): ServerInterceptor {
  const logEnabled = (): boolean =>
    deps.requestLogLevel !== 'silent' && deps.logger.isLevelEnabled(deps.requestLogLevel);
  return (method, call) => {
    const started = performance.now();
    const path = method.path;
    const action = methodActions[path];
    let subject = '';
    let finished = false;
    const finish = (code: number): void => {
      if (finished) return;
      finished = true;
      const ms = performance.now() - started;
      const name = statusName(code);
      deps.metrics?.observeCall(path, name, ms / 1000);
      if (logEnabled()) {
        const line = { method: path, subject, code: name, ms: Math.round(ms * 1000) / 1000 };
        deps.logger[deps.requestLogLevel as Exclude<LogLevel, 'silent'>](line, 'request');
      }
    };
    const ic: ServerInterceptingCall = new ServerInterceptingCall(call, {
      start(next) {
        next({
          onReceiveMetadata(metadata, mdNext) {
            try {
              if (deps.closing()) throw new ShuttingDownError();
              if (action !== undefined) {
                subject = subjectOf(call, deps.mutual);
                if (!deps.authorizer().authorize(subject, action)) throw new PermissionDeniedError(subject, action);
              }
            } catch (err) {
              const s = toStatus(err);
              ic.sendStatus({ code: s.code, details: s.details, metadata: s.metadata });
              return;
            }
            mdNext(metadata);
          },
          onCancel() {
            finish(Status.CANCELLED);
          },
        });
      },
      sendStatus(status, next) {
        finish(status.code ?? Status.UNKNOWN);
        next(status);
      },
    });
    return ic;
  };
}
