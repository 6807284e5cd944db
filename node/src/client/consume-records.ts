/**
 * Reading ConsumeStream messages whatever their shape. Its own small file so that the CLI
 * can use it without loading the routing client.
 */
import type { ConsumeResponse, Record as WireRecord } from '../gen/v1/log.js';

/**
 * The records of one ConsumeStream message, in offset order: its batch (a request with
 * batch_records) or its single record (the book's shape, and every server before batches).
 */
export function recordsOf(r: ConsumeResponse): readonly WireRecord[] {
  if (r.batch) return r.batch.records;
  return r.record ? [r.record] : [];
}
