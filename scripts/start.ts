/**
 * `npm start`: runs a local three-node commitlog cluster on 127.0.0.1 (no Kubernetes).
 *
 * The node agent (log + Raft + gossip + gRPC) is not assembled yet, so for now this
 * says plainly what it will do and exits non-zero rather than pretending to run.
 */
const plan = [
  'npm start will run a local 3-node commitlog cluster on this machine:',
  '  - generate a CA, server and client certificates under .tmp/local-cluster/certs',
  '  - start three node processes on 127.0.0.1 (RPC 8400/8410/8420, gossip 8401/8411/8421,',
  '    metrics 8402/8412/8422), the first bootstrapping Raft and the others joining by gossip',
  '  - print how to produce and consume with `commitlog produce` / `commitlog consume`',
  '',
  'The node agent is not built yet (see the open issues), so nothing is started.',
];
process.stderr.write(plan.join('\n') + '\n');
process.exitCode = 1;
