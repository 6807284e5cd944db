import { Client } from '@grpc/grpc-js';
import { createTestPki, startTestServer, tempLocalBackend, credsFor, isolatedClient } from './testing.js';
describe('m', function () { this.timeout(20000); it('m', async () => {
  const pki = await createTestPki(); const local = await tempLocalBackend(); const srv = await startTestServer(pki, local.backend);
  const generic = new Client(srv.address, credsFor(pki, pki.root), isolatedClient);
  const bad = await Promise.race([new Promise((resolve) => {
      generic.makeUnaryRequest('/log.v1.Log/Produce', (b: Buffer) => b, (b: Buffer) => b, Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]), (err) => resolve(err));
    }), new Promise(r => setTimeout(() => r('timeout'), 3000))]);
  console.log(bad);
  generic.close();
  await srv.stop(); await local.cleanup(); pki.cleanup();
});});
