import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { createCA, issueClientCert, issueServerCert, certificateInfo, CertificateOptionsError } from './certs.js';

describe('certificates (tls/certs)', () => {
  it('a CA signs server certificates with DNS and IP SANs that chain to it', async () => {
    const ca = await createCA({ commonName: 'test CA' });
    const server = await issueServerCert(ca, {
      dnsNames: ['localhost', 'node-0.commitlog'],
      ipAddresses: ['127.0.0.1'],
    });
    const caCert = new X509Certificate(ca.certPem);
    const cert = new X509Certificate(server.certPem);
    assert.ok(caCert.ca, 'CA certificate has CA:true');
    assert.ok(cert.checkIssued(caCert), 'issued by the CA');
    assert.ok(cert.verify(caCert.publicKey), 'signature verifies with the CA key');
    assert.equal(cert.checkHost('node-0.commitlog'), 'node-0.commitlog');
    assert.equal(cert.checkIP('127.0.0.1'), '127.0.0.1');
    assert.ok(cert.checkPrivateKey(createPrivateKey(server.keyPem)), 'key matches');
    const info = certificateInfo(server.certPem);
    assert.deepEqual(info.dnsNames, ['localhost', 'node-0.commitlog']);
    assert.deepEqual(info.ipAddresses, ['127.0.0.1']);
    assert.equal(info.commonName, 'localhost');
    assert.equal(info.isCA, false);
  });

  it('a client certificate carries the CN given (the ACL subject)', async () => {
    const ca = await createCA();
    const client = await issueClientCert(ca, { commonName: 'root' });
    assert.equal(certificateInfo(client.certPem).commonName, 'root');
    assert.ok(new X509Certificate(client.certPem).checkIssued(new X509Certificate(ca.certPem)));
  });

  it('honours validity options, and rejects notAfter before notBefore', async () => {
    const ca = await createCA();
    const notBefore = new Date('2020-01-01T00:00:00Z');
    const expired = await issueClientCert(ca, { commonName: 'old', notBefore, validDays: 1 });
    assert.equal(certificateInfo(expired.certPem).notAfter.toISOString(), '2020-01-02T00:00:00.000Z');
    await assert.rejects(
      issueClientCert(ca, { commonName: 'x', notBefore, notAfter: new Date('2019-01-01T00:00:00Z') }),
      CertificateOptionsError,
    );
  });

  it('refuses a server certificate without any SAN', async () => {
    const ca = await createCA();
    await assert.rejects(issueServerCert(ca, {}), CertificateOptionsError);
  });
});
