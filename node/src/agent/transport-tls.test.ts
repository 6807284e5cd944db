/**
 * Raft transport TLS reload: rotating the node certificate files on disk of running agents
 * changes the certificate new Raft connections get, a bad file keeps the old one, and the
 * cluster keeps committing throughout.
 */
import assert from 'node:assert/strict';
import { X509Certificate, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { status as Status, type ServiceError } from '@grpc/grpc-js';
import type { LogClient, ProduceResponse, ConsumeResponse } from '../gen/v1/log.js';
import type { TransportTls } from '../raft/index.js';
import { createCA, issueServerCert, type PemPair } from '../tls/certs.js';
import { readPemPair, writeFileAtomic, writePemPair } from '../tls/pem-files.js';
import { NODE_CN, nodeCertFiles, type LocalPki } from './local-pki.js';
import { TestAgents, eventually } from './testing/cluster.js';
import { readTransportTls, watchTransportTls } from './transport-tls.js';

const RAFT_BYTE = 0x01;
const serialOf = (pem: string): string => new X509Certificate(pem).serialNumber;

/** Dials the RPC port as a Raft peer would (mux byte, then TLS) and returns the serial of the certificate the node presents. */
async function presentedSerial(port: number, pki: LocalPki): Promise<string> {
  const raw = netConnect(port, '127.0.0.1');
  await once(raw, 'connect');
  raw.write(Buffer.of(RAFT_BYTE));
  const s = tlsConnect({
    socket: raw,
    ca: readFileSync(pki.ca),
    cert: readFileSync(pki.rootCert),
    key: readFileSync(pki.rootKey),
    servername: 'localhost',
    minVersion: 'TLSv1.3',
  });
  try {
    await once(s, 'secureConnect');
    const cert = s.getPeerX509Certificate();
    assert.ok(cert, 'no peer certificate');
    return cert.serialNumber;
  } finally {
    s.destroy();
    raw.destroy();
  }
}

function unary<T>(fn: (cb: (err: ServiceError | null, res: T) => void) => unknown): Promise<T> {
  return new Promise((resolve, reject) => fn((err, res) => (err ? reject(err) : resolve(res))));
}
/** This test's idempotent producer: a retried record keeps its offset, appended once. */
const PRODUCER = randomBytes(16);
let sequence = 0;
/**
 * Produces `v` once (idempotent) at the node `at()` names, asking again while the call gets
 * no answer of the cluster's (UNAVAILABLE, DEADLINE_EXCEEDED): an election can happen at any
 * time on a loaded machine (a stress run at load 14 saw "UNAVAILABLE: no leader" here), and
 * with the producer id the retry returns the original offset instead of appending again.
 */
async function produce(at: () => LogClient, v: string): Promise<number> {
  const seq = sequence++;
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const r = await unary<ProduceResponse>((cb) =>
        at().produce(
          { record: { value: Buffer.from(v), offset: 0, term: 0, type: 0 }, producerId: PRODUCER, sequence: seq },
          cb,
        ),
      );
      return r.offset;
    } catch (e) {
      const code = (e as ServiceError).code;
      if (!(code === Status.UNAVAILABLE || code === Status.DEADLINE_EXCEEDED) || Date.now() > deadline) throw e;
    }
  }
}
const consume = (c: LogClient, offset: number): Promise<ConsumeResponse> =>
  unary<ConsumeResponse>((cb) => c.consume({ offset }, cb));

/** A new certificate for node `name` (it must name the node: identity.ts). */
async function newNodeCert(pki: LocalPki, name: string): Promise<PemPair> {
  const ca = readPemPair({ certFile: pki.ca, keyFile: join(dirname(pki.ca), 'ca-key.pem') });
  return issueServerCert(ca, { commonName: NODE_CN, ipAddresses: ['127.0.0.1'], dnsNames: [name, 'localhost'] });
}

describe('agent: the Raft transport follows its rotated TLS files', function () {
  this.timeout(120_000);
  let t: TestAgents;
  const clients: LogClient[] = [];
  const client = (name: string): LogClient => {
    const c = t.logClient(name);
    clients.push(c);
    return c;
  };
  const raftTlsReloads = async (name: string, result: 'ok' | 'error'): Promise<number> =>
    (await t.get(name).metrics.reloads.get()).values.find(
      (v) => v.labels.what === 'raft-tls' && v.labels.result === result,
    )?.value ?? 0;

  before(async () => {
    t = await TestAgents.create();
    await t.start('n0', { bootstrap: true });
    await t.start('n1');
    await eventually(
      'n1 a voter',
      () =>
        t
          .get('n0')
          .node.status()
          .members.filter((m) => m.suffrage === 'voter').length === 2,
      20_000,
    );
  });
  after(async () => {
    for (const c of clients) c.close();
    await t.destroy();
  });

  it('new Raft connections get the new certificate; a bad file keeps the old one; commits continue', async () => {
    const n0Cert = nodeCertFiles(t.pki, 'n0').certFile;
    const original = serialOf(readFileSync(n0Cert, 'utf8'));
    const port = t.get('n0').rpcPort;
    assert.equal(await presentedSerial(port, t.pki), original);
    const leader = (): string => t.leader()?.config.nodeName ?? 'n0';
    assert.equal(await produce(() => client(leader()), 'before'), 0);

    // A garbage certificate (the key left as it was): refused, the old certificate stays.
    writeFileAtomic(n0Cert, '-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n');
    await eventually('the bad file rejected on n0', async () => (await raftTlsReloads('n0', 'error')) >= 1);
    assert.equal(await presentedSerial(port, t.pki), original);
    assert.equal(await produce(() => client(leader()), 'during'), 1);

    // A new pair, written key first then certificate (atomic renames, as writePemPair does).
    const next = await newNodeCert(t.pki, 'n0');
    writePemPair(dirname(n0Cert), 'node-n0', next);
    const next1 = await newNodeCert(t.pki, 'n1');
    writePemPair(dirname(n0Cert), 'node-n1', next1);
    const rotated = serialOf(next.certPem);
    assert.notEqual(rotated, original);
    await eventually('n0 presents the new certificate', async () => (await presentedSerial(port, t.pki)) === rotated);
    await eventually(
      'n1 presents the new certificate',
      async () => (await presentedSerial(t.get('n1').rpcPort, t.pki)) === serialOf(next1.certPem),
    );
    assert.ok((await raftTlsReloads('n0', 'ok')) >= 1);

    // Existing Raft connections kept their sessions and the cluster kept committing.
    assert.equal(await produce(() => client(leader()), 'after'), 2);
    // Fresh Raft connections in both directions (n1 restarted) are made with the new material.
    await t.stop('n1', true);
    await t.start('n1');
    const offset = await eventually('a commit with n1 back', () => produce(() => client(leader()), 'after restart'));
    const r = await eventually('the record on n1', () => consume(client('n1'), offset));
    assert.equal(r.record?.value.toString(), 'after restart');
  });
});

describe('watchTransportTls', function () {
  this.timeout(10_000);
  let dir: string;
  before(() => void (dir = mkdtempSync(join(tmpdir(), 'commitlog-raft-tls-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('passes a usable rotated set to updateTls and keeps the old one (with a warning) for a key that does not match', async () => {
    const ca = await createCA({ commonName: 'test CA' });
    writePemPair(dir, 'ca', ca);
    const files = {
      ...writePemPair(dir, 'node', await issueServerCert(ca, { commonName: 'a', ipAddresses: ['127.0.0.1'] })),
      caFile: join(dir, 'ca.pem'),
    };
    const updates: TransportTls[] = [];
    const warnings: string[] = [];
    const w = watchTransportTls({ updateTls: (x) => updates.push(x) }, files, {
      logger: { info: () => {}, warn: (_f, msg) => warnings.push(msg) },
      watcher: { debounceMs: 10_000 }, // driven by checkNow() here, not by fs events
    });
    try {
      const other = await issueServerCert(ca, { commonName: 'b', ipAddresses: ['127.0.0.1'] });
      writeFileAtomic(files.keyFile, other.keyPem); // half-written rotation: new key, old certificate
      w.checkNow();
      assert.equal(updates.length, 0);
      assert.match(warnings.join('\n'), /do not load; keeping the previous certificate/);
      writeFileAtomic(files.certFile, other.certPem);
      w.checkNow();
      assert.equal(updates.length, 1);
      assert.equal(serialOf(updates[0]?.certPem ?? ''), serialOf(other.certPem));
      assert.deepEqual(updates[0], readTransportTls(files));
    } finally {
      w.close();
    }
  });
});
