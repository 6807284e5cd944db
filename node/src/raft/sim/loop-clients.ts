/**
 * Clients of the production-loop simulator (raft-node-sim.ts): each one at a time produces
 * a value through {@link RaftNode.propose} at the node it believes leads, or reads an offset
 * at a random node after a {@link RaftNode.readIndex} barrier, and records the operation in a
 * history for the linearizability checker (lincheck/history.ts). Times are logical event
 * numbers (calls and returns as they happen).
 *
 * What a failure means is RaftNode's contract, and the checker holds it to it: a refusal
 * before the core took the proposal (not the leader, rejected) and a proposal replaced by
 * another term's entry (`ProposalDroppedError.lost`) are definite — the operation had no
 * effect and leaves the history; any other failure (timeout, node stopped, the power cut) is
 * indeterminate: it may take effect at any point after its call. A definite failure that did
 * take effect shows as a value in the log no operation produced, and the check fails.
 */
import type { Operation, OpInput, OpOutput } from '../lincheck/history.js';
import { ProposalDroppedError, ProposalRejectedError, RaftNotLeaderError } from '../shell/errors.js';
import type { RaftNode } from '../shell/raft-node.js';
import type { Rand } from './virtual-net.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

/** The value at data offset `offset` that `node` may serve (applied), or null past its applied end. */
export function readAt(node: RaftNode, offset: number): string | null {
  if (offset >= node.committedDataEnd) return null;
  const log = node.storage.log;
  return dec.decode(log.read(log.toLogOffset(offset)).value);
}

/** True when the failure of a proposal proves it had no effect. */
function definitelyFailed(e: unknown): boolean {
  return (
    e instanceof RaftNotLeaderError ||
    e instanceof ProposalRejectedError ||
    (e instanceof ProposalDroppedError && e.lost)
  );
}

/** The clients and their history; see the module comment. */
export class LoopClients {
  readonly history: Operation[] = [];
  /** Per client: what it waits for (null: idle). */
  private readonly busy: (string | null)[];
  private clock = 0;
  private nextValue = 0;
  /** Operations that finished (acknowledged, read, or failed either way). */
  settled = 0;
  /** Highest data offset any produce was told (reads aim around it). */
  private maxOffset = -1;

  /**
   * @param rand the simulator's stream (drawn only synchronously, in step order: deterministic)
   * @param onAck sees every acknowledged produce (the simulator's acknowledged-record checks)
   */
  constructor(
    private readonly rand: Rand,
    private readonly prefix: string,
    count: number,
    private readonly opRate: number,
    private readonly onAck: (value: string, o: { index: number; term: number; dataOffset: number }) => void,
  ) {
    this.busy = Array.from({ length: count }, () => null);
  }

  /** True while some client waits for an answer. */
  get waiting(): boolean {
    return this.busy.some((b) => b !== null);
  }

  /** What the clients that wait for an answer wait for (failure reports). */
  get outstanding(): string[] {
    return this.busy.flatMap((b, client) => (b === null ? [] : [`c${client} ${b}`]));
  }

  /** Each idle client starts an operation with probability `opRate`, against the running `nodes`. */
  step(nodes: readonly RaftNode[]): void {
    if (nodes.length === 0) return;
    this.busy.forEach((b, client) => {
      if (b !== null || this.rand.nextFloat() >= this.opRate) return;
      if (this.rand.nextFloat() < 0.6) this.produce(client, nodes);
      else this.read(client, nodes);
    });
  }

  private produce(client: number, nodes: readonly RaftNode[]): void {
    const node = nodes.find((n) => n.isLeader) ?? nodes[this.rand.nextInt(nodes.length)];
    if (node === undefined) return;
    const value = `${this.prefix}-${this.nextValue++}`;
    const input: OpInput = { kind: 'produce', value };
    const call = this.clock++;
    this.busy[client] = `produce(${value}) at ${node.id} since event ${call}`;
    node.propose(enc.encode(value)).then(
      (o) => {
        this.maxOffset = Math.max(this.maxOffset, o.dataOffset);
        this.onAck(value, o);
        this.end(client, input, call, { kind: 'produce', offset: o.dataOffset });
      },
      (e: unknown) => this.end(client, input, call, definitelyFailed(e) ? 'none' : null),
    );
  }

  private read(client: number, nodes: readonly RaftNode[]): void {
    const node = nodes[this.rand.nextInt(nodes.length)];
    if (node === undefined) return;
    const offset = Math.max(0, this.maxOffset - 2 + this.rand.nextInt(5));
    const input: OpInput = { kind: 'read', offset };
    const call = this.clock++;
    this.busy[client] = `read(${offset}) at ${node.id} since event ${call}`;
    node.readIndex().then(
      () => {
        let value: string | null;
        try {
          value = readAt(node, offset);
        } catch {
          // The node died between its barrier and the read (a power cut): nothing was read.
          return this.end(client, input, call, 'none');
        }
        this.end(client, input, call, { kind: 'read', value });
      },
      // A read that failed changed nothing: it leaves the history.
      () => this.end(client, input, call, 'none'),
    );
  }

  /** Records the operation (`none`: it certainly had no effect, so it is left out). */
  private end(client: number, input: OpInput, call: number, output: OpOutput | 'none'): void {
    this.busy[client] = null;
    this.settled++;
    const ret = this.clock++;
    if (output === 'none') return;
    this.history.push({ client, input, call, ret: output === null ? Infinity : ret, output });
  }

  /** The history to check: indeterminate produces whose value never reached the log are dropped (they had no effect). */
  checkedHistory(inLog: ReadonlySet<string>): Operation[] {
    return this.history.filter((op) => op.output !== null || op.input.kind !== 'produce' || inLog.has(op.input.value));
  }
}
