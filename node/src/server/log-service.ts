/**
 * The log.v1.Log service: Produce, Consume, GetServers, and the two streams
 * (streams.ts). Authentication and authorization happen before a handler runs (the
 * interceptor); handlers validate input and map failures through errors.ts.
 */
import type { sendUnaryData, ServerUnaryCall } from '@grpc/grpc-js';
import type {
  ConsumeRequest,
  ConsumeResponse,
  GetServersRequest,
  GetServersResponse,
  LogServer,
  ProduceRequest,
  ProduceResponse,
} from '../gen/v1/log.js';
import type { LogBackend, ProduceOptions, ProducerRef } from './backend.js';
import { producerOf, toPb, valueOf } from './records.js';
import type { ServerConfig } from './config.js';
import { toStatus } from './errors.js';
import { produceStream } from './produce-stream.js';
import { consumeStream, type StreamRegistry } from './streams.js';

/** The call's deadline for the backend (grpc-js reports none as Infinity). */
function deadlineOf(call: ServerUnaryCall<unknown, unknown>): ProduceOptions {
  const d = call.getDeadline();
  const ms = d instanceof Date ? d.getTime() : d;
  return Number.isFinite(ms) ? { deadline: ms } : {};
}

/** Builds the Log service implementation. */
export function logService(backend: LogBackend, config: ServerConfig, streams: StreamRegistry): LogServer {
  return {
    produce(call: ServerUnaryCall<ProduceRequest, ProduceResponse>, cb: sendUnaryData<ProduceResponse>) {
      const value = valueOf(call.request, backend.maxRecordBytes);
      const producer = producerOf(call.request);
      const bad = value instanceof Error ? value : producer instanceof Error ? producer : undefined;
      if (bad !== undefined) {
        cb(toStatus(bad));
        return;
      }
      const opts = deadlineOf(call);
      backend.produce(value as Uint8Array, producer as ProducerRef | undefined, opts).then(
        (offset) => cb(null, { offset }),
        (err: unknown) => cb(toStatus(err)),
      );
    },
    consume(call: ServerUnaryCall<ConsumeRequest, ConsumeResponse>, cb: sendUnaryData<ConsumeResponse>) {
      backend.read(call.request.offset).then(
        (r) => cb(null, { record: toPb(r) }),
        (err: unknown) => cb(toStatus(err)),
      );
    },
    getServers(_call: ServerUnaryCall<GetServersRequest, GetServersResponse>, cb: sendUnaryData<GetServersResponse>) {
      cb(null, {
        servers: backend.servers().map((s) => ({
          id: s.id,
          rpcAddr: s.rpcAddr,
          isLeader: s.isLeader,
          externalRpcAddr: s.externalRpcAddr ?? '',
          isVoter: s.isVoter,
        })),
      });
    },
    consumeStream: (call) => void consumeStream(call, backend, config, streams),
    produceStream: (call) => produceStream(call, backend, config, streams),
  };
}
