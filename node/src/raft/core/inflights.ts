/**
 * Inflights: the window of append messages sent to one follower and not yet acknowledged,
 * bounded by count and bytes (etcd-io/raft tracker/inflights.go). Pipelining stops when full.
 */
import type { LogIndex } from './types.js';

/** The in-flight window of one follower. */
export interface Inflights {
  /** Last index of each in-flight message, in send order. */
  readonly indexes: LogIndex[];
  readonly sizes: number[];
  bytes: number;
  readonly maxMsgs: number;
  /** 0 means unlimited. */
  readonly maxBytes: number;
}

/** An empty window with the given limits. */
export function newInflights(maxMsgs: number, maxBytes: number): Inflights {
  return { indexes: [], sizes: [], bytes: 0, maxMsgs, maxBytes };
}

/** Records a message whose last entry is `index` and payload is `bytes`. */
export function addInflight(f: Inflights, index: LogIndex, bytes: number): void {
  f.indexes.push(index);
  f.sizes.push(bytes);
  f.bytes += bytes;
}

/** Frees every message whose last index is <= `index` (they are acknowledged). */
export function freeInflightsTo(f: Inflights, index: LogIndex): void {
  let n = 0;
  while (n < f.indexes.length && (f.indexes[n] as LogIndex) <= index) {
    f.bytes -= f.sizes[n] as number;
    n++;
  }
  if (n > 0) {
    f.indexes.splice(0, n);
    f.sizes.splice(0, n);
  }
}

/** True when no more messages may be sent. */
export function inflightsFull(f: Inflights): boolean {
  return f.indexes.length >= f.maxMsgs || (f.maxBytes > 0 && f.bytes >= f.maxBytes);
}

/** Empties the window (on a state change). */
export function resetInflights(f: Inflights): void {
  f.indexes.length = 0;
  f.sizes.length = 0;
  f.bytes = 0;
}
