/**
 * The simulated state machine: a commit log with dense user offsets. Only `data` entries
 * and the `pdata` entries of idempotent producers that the producer table does not find
 * duplicates (the shell's own pure table, shell/producer-table.ts) become records; record k
 * (offset k) is the k-th of them. Snapshots carry the whole record list and the table, as
 * the real node's snapshot carries the log and the producer state.
 */
import { RaftInvariantError } from '../core/errors.js';
import { logIndex, type Entry, type LogIndex } from '../core/types.js';
import { decodePdata } from '../shell/pdata.js';
import { ProducerTable } from '../shell/producer-table.js';

/** One record as a user sees it, plus the Raft index it came from (for invariant checks). */
export interface SimRecord {
  readonly offset: number;
  readonly index: LogIndex;
  readonly value: string;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A node's applied commit log. */
export class CommitLogStateMachine {
  readonly records: SimRecord[] = [];
  applied: LogIndex = logIndex(0);
  /** Idempotent producers' deduplication table (replicated state, decided at apply). */
  producers = new ProducerTable();
  /** pdata entries applied that appended nothing (duplicates or out of sequence). */
  duplicatesHidden = 0;

  /** Applies committed entries in order; returns the records they created. */
  apply(entries: readonly Entry[]): SimRecord[] {
    const added: SimRecord[] = [];
    for (const e of entries) {
      if (e.index !== this.applied + 1) {
        throw new RaftInvariantError('entries applied out of order', { expected: this.applied + 1, got: e.index });
      }
      this.applied = e.index;
      let data = e.data;
      if (e.type === 'pdata') {
        const p = decodePdata(e.data);
        if (this.producers.apply(p.producer, p.seq, e.index, this.records.length).kind !== 'append') {
          this.duplicatesHidden++;
          continue;
        }
        data = p.value;
      } else if (e.type !== 'data') continue;
      const rec = { offset: this.records.length, index: e.index, value: dec.decode(data) };
      this.records.push(rec);
      added.push(rec);
    }
    return added;
  }

  /** Serializes the state for a snapshot at `applied`. */
  snapshot(): Uint8Array {
    // The table only when there is one, so runs without producers keep their snapshot bytes (golden scenarios).
    const producers = this.producers.size > 0 ? { producers: this.producers.toJSON() } : {};
    return enc.encode(JSON.stringify({ applied: this.applied, records: this.records, ...producers }));
  }

  /** Rebuilds a state machine from snapshot data (empty data = empty machine). */
  static restore(data: Uint8Array): CommitLogStateMachine {
    const sm = new CommitLogStateMachine();
    if (data.byteLength === 0) return sm;
    const parsed = JSON.parse(dec.decode(data)) as { applied: number; records: SimRecord[]; producers?: unknown };
    sm.applied = logIndex(parsed.applied);
    if (parsed.producers !== undefined) sm.producers = ProducerTable.fromJSON(parsed.producers);
    for (const r of parsed.records) sm.records.push(r);
    return sm;
  }
}
