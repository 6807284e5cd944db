import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { renewReason } from './check.js';
import { CertificateError, createCa, issueLeaf } from './pki.js';

const now = new Date('2030-01-01T00:00:00Z');

describe('operator PKI', () => {
  it('issues a server certificate that chains to the CA and names every DNS name', async () => {
    const ca = await createCa('demo CA', now, 3650);
    const names = ['demo-0.demo-headless.ns.svc', 'demo-0.demo-headless.ns.svc.cluster.local', 'demo.ns.svc'];
    const leaf = await issueLeaf(ca, { commonName: 'commitlog-node', dnsNames: names, usage: 'server' }, now, 365);
    const cert = new X509Certificate(leaf.certPem);
    assert.ok(cert.checkIssued(new X509Certificate(ca.certPem)));
    for (const n of names) assert.equal(cert.checkHost(n), n);
    assert.equal(
      renewReason(leaf, {
        caCertPem: ca.certPem,
        commonName: 'commitlog-node',
        dnsNames: names,
        now,
        renewBeforeDays: 30,
      }),
      null,
    );
  });

  it('asks for renewal when names change, the CA changes, or expiry is within the window', async () => {
    const ca = await createCa('demo CA', now, 3650);
    const other = await createCa('other CA', now, 3650);
    const leaf = await issueLeaf(ca, { commonName: 'root', dnsNames: [], usage: 'client' }, now, 60);
    const want = { caCertPem: ca.certPem, commonName: 'root', dnsNames: [], now, renewBeforeDays: 30 };
    assert.equal(renewReason(leaf, want), null);
    assert.equal(renewReason(undefined, want), 'missing');
    assert.equal(renewReason(leaf, { ...want, caCertPem: other.certPem }), 'other-ca');
    assert.equal(renewReason(leaf, { ...want, commonName: 'admin' }), 'names-changed');
    assert.equal(renewReason(leaf, { ...want, now: new Date(now.getTime() + 31 * 86_400_000) }), 'expiring');
    assert.equal(renewReason({ certPem: 'garbage', keyPem: leaf.keyPem }, want), 'unparsable');
  });

  it('asks for renewal of a certificate issued for clearly longer than the validity now configured', async () => {
    const ca = await createCa('demo CA', now, 3650);
    const leaf = await issueLeaf(ca, { commonName: 'root', dnsNames: [], usage: 'client' }, now, 60);
    const want = { caCertPem: ca.certPem, commonName: 'root', dnsNames: [], now, renewBeforeDays: 1 };
    assert.equal(renewReason(leaf, { ...want, validityDays: 60 }), null, 'as configured (notBefore back-dated)');
    assert.equal(renewReason(leaf, { ...want, validityDays: 90 }), null, 'a longer validity waits for the renewal');
    assert.equal(renewReason(leaf, { ...want, validityDays: 30 }), 'validity-shortened');
  });

  it('rejects a server certificate without names and a CA key that does not parse, with typed errors', async () => {
    const ca = await createCa('demo CA', now, 3650);
    await assert.rejects(issueLeaf(ca, { commonName: 'x', dnsNames: [], usage: 'server' }, now, 1), CertificateError);
    await assert.rejects(
      issueLeaf({ certPem: ca.certPem, keyPem: 'nope' }, { commonName: 'x', dnsNames: [], usage: 'client' }, now, 1),
      CertificateError,
    );
  });
});

describe('operator PKI: external addresses', () => {
  it('puts IP SANs in server certificates and notices when they change', async () => {
    const ca = await createCa('demo CA', now, 3650);
    const leaf = await issueLeaf(
      ca,
      { commonName: 'commitlog-node', dnsNames: ['a.svc'], ipAddresses: ['203.0.113.7'], usage: 'server' },
      now,
      365,
    );
    assert.equal(new X509Certificate(leaf.certPem).checkIP('203.0.113.7'), '203.0.113.7');
    const want = {
      caCertPem: ca.certPem,
      commonName: 'commitlog-node',
      dnsNames: ['a.svc'],
      ipAddresses: ['203.0.113.7'],
      now,
      renewBeforeDays: 30,
    };
    assert.equal(renewReason(leaf, want), null);
    assert.equal(renewReason(leaf, { ...want, ipAddresses: ['203.0.113.8'] }), 'names-changed');
  });
});
