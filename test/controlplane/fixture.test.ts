/**
 * Unit tests of the control-plane fixture that need no binaries: option validation, the
 * "missing binary" failure, certificates, audit filtering and namespace names.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { matches, type AuditEvent } from './audit.js';
import { MissingBinaryError, missingBinaries } from './binaries.js';
import { ControlPlaneConfigError, firstServiceIp, pinnedVersions, resolveOptions, testbinDir } from './config.js';
import { startControlPlane } from './control-plane.js';
import { parseManifests } from './crds.js';
import { createCa, issueClientCert, issueServingCert } from './pki.js';
import { reapStale, tempDirPrefix } from './stale.js';
import { namespaceName } from '../support/control-plane.js';

describe('control-plane fixture (no binaries needed)', () => {
  describe('options', () => {
    it('fills in defaults: controller-manager on, scheduler off, CRDs from crds/', () => {
      const o = resolveOptions({}, {});
      assert.equal(o.controllerManager, true);
      assert.equal(o.scheduler, false);
      assert.match(o.crdDir ?? '', /crds$/);
      assert.equal(o.serviceClusterIpRange, '10.0.0.0/24');
    });

    it('rejects invalid options with the field named', () => {
      assert.throws(
        () => resolveOptions({ startTimeoutMs: 0 }, {}),
        (e: unknown) => e instanceof ControlPlaneConfigError && e.field === 'startTimeoutMs',
      );
      assert.throws(() => resolveOptions({ serviceClusterIpRange: '10.0.0.0' }, {}), ControlPlaneConfigError);
      assert.throws(() => resolveOptions({ apiServerFlags: ['v=4'] }, {}), /must start with --/);
      assert.throws(() => resolveOptions({ scheduler: true, controllerManager: false }, {}), ControlPlaneConfigError);
    });

    it('finds the binaries where build.sh puts them, or where COMMITLOG_TESTBIN says', () => {
      const v = pinnedVersions();
      assert.match(v.kubernetes, /^v1\.\d+\.\d+$/);
      assert.equal(
        testbinDir({ HOME: '/h', XDG_CACHE_HOME: '/c' }),
        `/c/commitlog-testbin/${v.kubernetes}-${v.etcd}-${v.helm}`,
      );
      assert.equal(testbinDir({ COMMITLOG_TESTBIN: '/x' }), '/x');
    });

    it('puts the kubernetes Service IP (first of the range) in reach', () => {
      assert.equal(firstServiceIp('10.0.0.0/24'), '10.0.0.1');
      assert.equal(firstServiceIp('10.96.0.0/12'), '10.96.0.1');
    });
  });

  describe('missing binaries', () => {
    let empty: string;
    before(() => (empty = mkdtempSync(join(tmpdir(), 'commitlog-nobin-'))));
    after(() => rmSync(empty, { recursive: true, force: true }));

    it('lists what is missing', () => {
      assert.deepEqual(missingBinaries(empty, ['etcd', 'helm']), ['etcd', 'helm']);
    });

    it('makes startControlPlane fail (never skip) naming the binary and `npm run testbin`', async () => {
      await assert.rejects(startControlPlane({ binDir: empty }), (e: unknown) => {
        assert.ok(e instanceof MissingBinaryError);
        assert.equal(e.code, 'missing-binary');
        assert.equal(e.binary, 'etcd');
        assert.match(e.message, /etcd is not built/);
        assert.match(e.message, /npm run testbin/);
        return true;
      });
    });
  });

  describe('certificates', () => {
    it('issues a serving certificate for loopback and the in-cluster names, signed by the CA', async () => {
      const ca = await createCa('t');
      const s = await issueServingCert(ca, { dns: ['kubernetes.default.svc'], ips: ['127.0.0.1', '10.0.0.1'] });
      const cert = new X509Certificate(s.certPem);
      assert.ok(cert.verify(new X509Certificate(ca.certPem).publicKey));
      assert.ok(cert.checkIP('127.0.0.1'));
      assert.ok(cert.checkIP('10.0.0.1'));
      assert.equal(cert.checkHost('kubernetes.default.svc'), 'kubernetes.default.svc');
      assert.equal(cert.ca, false);
      assert.match(s.keyPem, /BEGIN PRIVATE KEY/);
    });

    it('encodes the user as CN and each group as O in client certificates', async () => {
      const ca = await createCa('t');
      const c = new X509Certificate(
        (await issueClientCert(ca, { user: 'system:kube-controller-manager', groups: ['system:masters', 'g2'] }))
          .certPem,
      );
      assert.match(c.subject, /CN=system:kube-controller-manager/);
      assert.match(c.subject, /O=system:masters/);
      assert.match(c.subject, /O=g2/);
    });
  });

  describe('audit filter', () => {
    const ev: AuditEvent = {
      auditID: 'a',
      stage: 'ResponseComplete',
      verb: 'patch',
      requestURI: '/api/v1/namespaces/n/configmaps/c',
      user: { username: 'op' },
      objectRef: { resource: 'configmaps', namespace: 'n', name: 'c' },
    };
    it('matches only when every given field matches', () => {
      assert.ok(matches(ev, {}));
      assert.ok(matches(ev, { user: 'op', namespace: 'n', resource: 'configmaps', verb: 'patch' }));
      assert.ok(!matches(ev, { user: 'other' }));
      assert.ok(!matches(ev, { subresource: 'status' }));
    });
  });

  describe('manifests and namespaces', () => {
    it('parses multi-document YAML and rejects documents without kind', () => {
      assert.equal(parseManifests('---\napiVersion: v1\nkind: A\n---\n---\napiVersion: v1\nkind: B\n').length, 2);
      assert.throws(() => parseManifests('foo: 1\n', 'x.yaml'), /x\.yaml: a document has no apiVersion\/kind/);
    });

    it('names test namespaces as valid, unique DNS labels', () => {
      const a = namespaceName('Reconciles a CommitLogCluster into ALL of its children, with owner references!');
      const b = namespaceName('Reconciles a CommitLogCluster into ALL of its children, with owner references!');
      assert.notEqual(a, b);
      for (const n of [a, b, namespaceName('***')]) assert.match(n, /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/);
    });
  });

  describe('orphans of a run killed with SIGKILL', () => {
    let root: string;
    before(() => (root = mkdtempSync(join(tmpdir(), 'commitlog-reap-'))));
    after(() => rmSync(root, { recursive: true, force: true }));

    it('kills the children of a dead owner (only if their command line names the directory) and removes it', async () => {
      // GIVEN a dead owner pid and a live child whose command line names the directory.
      const owner = spawn('true');
      await once(owner, 'exit');
      const dir = join(root, `${tempDirPrefix}dead`);
      mkdirSync(dir);
      const child = spawn('sleep', ['30']);
      const named = spawn('sh', ['-c', 'sleep 30', dir]);
      const exited = once(named, 'exit');
      writeFileSync(join(dir, 'owner.json'), JSON.stringify({ ownerPid: owner.pid, pids: [named.pid, child.pid] }));
      // AND a directory whose owner (this process) is alive.
      const mine = join(root, `${tempDirPrefix}alive`);
      mkdirSync(mine);
      writeFileSync(join(mine, 'owner.json'), JSON.stringify({ ownerPid: process.pid, pids: [] }));
      try {
        // WHEN a new control plane reaps.
        assert.deepEqual(reapStale(root), [dir]);
        // THEN the named child is killed, the unrelated pid is not, and only the dead owner's dir is gone.
        const [, signal] = (await exited) as [number | null, string | null];
        assert.equal(signal, 'SIGKILL');
        assert.equal(child.exitCode, null, 'a pid whose command line does not name the directory survives');
        assert.equal(existsSync(dir), false);
        assert.equal(existsSync(mine), true);
      } finally {
        child.kill('SIGKILL');
        named.kill('SIGKILL');
      }
    });
  });
});
