/**
 * Simulated clients of the commit log. Each runs one operation at a time — produce to
 * the node it believes leads, or read an offset at a random node — and records a history
 * for the linearizability checker. Produces acknowledged to a client are handed to the
 * invariant checker ("an acknowledged record is never lost").
 *
 * Each client keeps its own view of the leader and re-resolves it as the real client
 * library does (node/src/client/client.ts): it asks a random running node whom it follows
 * (GetServers) every `refresh` time units, after a produce ended without an answer, and
 * takes the hint of a not-leader refusal. So while a deposed leader still believes it leads,
 * clients move to the new leader and get writes acknowledged there, and reads that land on
 * the deposed leader are checked against them.
 *
 * With `retries` each client is a producer that retries an indeterminate produce (timed out,
 * its node down, or lost to a leader change) until it is acknowledged or the run ends, as
 * the client library does: `'idempotent'` sends `pdata` entries with the client's producer id
 * and a sequence per produce (the state machine deduplicates), `'plain'` resends plain data
 * (at-least-once: the control that shows duplicates happen without producer ids).
 *
 * Two deliberately broken variants the checker must catch:
 * - `staleReads`: reads are served from the chosen node's local state without ReadIndex;
 * - `earlyAcks`: the leader acknowledges a produce once the record is in its own durable
 *   log, before it is committed, with the offset it expects the record to get.
 */
import { logIndex, type Entry, type LogIndex, type NodeId, type ReadState, type Term } from '../core/types.js';
import type { Operation, OpInput, OpOutput } from '../lincheck/history.js';
import type { SimCluster } from './cluster.js';
import type { SimMember as SimNode } from './sim-member.js';
import { encodePdata } from '../shell/pdata.js';
import type { SimRecord } from './state-machine.js';

type Pending =
  | {
      kind: 'produce';
      node: NodeId;
      index: LogIndex;
      term: Term;
      value: string;
      call: number;
      deadline: number;
      /** The idempotent producer's sequence of this produce (retries: the same on every attempt). */
      seq?: number;
    }
  | {
      kind: 'read';
      node: NodeId;
      ctx: string;
      offset: number;
      call: number;
      deadline: number;
      readIndex: LogIndex | null;
    };

const enc = new TextEncoder();

/** Client k's producer id (16 bytes). */
function producerId(client: number): Uint8Array {
  const b = new Uint8Array(16);
  b[15] = client + 1;
  return b;
}

/** A fixed set of clients driving a cluster and recording what they saw. */
export class SimClients {
  readonly history: Operation[] = [];
  private readonly pending = new Map<number, Pending>();
  /** Each client's view of the leader, and when it last resolved it. */
  private readonly leaderHint: (NodeId | null)[] = [];
  private readonly resolvedAt: number[] = [];
  private seq = 0;
  private nextSeq = 0;
  private nextValue = 0;
  private maxOffsetSeen = -1;
  /** Logical event counter: call and return times are strictly ordered. */
  private clock = 0;

  constructor(
    private readonly c: SimCluster,
    private readonly count: number,
    private readonly opts: {
      readonly timeout: number;
      readonly staleReads: boolean;
      readonly earlyAcks: boolean;
      readonly opRate: number;
      readonly retries?: 'idempotent' | 'plain';
      /** Time units between a client's leader re-resolutions. */
      readonly refresh: number;
    },
  ) {
    c.observer = {
      applied: (n, recs, ents) => this.onApplied(n, recs, ents),
      readState: (n, rs) => this.onReadState(n, rs),
    };
  }

  /** Starts new operations and completes finished ones; call once per time unit. */
  step(): void {
    for (let client = 0; client < this.count; client++) {
      const p = this.pending.get(client);
      if (p !== undefined) this.progress(client, p);
      else if (this.c.rand() < this.opts.opRate) this.start(client);
    }
  }

  /**
   * The history to check, without the indeterminate produces that certainly had no effect:
   * `tookEffect(value)` is false for a record that is not in the healed cluster's log (whose
   * leader has then committed everything it holds, and no other entry can ever commit).
   * Such a produce may only be linearized as "did not happen" anyway; leaving it out spares
   * the checker the choice (an open operation is concurrent with everything after its call),
   * and a record that some node applied without it committing is then caught as a read of a
   * value nobody produced.
   */
  checkedHistory(tookEffect: (value: string) => boolean): Operation[] {
    return this.history.filter((op) => op.output !== null || op.input.kind !== 'produce' || tookEffect(op.input.value));
  }

  /** Ends every outstanding operation as indeterminate (end of run). */
  finish(): void {
    for (const [client, p] of this.pending) this.end(client, p, null);
  }

  /**
   * A client's attempt deadline and refresh interval: odd-numbered clients run with a quarter
   * of them (the real client's `writeAttemptMs` and `refreshMs` are options; a short one makes
   * a caller give up on a deposed leader and find the new one while the old still serves).
   */
  private patience(client: number, units: number): number {
    return client % 2 === 1 ? Math.ceil(units / 4) : units;
  }

  /** GetServers at a random running node: the leader as that node sees it. */
  private resolve(client: number, up: readonly SimNode[]): void {
    const asked = up[Math.floor(this.c.rand() * up.length)];
    this.leaderHint[client] = asked?.raw?.status().lead ?? null;
    this.resolvedAt[client] = this.c.now;
  }

  /** Proposes a produce at the node believed to lead; the pending attempt, or undefined when refused. */
  private propose(value: string, client: number, seq: number | undefined): Pending | undefined {
    const up = this.c.running();
    if (this.c.now - (this.resolvedAt[client] ?? -Infinity) >= this.patience(client, this.opts.refresh))
      this.resolve(client, up);
    const hint = this.leaderHint[client] ?? null;
    const hinted = hint === null ? undefined : this.c.nodes.get(hint);
    const node = hinted?.up === true && this.c.rand() < 0.9 ? hinted : up[Math.floor(this.c.rand() * up.length)];
    const data = enc.encode(value);
    const res =
      seq === undefined
        ? node?.raw?.propose(data)
        : node?.raw?.proposeEntries([{ type: 'pdata', data: encodePdata({ id: producerId(client), seq }, data) }]);
    if (node === undefined || res === undefined) return undefined;
    if (!res.ok) {
      if (res.reason === 'not-leader' || res.reason === 'transferring') this.leaderHint[client] = res.leaderHint;
      return undefined;
    }
    this.leaderHint[client] = node.id;
    return {
      kind: 'produce',
      node: node.id,
      index: res.index,
      term: res.term,
      value,
      call: -1,
      deadline: this.c.now + this.patience(client, this.opts.timeout),
      ...(seq !== undefined ? { seq } : {}),
    };
  }

  /** Retries an indeterminate produce with the same value (and sequence); false when it cannot now. */
  private retry(client: number, p: Pending): boolean {
    if (p.kind !== 'produce' || this.opts.retries === undefined) return false;
    const again = this.propose(p.value, client, p.seq);
    // Refused (no leader known yet): keep the operation open and try again on a later step.
    this.pending.set(client, again === undefined ? { ...p, deadline: -1 } : { ...again, call: p.call });
    return true;
  }

  private start(client: number): void {
    const up = this.c.running();
    if (up.length === 0) return;
    if (this.c.rand() < 0.5) {
      const value = `v${this.nextValue++}`;
      const seq = this.opts.retries === 'idempotent' ? this.nextSeq++ : undefined;
      const p = this.propose(value, client, seq);
      // Refused outright: no effect, nothing to record.
      if (p !== undefined) this.pending.set(client, { ...p, call: this.clock++ });
      return;
    }
    const node = up[Math.floor(this.c.rand() * up.length)] as SimNode;
    const offset = Math.max(0, this.maxOffsetSeen - Math.floor(this.c.rand() * 3) + 1);
    const ctx = `r${this.seq++}`;
    const call = this.clock++;
    if (this.opts.staleReads) {
      // BROKEN ON PURPOSE: answer from local state, no ReadIndex round.
      this.record(client, { kind: 'read', offset }, call, {
        kind: 'read',
        value: node.sm.records[offset]?.value ?? null,
      });
      return;
    }
    if (this.c.readIndex(node, ctx)?.ok !== true) return;
    this.pending.set(client, {
      kind: 'read',
      node: node.id,
      ctx,
      offset,
      call,
      deadline: this.c.now + this.opts.timeout,
      readIndex: null,
    });
  }

  private progress(client: number, p: Pending): void {
    const node = this.c.nodes.get(p.node);
    if (node?.up !== true || this.c.now > p.deadline) {
      if (!this.retry(client, p)) this.end(client, p, null);
      return;
    }
    if (
      p.kind === 'produce' &&
      this.opts.earlyAcks &&
      node.storage.term(p.index) === p.term &&
      p.index > node.sm.applied
    ) {
      // BROKEN ON PURPOSE: acknowledge before commit, predicting the dense offset.
      let offset = node.sm.records.length;
      if (p.index - 1 > node.sm.applied) {
        for (const e of node.storage.entries(logIndex(node.sm.applied + 1), p.index, Infinity))
          if (e.type === 'data') offset++;
      }
      this.maxOffsetSeen = Math.max(this.maxOffsetSeen, offset);
      this.end(client, p, { kind: 'produce', offset });
      return;
    }
    if (p.kind === 'read' && p.readIndex !== null && node.sm.applied >= p.readIndex) {
      this.end(client, p, { kind: 'read', value: node.sm.records[p.offset]?.value ?? null });
    }
  }

  private onApplied(n: SimNode, recs: readonly SimRecord[], ents: readonly Entry[]): void {
    for (const [client, p] of this.pending) {
      if (p.kind !== 'produce' || p.node !== n.id) continue;
      const e = ents.find((x) => x.index === p.index);
      if (e === undefined) continue;
      if (e.term !== p.term) {
        // Another entry was committed at our index: the proposal was lost (no effect).
        if (!this.retry(client, p)) this.pending.delete(client);
        continue;
      }
      if (p.seq !== undefined) {
        // Appended here or a duplicate of an earlier attempt: the table knows where it is.
        const o = n.sm.producers.lookup(Buffer.from(producerId(client)).toString('hex'), p.seq);
        if (o === undefined) continue;
        if (o.index === p.index)
          this.c.inv.acked.push({ index: p.index, term: p.term, offset: o.dataOffset, value: p.value });
        this.maxOffsetSeen = Math.max(this.maxOffsetSeen, o.dataOffset);
        this.end(client, p, { kind: 'produce', offset: o.dataOffset });
        continue;
      }
      const rec = recs.find((r) => r.index === p.index);
      if (rec === undefined) continue;
      this.c.inv.acked.push({ index: p.index, term: p.term, offset: rec.offset, value: p.value });
      this.maxOffsetSeen = Math.max(this.maxOffsetSeen, rec.offset);
      this.end(client, p, { kind: 'produce', offset: rec.offset });
    }
  }

  private onReadState(n: SimNode, rs: ReadState): void {
    for (const p of this.pending.values())
      if (p.kind === 'read' && p.node === n.id && p.ctx === rs.ctx) p.readIndex = rs.index;
  }

  private end(client: number, p: Pending, output: OpOutput): void {
    this.pending.delete(client);
    // No answer (timeout, node down): re-resolve the leader before the next produce.
    if (output === null && p.kind === 'produce') this.resolvedAt[client] = -Infinity;
    // An unanswered read had no effect and is simply left out; an unanswered produce is indeterminate.
    if (output === null && p.kind === 'read') return;
    const input: OpInput =
      p.kind === 'produce' ? { kind: 'produce', value: p.value } : { kind: 'read', offset: p.offset };
    this.record(client, input, p.call, output);
  }

  private record(client: number, input: OpInput, call: number, output: OpOutput): void {
    const ret = output === null ? Infinity : this.clock++;
    this.history.push({ client, input, call, ret, output });
  }
}
