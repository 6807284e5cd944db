/**
 * grpc.health.v1.Health (Check and Watch), per the gRPC health-checking spec: "" is the
 * whole server; each service is registered by its full name. Unknown service → Check
 * answers NOT_FOUND, Watch sends SERVICE_UNKNOWN and keeps watching.
 */
import { EventEmitter } from 'node:events';
import { status as Status, type ServerWritableStream, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import {
  HealthCheckResponse_ServingStatus as Serving,
  type HealthCheckRequest,
  type HealthCheckResponse,
  type HealthServer,
} from '../gen/grpc/health/v1/health.js';

/** Serving status values (re-exported from the generated enum). */
export { Serving as ServingStatus };

/** The health state of the server's services. */
export class HealthState {
  private readonly statuses = new Map<string, Serving>();
  private readonly events = new EventEmitter();
  private readonly watches = new Set<ServerWritableStream<HealthCheckRequest, HealthCheckResponse>>();

  constructor(services: readonly string[]) {
    this.events.setMaxListeners(0);
    for (const s of ['', ...services]) this.statuses.set(s, Serving.NOT_SERVING);
  }

  /** Sets every registered service (and "") to `status`. */
  setAll(status: Serving): void {
    for (const s of this.statuses.keys()) this.set(s, status);
  }

  /** Sets one service's status and tells its watchers. */
  set(service: string, status: Serving): void {
    if (this.statuses.get(service) === status) return;
    this.statuses.set(service, status);
    this.events.emit('change', service, status);
  }

  /** The status of `service`, or undefined if unknown. */
  get(service: string): Serving | undefined {
    return this.statuses.get(service);
  }

  /** Calls `fn` on every change; returns the unsubscribe function. */
  onChange(fn: (service: string, status: Serving) => void): () => void {
    this.events.on('change', fn);
    return () => this.events.off('change', fn);
  }

  /** Ends every Watch call (after its last status was sent): the server is stopping. */
  endWatches(): void {
    for (const call of this.watches) call.end();
    this.watches.clear();
  }

  /** Builds the Health service implementation over this state. */
  service(): HealthServer {
    return {
      check: (
        call: ServerUnaryCall<HealthCheckRequest, HealthCheckResponse>,
        cb: sendUnaryData<HealthCheckResponse>,
      ) => {
        const s = this.get(call.request.service);
        if (s === undefined) cb({ code: Status.NOT_FOUND, details: `unknown service ${call.request.service}` });
        else cb(null, { status: s });
      },
      watch: (call: ServerWritableStream<HealthCheckRequest, HealthCheckResponse>) => {
        const service = call.request.service;
        let last: Serving | undefined;
        const send = (s: Serving | undefined): void => {
          const status = s ?? Serving.SERVICE_UNKNOWN;
          if (status === last) return;
          last = status;
          call.write({ status });
        };
        send(this.get(service));
        const off = this.onChange((svc, s) => {
          if (svc === service) send(s);
        });
        this.watches.add(call);
        const done = (): void => {
          off();
          this.watches.delete(call);
        };
        call.on('cancelled', done);
        call.on('close', done);
      },
    };
  }
}
