import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { logIndex, nodeId, term } from '../core/types.js';
import { makeTestPki } from './testing/tcp-node.js';
import { TcpTransport } from './transport-tcp.js';

/**
 * A TCP address whose SYNs go unanswered, as a restarted pod's old IP does while the
 * neighbour entry is still valid: a listener with backlog 0 whose one-slot accept queue is
 * already full (Linux then drops new SYNs; Node has no listener that does not accept).
 */
async function blackHole(): Promise<{ port: number; close: () => void }> {
  const py: ChildProcess = spawn(
    'python3',
    [
      '-c',
      [
        'import socket, sys',
        's = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(0)',
        'print(s.getsockname()[1], flush=True)',
        'sys.stdin.read()',
      ].join('\n'),
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const line = await new Promise<string>((resolve, reject) => {
    py.once('error', reject);
    createInterface({ input: py.stdout! }).once('line', resolve);
  });
  const port = Number(line);
  const filler: Socket = connect(port, '127.0.0.1');
  await new Promise((r) => filler.once('connect', r));
  return {
    port,
    close: () => {
      filler.destroy();
      py.kill();
    },
  };
}

describe('raft transport: dialing a peer address that never answers', function () {
  this.timeout(20_000);

  it('abandons a TCP connect after the handshake timeout and dials again, so a changed DNS answer is picked up', async () => {
    const hole = await blackHole();
    const pki = await makeTestPki(['a']);
    const failures: string[] = [];
    const t = new TcpTransport({
      id: nodeId('a'),
      clusterId: 'c',
      tls: { caPem: pki.ca.certPem, certPem: pki.certs['a']!.certPem, keyPem: pki.certs['a']!.keyPem },
      handshakeTimeoutMs: 300,
      backoffMs: { initial: 10, max: 20 },
      logger: {
        info: () => {},
        warn: (o: unknown) => {
          failures.push(String((o as { err?: string }).err));
        },
      },
    });
    try {
      t.setPeer(nodeId('b'), `127.0.0.1:${hole.port}`);
      const deadline = Date.now() + 8_000;
      // Raft keeps sending (heartbeats); each send while disconnected may trigger a dial.
      while (failures.length < 2 && Date.now() < deadline) {
        t.send([
          {
            type: 'preVote',
            from: nodeId('a'),
            to: nodeId('b'),
            term: term(1),
            lastIndex: logIndex(0),
            lastTerm: term(0),
          },
        ]);
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.ok(
        failures.length >= 2,
        `expected repeated dial failures within 8 s (a hung connect never gives up), got: ${JSON.stringify(failures)}`,
      );
      assert.match(failures[0] ?? '', /connect timed out/);
    } finally {
      await t.close();
      hole.close();
    }
  });
});
