/**
 * The smallest etcd v3 client the bench needs: `etcdserverpb.KV/Put` over grpc-js, with the
 * PutRequest encoded by hand with @bufbuild/protobuf's wire writer instead of generated code
 * (the repo generates only its own protos, and one message of two fields does not justify
 * vendoring etcd's). From etcd's api/etcdserverpb/rpc.proto:
 *
 *     message PutRequest { bytes key = 1; bytes value = 2; int64 lease = 3; bool prev_kv = 4; ... }
 *
 * Only key and value are sent (defaults for the rest, as `etcdctl put` does). The response
 * (a header with the revision) is not decoded: the bench only needs success or the status.
 */
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { type ChannelCredentials, type ChannelOptions, type Client, makeGenericClientConstructor } from '@grpc/grpc-js';

/** A put: key and value bytes. */
export interface EtcdPut {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
}

/** Wire encoding of a PutRequest with fields 1 (key) and 2 (value). */
export function encodePutRequest(p: EtcdPut): Buffer {
  return Buffer.from(
    new BinaryWriter()
      .uint32((1 << 3) | 2)
      .bytes(p.key)
      .uint32((2 << 3) | 2)
      .bytes(p.value)
      .finish(),
  );
}

const KvService = {
  put: {
    path: '/etcdserverpb.KV/Put',
    requestStream: false,
    responseStream: false,
    requestSerialize: encodePutRequest,
    requestDeserialize: (b: Buffer): Buffer => b,
    responseSerialize: (b: Buffer): Buffer => b,
    responseDeserialize: (b: Buffer): Buffer => b,
  },
} as const;

/** A KV client with one method. */
export interface EtcdKvClient extends Client {
  put(req: EtcdPut, cb: (err: Error | null, res?: Buffer) => void): void;
}

const Ctor = makeGenericClientConstructor(KvService, 'KV');

/** A client of one etcd member at `address` ("host:port"). */
export function etcdKvClient(address: string, creds: ChannelCredentials, options: ChannelOptions): EtcdKvClient {
  return new Ctor(address, creds, options) as unknown as EtcdKvClient;
}
