/**
 * A rogue gossip member for the chaos tier's `rogue-gossip` fault; runs in a namespace of
 * its own (`ip netns exec`), started and stopped (SIGTERM) by run.ts:
 *
 *   tsx test/chaos/rogue.ts <mode> <name> <bindIp> <seed,seed…> [gossipKeyFile]
 *
 * Modes: `impostor` claims a member's name with the cluster's gossip key; `stranger` joins
 * under a new name with the key; `plaintext` has no key. In every mode it advertises an RPC
 * port of its own (bindIp:8400) that answers like a commitlog RPC port (mux byte, then TLS)
 * with a certificate from its own CA naming `name` — no certificate of the cluster's CA, so
 * the agents' identity check (node/src/agent/identity.ts) must refuse it. On SIGTERM it
 * leaves gossip (an impostor's leave speaks for the member it claims to be). On stdout, one
 * JSON line when it has joined (`{"ready":true,"joined":n}`: how many seeds took its join)
 * and one when it stops (`{"connections":n,"joined":n}`: how often it was dialled).
 */
import { createServer, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { TLSSocket } from 'node:tls';
import { agentTags } from '../../node/src/agent/peers.js';
import { Gossip } from '../../node/src/gossip/index.js';
import { createCA, issueServerCert } from '../../node/src/tls/index.js';
import { isMain } from '../support/is-main.js';

/** The rogue's kinds (see the header). */
export const ROGUE_MODES = ['impostor', 'stranger', 'plaintext'] as const;
export type RogueMode = (typeof ROGUE_MODES)[number];

async function main(mode: RogueMode, name: string, ip: string, seeds: string[], keyFile?: string): Promise<void> {
  const ca = await createCA({ commonName: 'rogue CA' });
  const cert = await issueServerCert(ca, { commonName: name, dnsNames: [name, 'localhost'], ipAddresses: [ip] });
  let connections = 0;
  const socks = new Set<Socket>();
  const server = createServer((sock) => {
    connections++;
    socks.add(sock);
    sock.on('close', () => socks.delete(sock));
    sock.on('error', () => {});
    sock.once('data', (d: Buffer) => {
      sock.pause();
      if (d.length > 1) sock.unshift(d.subarray(1));
      const t = new TLSSocket(sock, { isServer: true, key: cert.keyPem, cert: cert.certPem });
      t.on('error', () => sock.destroy());
    });
  });
  await new Promise<void>((r) => server.listen(8400, ip, () => r()));
  const key = mode === 'plaintext' || keyFile === undefined ? undefined : readFileSync(keyFile, 'utf8').trim();
  let joined = { joined: 0 };
  const gossip = await Gossip.start({
    name,
    preset: 'local',
    bindAddr: ip,
    bindPort: 8401,
    clusterId: 'chaos',
    tags: agentTags({ rpcAddr: `${ip}:8400`, raftId: name, clusterId: 'chaos', role: 'voter', boot: 'rogue' }),
    seeds: [],
    ...(key !== undefined ? { encryptionKeys: [key] } : {}),
  });
  process.once('SIGTERM', () => {
    void (async () => {
      await gossip.stop();
      for (const s of socks) s.destroy();
      server.close();
      process.stdout.write(`${JSON.stringify({ connections, joined: joined.joined })}\n`);
      process.exit(0);
    })();
  });
  joined = await gossip.join(seeds);
  process.stdout.write(`${JSON.stringify({ ready: true, joined: joined.joined })}\n`);
}

if (isMain(import.meta)) {
  const [mode, name, ip, seeds, keyFile] = process.argv.slice(2);
  main(mode as RogueMode, name ?? 'rogue', ip ?? '127.0.0.1', (seeds ?? '').split(',').filter(Boolean), keyFile).catch(
    (e: unknown) => {
      process.stderr.write(`rogue: ${(e as Error).stack ?? String(e)}\n`);
      process.exit(1);
    },
  );
}
