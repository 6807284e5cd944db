/**
 * Forwards Produce from a follower to the leader over gRPC, authenticated with this node's
 * peer certificate. The leader's ACL sees the node's certificate CN as the subject, so the
 * policy must allow that CN to produce (npm start and the operator issue node certificates
 * with CN "commitlog-node" and grant it produce/consume/admin). The follower has already
 * authorized the original client with the same policy before forwarding.
 *
 * One channel per leader address, reused; channels of former leaders are closed.
 */
import { Metadata, status as Status, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import { LogClient, type ProduceResponse } from '../gen/v1/log.js';

/** The forwarding hop's deadline: bounded so a dead leader cannot hold a produce forever. */
const FORWARD_TIMEOUT_MS = 10_000;

/** Sends Produce to the current leader. */
export class LeaderForwarder {
  private client: { addr: string; c: LogClient } | undefined;

  constructor(private readonly credentials: ChannelCredentials) {}

  /**
   * Produces `value` at the leader at `addr`; resolves with its offset.
   * @throws the leader's gRPC error (ServiceError) as is.
   */
  produce(addr: string, value: Uint8Array): Promise<number> {
    const c = this.clientFor(addr);
    const md = new Metadata();
    return new Promise((resolve, reject) => {
      c.produce({ record: { value: Buffer.from(value), offset: 0, term: 0, type: 0 } }, md, { deadline: Date.now() + FORWARD_TIMEOUT_MS }, (err: ServiceError | null, res: ProduceResponse) => {
        if (err) reject(err);
        else resolve(res.offset);
      });
    });
  }

  private clientFor(addr: string): LogClient {
    if (this.client?.addr === addr) return this.client.c;
    this.client?.c.close();
    const c = new LogClient(addr, this.credentials, { 'grpc.max_receive_message_length': 16 * 1024 * 1024, 'grpc.max_send_message_length': 128 * 1024 * 1024 });
    this.client = { addr, c };
    return c;
  }

  /** Closes the channel. */
  close(): void {
    this.client?.c.close();
    this.client = undefined;
  }
}

/** One line describing a failed forward ("UNAVAILABLE: ..."), for the error sent back to the client. */
export function describeForwardError(err: unknown): string {
  const e = err as Partial<ServiceError>;
  if (typeof e.code === 'number') return `${(Status as unknown as Record<number, string>)[e.code] ?? e.code}: ${e.details ?? ''}`;
  return (err as Error).message;
}
