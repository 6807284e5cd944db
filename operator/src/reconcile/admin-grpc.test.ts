import assert from 'node:assert/strict';
import { Server, ServerCredentials, status, type ServerUnaryCall, type sendUnaryData } from '@grpc/grpc-js';
import { AdminService, Role, Suffrage, type AdminServer, type Member } from '../../../node/src/gen/v1/admin.js';
import { GrpcNodeAdmin } from './admin-grpc.js';

const member = (id: string, isLeader: boolean, suffrage = Suffrage.SUFFRAGE_VOTER): Member => ({
  id,
  rpcAddr: `${id}:8400`,
  suffrage,
  isLeader,
  matchIndex: 10,
  lag: isLeader ? 0 : 2,
  externalRpcAddr: '',
});

describe('GrpcNodeAdmin against a local Admin server (generated client and service)', function () {
  this.timeout(10_000);
  let server: Server;
  let port = 0;
  const calls: string[] = [];
  let members: Member[] = [
    member('demo-0', true),
    member('demo-1', false),
    member('demo-2', false, Suffrage.SUFFRAGE_LEARNER),
  ];

  before(async () => {
    const impl: AdminServer = {
      getStatus: (_c, cb) =>
        cb(null, {
          nodeId: 'demo-0',
          clusterId: 'cid',
          role: Role.ROLE_LEADER,
          leaderId: 'demo-0',
          term: 3,
          commitIndex: 10,
          appliedIndex: 10,
          lowestOffset: 0,
          highestOffset: 9,
          hasRecords: true,
          rpcAddr: 'x',
          version: 't',
        }),
      listMembers: (_c, cb) => cb(null, { members }),
      addLearner: (_c, cb) => cb({ code: status.UNIMPLEMENTED }, null),
      promoteMember: (_c, cb) => cb({ code: status.UNIMPLEMENTED }, null),
      removeMember: (c: ServerUnaryCall<{ id: string }, unknown>, cb: sendUnaryData<{ members: Member[] }>) => {
        calls.push(`remove ${c.request.id}`);
        members = members.filter((m) => m.id !== c.request.id);
        cb(null, { members });
      },
      transferLeadership: (c, cb) => {
        calls.push(`transfer ${c.request.targetId || '(any)'}`);
        cb(null, { leaderId: 'demo-1' });
      },
    };
    server = new Server();
    server.addService(AdminService, impl);
    port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
  });
  after(() => {
    server.forceShutdown();
  });

  it('maps status, members, removal and leadership transfer', async () => {
    const admin = new GrpcNodeAdmin(
      { namespace: 'ns', headlessService: 'demo-headless', rpcPort: 8400 },
      () => `127.0.0.1:${port}`,
    );
    try {
      assert.deepEqual(await admin.status('demo-0'), {
        nodeId: 'demo-0',
        clusterId: 'cid',
        leaderId: 'demo-0',
        role: 'leader',
      });
      const ms = await admin.members('demo-0');
      assert.deepEqual(
        ms.map((m) => [m.id, m.role, m.isLeader, m.lag]),
        [
          ['demo-0', 'voter', true, 0],
          ['demo-1', 'voter', false, 2],
          ['demo-2', 'learner', false, 2],
        ],
      );
      assert.equal(await admin.transferLeadership('demo-0'), 'demo-1');
      const after = await admin.removeMember('demo-1', 'demo-2');
      assert.deepEqual(
        after.map((m) => m.id),
        ['demo-0', 'demo-1'],
      );
      assert.deepEqual(calls, ['transfer (any)', 'remove demo-2']);
    } finally {
      admin.close();
    }
  });

  it('rejects when the node cannot be reached before the deadline', async () => {
    const admin = new GrpcNodeAdmin(
      { namespace: 'ns', headlessService: 'demo-headless', rpcPort: 8400 },
      () => '127.0.0.1:1',
    );
    try {
      await assert.rejects(admin.members('demo-0'));
    } finally {
      admin.close();
    }
  });
});
