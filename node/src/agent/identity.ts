/**
 * Node identity: a member's name is bound to its certificate (issue 12).
 *
 * A node certificate names its node when one of its DNS SANs (or its CN) equals the node
 * name: the operator issues each pod a certificate whose SANs include the bare pod name
 * (= `--node-name`), and the local PKI (local-pki.ts) one per node with the name as SAN.
 * The cluster is the trust domain of the CA: each cluster has its own CA (the operator
 * makes one per cluster, `npm start` one per data dir), and gossip tags carry the cluster id.
 *
 * Two places use it:
 * - the Raft transport accepts an inbound connection only from a node certificate naming
 *   the id its hello claims, and dials a peer only if the server certificate names it;
 * - the membership reconciler admits a gossip member (into the Raft configuration, the
 *   peer directory behind GetServers and forwarding, and the transport's address book)
 *   only after {@link verifyMemberIdentity} has seen, at the member's advertised RPC
 *   address, a node certificate of our CA naming the member. A gossip process without such
 *   a certificate can announce what it likes: it never becomes a member, and claiming
 *   another node's name cannot redirect that node's traffic.
 */
import type { X509Certificate } from 'node:crypto';
import { isIP, connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { parseHostPort } from '../net/address.js';
import {
  RAFT_MUX_BYTE,
  WIRE_V1,
  encodeHello,
  serverCertificatesOnly,
  type NodeId,
  type TransportTls,
} from '../raft/index.js';

/** The DNS SANs and CN of a certificate. */
function namesOf(cert: X509Certificate): string[] {
  const names: string[] = [];
  for (const part of (cert.subjectAltName ?? '').split(',')) {
    const t = part.trim();
    if (t.startsWith('DNS:')) names.push(t.slice(4).toLowerCase());
  }
  for (const line of cert.subject.split('\n')) if (line.startsWith('CN=')) names.push(line.slice(3).toLowerCase());
  return names;
}

/** True when `cert` names node `name` (a DNS SAN or the CN equals it, case-insensitively). */
export function certificateNamesNode(cert: X509Certificate, name: string): boolean {
  return namesOf(cert).includes(name.toLowerCase());
}

/** The Raft transport's check: a node certificate (serverAuth) that names the claimed id. */
export function nodeCertificateFor(cert: X509Certificate, id: NodeId): boolean {
  return serverCertificatesOnly(cert) && certificateNamesNode(cert, id);
}

/** What {@link verifyMemberIdentity} needs. */
export interface VerifyOptions {
  /** The member's gossip name (= its Raft id). */
  readonly name: string;
  /** Its advertised RPC address (Raft and gRPC share the port). */
  readonly rpcAddr: string;
  /** Our id and cluster id (sent in the Raft hello, so the peer sees a well-formed connection). */
  readonly selfId: string;
  readonly clusterId: string;
  /** Our certificate, key and the cluster CA. */
  readonly tls: TransportTls;
  /** Bound on connect + TLS handshake (default 3000 ms). */
  readonly timeoutMs?: number;
}

/**
 * Dials `rpcAddr` as a Raft peer does (mux byte, mutual TLS with the cluster CA) and checks
 * that the certificate presented there is a node certificate naming `name`. Resolves null
 * when it is, or the reason it is not (never rejects).
 */
export function verifyMemberIdentity(o: VerifyOptions): Promise<string | null> {
  const parsed = parseHostPort(o.rpcAddr);
  if (!parsed.ok) return Promise.resolve(`bad RPC address "${o.rpcAddr}": ${parsed.reason}`);
  const hp = parsed.value;
  return new Promise((resolve) => {
    let settled = false;
    const raw = netConnect({ host: hp.host, port: hp.port });
    const done = (why: string | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      raw.destroy();
      resolve(why);
    };
    const timer = setTimeout(
      () => done(`no TLS handshake with ${o.rpcAddr} within ${o.timeoutMs ?? 3000} ms`),
      o.timeoutMs ?? 3000,
    );
    raw.once('error', (err) => done(`cannot connect to ${o.rpcAddr}: ${err.message}`));
    raw.once('connect', () => {
      raw.write(Buffer.of(RAFT_MUX_BYTE));
      const s = tlsConnect({
        socket: raw,
        ca: o.tls.caPem,
        cert: o.tls.certPem,
        key: o.tls.keyPem,
        minVersion: 'TLSv1.3',
        ...(isIP(hp.host) === 0 ? { servername: hp.host } : {}),
        rejectUnauthorized: true,
        // The chain is checked against the cluster CA; the name check is ours (below).
        checkServerIdentity: () => undefined,
      });
      s.once('error', (err) => done(`TLS with ${o.rpcAddr}: ${err.message}`));
      s.once('secureConnect', () => {
        const cert = s.getPeerX509Certificate();
        const why =
          cert === undefined
            ? 'no certificate'
            : !serverCertificatesOnly(cert)
              ? 'not a node certificate (no serverAuth)'
              : certificateNamesNode(cert, o.name)
                ? null
                : `its certificate names ${namesOf(cert).join(', ')}, not ${o.name}`;
        // A well-formed goodbye: a v1 hello (every version accepts it; the peer authorizes it), then close.
        s.end(encodeHello({ version: WIRE_V1, clusterId: o.clusterId, from: o.selfId as NodeId }), () => done(why));
        if (why !== null) done(why);
      });
    });
  });
}

/** Something that can check a member's identity (a test may count calls). */
export type MemberVerifier = (name: string, rpcAddr: string) => Promise<string | null>;

/**
 * Remembers which (name, RPC address) pairs passed {@link verifyMemberIdentity}, so the
 * reconciler's hot path is synchronous; checks a pair again only after it changes, and
 * retries a failed pair at most every `retryMs`.
 */
export class VerifiedMembers {
  private readonly ok = new Map<string, string>();
  private readonly failedAt = new Map<string, number>();
  private readonly inFlight = new Set<string>();

  constructor(
    private readonly verify: MemberVerifier,
    private readonly retryMs = 1000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** True when `name` was verified at `rpcAddr`. */
  has(name: string, rpcAddr: string): boolean {
    return this.ok.get(name) === rpcAddr;
  }

  /**
   * Verifies the pair unless it is verified, being verified, or failed less than `retryMs`
   * ago. Calls `onResult` with null (verified) or the reason, when a check ran.
   */
  check(name: string, rpcAddr: string, onResult: (why: string | null) => void): void {
    const key = `${name}\u0000${rpcAddr}`;
    if (this.has(name, rpcAddr) || this.inFlight.has(key)) return;
    const failed = this.failedAt.get(key);
    if (failed !== undefined && this.now() - failed < this.retryMs) return;
    this.inFlight.add(key);
    void this.verify(name, rpcAddr).then((why) => {
      this.inFlight.delete(key);
      if (why === null) {
        this.ok.set(name, rpcAddr);
        this.failedAt.delete(key);
      } else {
        this.failedAt.set(key, this.now());
      }
      onResult(why);
    });
  }
}
