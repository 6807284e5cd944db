/**
 * The end-to-end flow's workload: a producer that writes continuously through the whole
 * flow, and a checker that reads everything back at the end.
 *
 *   tsx test/workload/workload.ts produce <acks.jsonl> <target> <tls-name>   (until SIGTERM)
 *   tsx test/workload/workload.ts check <acks.jsonl> <tls-name> <addr>…
 *
 * TLS files come from COMMITLOG_CA_FILE, COMMITLOG_CERT_FILE, COMMITLOG_KEY_FILE (the CLI's
 * variables); the producer re-reads them when they change (a client that mounts its Secret:
 * the flow keeps them in step with the user Secret through CA rotations and renewals), so
 * each new connection uses the files as they are then. `<tls-name>` is the name checked in every server certificate (the client
 * Service's name is in all of them).
 *
 * **produce** writes `w-<seq>` for seq = 0, 1, 2, … one at a time through the client library
 * (Produce → the leader, re-resolved across leader changes, servers dialled at their
 * external addresses), never sending a value twice: a call that fails is recorded as
 * failed (its outcome may be unknown) and the next value follows. Each outcome is one JSON
 * line appended to `<acks.jsonl>` before the next call: `{"seq":n,"offset":o}` when the
 * cluster acknowledged it, `{"seq":n,"error":"…"}` otherwise. SIGTERM finishes the call in
 * flight and exits 0 with a summary on stderr. Records are paced (COMMITLOG_WORKLOAD_INTERVAL_MS,
 * default 100) so the producer does not starve a two-core machine.
 *
 * **check** reads the whole log from every `<addr>` directly (one member each) and fails
 * (exit 1, each problem on stderr) unless: every member holds the same records; offsets are
 * dense from 0; every acknowledged value is at its acknowledged offset and appears exactly
 * once; no producer value appears twice; producer values appear in the order they were sent.
 * A member still catching up is re-read until it has the leader's length (bounded by
 * COMMITLOG_WORKLOAD_CHECK_TIMEOUT_MS, default 60000).
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ChannelCredentials } from '@grpc/grpc-js';
import { CommitLogClient } from '../../node/src/client/index.js';
import { clientCredentials, reloadingClientCredentials } from '../../node/src/tls/credentials.js';
import { readAll } from '../support/read-all.js';
import { isMain } from '../support/is-main.js';

const env = process.env;

function say(msg: string): void {
  process.stderr.write(`[workload ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

function credentials(): ChannelCredentials {
  return clientCredentials({
    caFile: env.COMMITLOG_CA_FILE,
    certFile: env.COMMITLOG_CERT_FILE,
    keyFile: env.COMMITLOG_KEY_FILE,
  });
}

/** One line of the acknowledgement file. */
export type Outcome =
  { readonly seq: number; readonly offset: number } | { readonly seq: number; readonly error: string };

/** The value the producer sends as its `seq`-th record. */
export const valueOf = (seq: number): string => `w-${seq}`;

async function produce(acks: string, target: string, tlsName: string): Promise<number> {
  const interval = Number(env.COMMITLOG_WORKLOAD_INTERVAL_MS ?? 100);
  const tls = reloadingClientCredentials(
    {
      caFile: env.COMMITLOG_CA_FILE ?? '',
      certFile: env.COMMITLOG_CERT_FILE ?? '',
      keyFile: env.COMMITLOG_KEY_FILE ?? '',
    },
    (err) => say(err === null ? 'TLS files reloaded' : `TLS files not reloaded: ${String(err)}`),
  );
  const client = new CommitLogClient({
    target,
    credentials: tls.credentials,
    useExternalAddrs: true,
    channelOptions: { 'grpc.ssl_target_name_override': tlsName, 'grpc.default_authority': tlsName },
  });
  let stopping = false;
  process.on('SIGTERM', () => (stopping = true)).on('SIGINT', () => (stopping = true));
  let acked = 0;
  let failed = 0;
  let lastReport = Date.now();
  for (let seq = 0; !stopping; seq++) {
    let line: Outcome;
    try {
      line = { seq, offset: await client.produce(Buffer.from(valueOf(seq))) };
      acked++;
    } catch (e) {
      line = { seq, error: String((e as Error).message ?? e).slice(0, 300) };
      failed++;
    }
    appendFileSync(acks, JSON.stringify(line) + '\n');
    if (Date.now() - lastReport > 15_000) {
      say(`${acked} acknowledged, ${failed} failed so far`);
      lastReport = Date.now();
    }
    if (!stopping) await sleep(interval);
  }
  client.close();
  tls.close();
  say(`stopped: ${acked} acknowledged, ${failed} failed`);
  return 0;
}

/** The checks of `check` over the members' logs and the producer's outcomes (pure). */
export function verify(
  logs: ReadonlyMap<string, readonly string[]>,
  outcomes: readonly Outcome[],
): { problems: string[]; summary: string } {
  const problems: string[] = [];
  const entries = [...logs.entries()];
  const [firstAddr, reference] = entries[0] ?? ['', []];
  for (const [addr, log] of entries.slice(1)) {
    const diff = log.findIndex((v, i) => v !== reference[i]);
    if (log.length !== reference.length || diff !== -1)
      problems.push(
        `${addr} differs from ${firstAddr}: ${log.length} vs ${reference.length} records` +
          (diff === -1 ? '' : `, first difference at offset ${diff}: ${log[diff]} vs ${String(reference[diff])}`),
      );
  }
  const positions = new Map<string, number[]>();
  reference.forEach((v, i) => positions.set(v, [...(positions.get(v) ?? []), i]));
  let lost = 0;
  let lastSeqOffset = -1;
  let acked = 0;
  let failedPresent = 0;
  for (const o of outcomes) {
    const at = positions.get(valueOf(o.seq)) ?? [];
    if (at.length > 1) problems.push(`${valueOf(o.seq)} appears ${at.length} times, at offsets ${at.join(', ')}`);
    if ('offset' in o) {
      acked++;
      if (at.length === 0) {
        lost++;
        if (lost <= 10) problems.push(`acknowledged ${valueOf(o.seq)} (offset ${o.offset}) is missing`);
      } else if (at[0] !== o.offset)
        problems.push(`acknowledged ${valueOf(o.seq)} at offset ${o.offset} is at offset ${String(at[0])}`);
    } else if (at.length > 0) failedPresent++;
    const first = at[0];
    if (first !== undefined) {
      if (first < lastSeqOffset)
        problems.push(`${valueOf(o.seq)} (offset ${first}) comes before an earlier value (offset ${lastSeqOffset})`);
      lastSeqOffset = first;
    }
  }
  if (lost > 10) problems.push(`… ${lost} acknowledged records missing in all`);
  const failed = outcomes.length - acked;
  const summary =
    `${reference.length} records on each of ${entries.length} members; ${acked} acknowledged producer records ` +
    `all present once and in order: ${problems.length === 0 ? 'yes' : 'NO'}; ${failed} failed calls ` +
    `(${failedPresent} of them were written anyway, each once)`;
  return { problems, summary };
}

async function check(acks: string, tlsName: string, addrs: readonly string[]): Promise<number> {
  const outcomes = readFileSync(acks, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Outcome);
  const creds = credentials();
  const chan = { 'grpc.ssl_target_name_override': tlsName, 'grpc.default_authority': tlsName };
  const deadline = Date.now() + Number(env.COMMITLOG_WORKLOAD_CHECK_TIMEOUT_MS ?? 60_000);
  const highestAck = Math.max(-1, ...outcomes.map((o) => ('offset' in o ? o.offset : -1)));
  for (;;) {
    const logs = new Map<string, string[]>();
    for (const a of addrs) logs.set(a, await readAll(a, creds, chan));
    const lengths = [...logs.values()].map((l) => l.length);
    const settled = lengths.every((n) => n === lengths[0]) && (lengths[0] ?? 0) > highestAck;
    if (settled || Date.now() > deadline) {
      const { problems, summary } = verify(logs, outcomes);
      say(summary);
      for (const p of problems) say(`PROBLEM: ${p}`);
      return problems.length === 0 ? 0 : 1;
    }
    say(`members at ${lengths.join(', ')} records (highest acknowledged offset ${highestAck}); reading again`);
    await sleep(1000);
  }
}

async function main(argv: readonly string[]): Promise<number> {
  const [cmd, acks, a, b, ...rest] = argv;
  if (cmd === 'produce' && acks !== undefined && a !== undefined && b !== undefined) return produce(acks, a, b);
  if (cmd === 'check' && acks !== undefined && a !== undefined && b !== undefined) return check(acks, a, [b, ...rest]);
  say('usage: workload.ts produce <acks.jsonl> <target> <tls-name> | check <acks.jsonl> <tls-name> <addr>…');
  return 64;
}

if (isMain(import.meta))
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      say(`ERROR: ${(e as Error).stack ?? String(e)}`);
      process.exit(1);
    },
  );
