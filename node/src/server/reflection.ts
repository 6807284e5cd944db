/**
 * gRPC server reflection (grpc.reflection.v1 and v1alpha, through `@grpc/reflection`): lets
 * grpcurl, grpcui, evans and Postman list the services, describe them and encode requests
 * without any .proto file, and decode the google.rpc.ErrorInfo details of our errors.
 *
 * What it serves: every file of node/api and what it imports, with comments, as `npm run
 * gen` captured them from `buf build` (node/src/gen/descriptor-set.ts) — the same protos
 * the code is generated from, so the schema a tool sees cannot drift from the wire.
 *
 * Security: reflection runs on the API's own server, port and TLS, and the interceptor
 * authorizes its methods like Consume (ACL action `consume`, see interceptor.ts): a client
 * that may read the log may read its schema; `nobody` is refused. On by default; the
 * agent's `--disable-reflection` leaves it out.
 */
import { ReflectionService } from '@grpc/reflection';
import type { Server } from '@grpc/grpc-js';
import { fileDescriptorProtos } from '../gen/descriptor-set.js';

/** Adds the reflection service over the node's protos to `server`. */
export function addReflection(server: Pick<Server, 'addService'>): void {
  const files = fileDescriptorProtos.map((b64) => Buffer.from(b64, 'base64'));
  // @grpc/reflection reads only `fileDescriptorProtos` of each entry of a proto-loader
  // package definition; one entry holding every file is the whole schema.
  const pkg = { commitlog: { fileDescriptorProtos: files } } as unknown as ConstructorParameters<
    typeof ReflectionService
  >[0];
  new ReflectionService(pkg).addToServer(server);
}
