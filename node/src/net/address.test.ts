import assert from 'node:assert/strict';
import { AddressError, formatHostPort, hostPort, isHostPort, parseHostPort, withPort } from './address.js';

describe('addresses: one host:port parser and formatter', () => {
  /** [text, expected host and port, or the start of the reason it is refused]. */
  const table: readonly (readonly [string, { host: string; port: number } | RegExp])[] = [
    ['127.0.0.1:8400', { host: '127.0.0.1', port: 8400 }],
    ['node-0.commitlog.svc:8401', { host: 'node-0.commitlog.svc', port: 8401 }],
    ['localhost:1', { host: 'localhost', port: 1 }],
    ['a:65535', { host: 'a', port: 65535 }],
    ['[::1]:8400', { host: '::1', port: 8400 }],
    ['[fe80::1%eth0]:9', { host: 'fe80::1%eth0', port: 9 }],
    // The disagreement of issue 17: `--external-addr host:99999` was accepted, `--advertise-addr host:99999` refused.
    ['host:99999', /port must be in 1\.\.65535, got 99999/],
    ['host:65536', /port must be in 1\.\.65535/],
    ['host:0', /port must be in 1\.\.65535, got 0/],
    ['host:123456', /port must be a number/],
    ['host:', /port must be a number/],
    ['host:-1', /port must be a number/],
    ['host:80a', /port must be a number/],
    ['host', /no ":port"/],
    [':8400', /empty host/],
    ['::1:8400', /IPv6 host needs brackets/],
    ['[::1:8400', /IPv6 host is written \[v6\]:port/],
    ['[]:8400', /IPv6 host is written/],
    ['[example.com]:8400', /brackets are only for IPv6/],
    ['my host:8400', /may not contain whitespace/],
    ['commitlog:///a:1', /IPv6 host needs brackets|may not contain/],
    ['a/b:1', /may not contain/],
  ];
  for (const [text, want] of table) {
    it(`${want instanceof RegExp ? 'refuses' : 'parses'} ${JSON.stringify(text)}`, () => {
      const r = parseHostPort(text);
      if (want instanceof RegExp) {
        assert.equal(r.ok, false, `${text} must be refused`);
        if (!r.ok) assert.match(r.reason, want);
        assert.equal(isHostPort(text), false);
        assert.throws(
          () => hostPort(text),
          (e: unknown) => e instanceof AddressError && e.address === text,
        );
      } else {
        assert.deepEqual(r, { ok: true, value: want });
        assert.deepEqual(hostPort(text), want);
      }
    });
  }

  it('accepts port 0 only for a bind address that asks for it', () => {
    assert.deepEqual(hostPort('0.0.0.0:0', { allowPortZero: true }), { host: '0.0.0.0', port: 0 });
    assert.equal(isHostPort('0.0.0.0:0'), false);
    assert.equal(isHostPort('h:99999', { allowPortZero: true }), false);
  });

  it('formats IPv6 hosts in brackets and round-trips every parsed address', () => {
    assert.equal(formatHostPort('127.0.0.1', 8400), '127.0.0.1:8400');
    assert.equal(formatHostPort('::1', 8400), '[::1]:8400');
    assert.equal(formatHostPort('[::1]', 8400), '[::1]:8400');
    for (const [text, want] of table) {
      if (want instanceof RegExp) continue;
      assert.equal(formatHostPort(want.host, want.port), text);
    }
  });

  it('replaces the port of an address, keeping IPv6 brackets', () => {
    assert.equal(withPort('127.0.0.1:0', 40123), '127.0.0.1:40123');
    assert.equal(withPort('[::]:0', 40123), '[::]:40123');
    assert.throws(() => withPort('nope', 1), AddressError);
  });

  it('names the text and the reason in the thrown error', () => {
    assert.throws(() => hostPort('host:99999'), /expected host:port, got "host:99999": the port must be in 1\.\.65535/);
  });
});
