import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventEmitter, once } from 'node:events';
import { AclFilesError, CasbinAuthorizer } from './authorizer.js';

const exampleDir = join(import.meta.dirname, '..', '..', 'config', 'acl');

describe('Casbin ACL (acl/authorizer)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'commitlog-acl-'));
    copyFileSync(join(exampleDir, 'model.conf'), join(dir, 'model.conf'));
    copyFileSync(join(exampleDir, 'policy.csv'), join(dir, 'policy.csv'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const files = () => ({ modelFile: join(dir, 'model.conf'), policyFile: join(dir, 'policy.csv') });

  it('the example policy lets root produce, consume and administer, and nobody nothing', async () => {
    const authz = await CasbinAuthorizer.open(files(), { watch: false });
    for (const action of ['produce', 'consume', 'admin'] as const) {
      assert.equal(authz.authorize('root', action), true, `root ${action}`);
      assert.equal(authz.authorize('nobody', action), false, `nobody ${action}`);
    }
  });

  it('reloads the policy when the file is replaced on disk', async () => {
    const seen: unknown[] = [];
    const reloaded = new EventEmitter();
    const authz = await CasbinAuthorizer.open(files(), {
      onReload: (e) => {
        seen.push(e);
        reloaded.emit('r');
      },
    });
    try {
      assert.equal(authz.authorize('nobody', 'consume'), false);
      const tmp = join(dir, 'policy.csv.new');
      writeFileSync(tmp, 'p, root, *, produce\np, nobody, *, consume\n');
      renameSync(tmp, join(dir, 'policy.csv'));
      await once(reloaded, 'r');
      await authz.settled();
      assert.deepEqual(seen, [null]);
      assert.equal(authz.authorize('nobody', 'consume'), true, 'new rule applies');
      assert.equal(authz.authorize('root', 'consume'), false, 'removed rule no longer applies');
    } finally {
      authz.close();
    }
  });

  it('keeps the previous rules when the new model does not parse', async () => {
    const authz = await CasbinAuthorizer.open(files(), { watch: false });
    writeFileSync(join(dir, 'model.conf'), '[matchers]\nm = r.sub ==\n');
    await assert.rejects(authz.reload(), AclFilesError);
    assert.equal(authz.authorize('root', 'produce'), true);
  });

  it('fails to open with a typed error when a file is missing', async () => {
    await assert.rejects(
      CasbinAuthorizer.open({ modelFile: join(dir, 'none.conf'), policyFile: join(dir, 'policy.csv') }),
      AclFilesError,
    );
  });
});
