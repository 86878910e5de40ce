// TLS-ALPN-01 (RFC 8737) answered by a TLS listener, without an ACME server: a challenge
// certificate made by acme-client is published with Balancer.setAcmeAlpnChallenges, and
// real clients connect. A validator offering acme-tls/1 for the pending name gets that
// certificate (acme-client's own check of the acmeIdentifier extension passes) and the
// connection closes after the handshake; acme-tls/1 for any other name is refused; h2 and
// HTTP/1.1 clients of the same listener go on as before, during the challenge and after.
import { X509Certificate } from 'node:crypto';
import tls from 'node:tls';

import type { Authorization } from 'acme-client';
import { afterEach, describe, expect, it } from 'vitest';

import { loadAcmeClient } from '../../src/acme/acme-client-settings.js';
import { LbConfigError } from '../../src/errors.js';
import { startBalancer } from '../helpers/balancer.js';
import { runCleanups } from '../helpers/cleanup.js';
import { startHttpBackend } from '../helpers/http-backend.js';
import { useTlsFixtures } from '../helpers/use-tls-fixtures.js';
import { h2Get, http1Get, probe } from './tls-alpn-clients.js';

const fixtures = useTlsFixtures({ names: ['shop.test', 'www.shop.test'] });
afterEach(runCleanups);

async function challengeCertificate(name: string, keyAuthorization: string): Promise<{ certPem: string; keyPem: string }> {
  const acme = await loadAcmeClient();
  const authz = { identifier: { type: 'dns', value: name } } as Authorization;
  const [key, cert] = await acme.crypto.createAlpnCertificate(authz, keyAuthorization, await acme.crypto.createPrivateEcdsaKey());
  return { certPem: cert.toString(), keyPem: key.toString() };
}

describe('TLS-ALPN-01 on a TLS listener', () => {
  it('shows the challenge certificate for a pending name only, closes after the handshake, and leaves h2 and HTTP/1.1 clients alone', async () => {
    const acme = await loadAcmeClient();
    const backend = await startHttpBackend('app');
    const lb = await startBalancer({
      backends: [backend.address],
      tls: { certificates: [{ cert: fixtures.ecdsa.chainFile, key: fixtures.ecdsa.keyFile }] },
    });
    const port = lb.listeners[0]!.port;
    const ordinarySerial = new X509Certificate(fixtures.ecdsa.certPem).serialNumber;

    // Nothing pending: acme-tls/1 is refused (no_application_protocol), not answered with the ordinary certificate.
    expect(await probe(port, 'shop.test')).toMatchObject({ ok: false, error: expect.stringMatching(/no application protocol/i) });

    const keyAuthorization = 'tok3n-A_b.thumbPr1nt-x_Y';
    lb.setAcmeAlpnChallenges({ 'shop.test': await challengeCertificate('shop.test', keyAuthorization) });

    const answered = await probe(port, 'SHOP.test');
    expect(answered).toMatchObject({ ok: true, alpn: 'acme-tls/1', closedByServer: true });
    expect(acme.crypto.isAlpnCertificateAuthorizationValid(answered.certPem!, keyAuthorization)).toBe(true);
    expect(acme.crypto.isAlpnCertificateAuthorizationValid(answered.certPem!, 'another.authorization')).toBe(false);
    expect(new X509Certificate(answered.certPem!).subjectAltName).toBe('DNS:shop.test');

    // Another name (one the listener serves): refused, never the ordinary certificate with acme-tls/1.
    expect(await probe(port, 'www.shop.test')).toMatchObject({
      ok: false,
      error: expect.stringMatching(/no application protocol/i),
    });

    // Ordinary clients of the same listener and name, while the challenge is pending.
    const during = await Promise.all([h2Get(port, 'shop.test', '/h2'), http1Get(port, 'shop.test', '/h1')]);
    expect(during.map((r) => [r.status, r.alpn])).toEqual([
      [200, 'h2'],
      [200, 'http/1.1'],
    ]);
    for (const response of during) expect(response.body).toContain('app');
    const shown = await new Promise<string>((resolve, reject) => {
      const socket = tls.connect(
        { host: '127.0.0.1', port, servername: 'shop.test', ALPNProtocols: ['h2', 'http/1.1'], rejectUnauthorized: false },
        () => {
          resolve(socket.getPeerX509Certificate()?.serialNumber ?? '');
          socket.end();
        },
      );
      socket.on('error', reject);
    });
    expect(shown).toBe(ordinarySerial);

    // A certificate without the acmeIdentifier extension is refused; the pending one stays.
    expect(() =>
      lb.setAcmeAlpnChallenges({ 'shop.test': { certPem: fixtures.ecdsa.certPem, keyPem: fixtures.ecdsa.keyPem } }),
    ).toThrow(LbConfigError);
    expect(() =>
      lb.setAcmeAlpnChallenges({ 'shop.test': { certPem: fixtures.ecdsa.certPem, keyPem: fixtures.ecdsa.keyPem } }),
    ).toThrow(/acmeIdentifier/);
    expect(await probe(port, 'shop.test')).toMatchObject({ ok: true, alpn: 'acme-tls/1' });

    // Challenge over: refused again, and ordinary clients as before.
    lb.setAcmeAlpnChallenges({});
    expect(await probe(port, 'shop.test')).toMatchObject({ ok: false });
    expect(await h2Get(port, 'shop.test', '/after')).toMatchObject({ status: 200, alpn: 'h2' });
  }, 30_000);

  it('a listener waiting for its first certificate answers a pending challenge and still closes everything else', async () => {
    const backend = await startHttpBackend('app');
    const lb = await startBalancer({ backends: [backend.address], tls: { acmeCertificate: true } });
    const port = lb.listeners[0]!.port;
    expect(await probe(port, 'shop.test')).toMatchObject({ ok: false });
    lb.setAcmeAlpnChallenges({ 'shop.test': await challengeCertificate('shop.test', 'a.b') });
    expect(await probe(port, 'shop.test')).toMatchObject({ ok: true, alpn: 'acme-tls/1', closedByServer: true });
    expect(await probe(port, 'www.shop.test')).toMatchObject({ ok: false });
    await expect(http1Get(port, 'shop.test', '/')).rejects.toThrow();
    // The certificate arrives: served, and the challenge no longer matters to ordinary clients.
    lb.installCertificate({ certPem: fixtures.ecdsa.chainPem, keyPem: fixtures.ecdsa.keyPem });
    lb.setAcmeAlpnChallenges(null);
    expect(await http1Get(port, 'shop.test', '/')).toMatchObject({ status: 200, alpn: 'http/1.1' });
    expect(await probe(port, 'shop.test')).toMatchObject({ ok: false });
  }, 30_000);

  it('tls-alpn-challenge-on-mtls-listener: a listener that requires client certificates does not ask the validator for one', async () => {
    const backend = await startHttpBackend('app');
    const lb = await startBalancer({
      backends: [backend.address],
      tls: {
        certificates: [{ cert: fixtures.ecdsa.chainFile, key: fixtures.ecdsa.keyFile }],
        clientCertificates: { ca: fixtures.ca.certFile, verify: 'required' },
      },
    });
    const port = lb.listeners[0]!.port;
    lb.setAcmeAlpnChallenges({ 'shop.test': await challengeCertificate('shop.test', 'c.d') });
    // The validator sends no client certificate: before the fix the handshake asked for one and failed.
    expect(await probe(port, 'shop.test')).toMatchObject({ ok: true, alpn: 'acme-tls/1', closedByServer: true });
    // Ordinary clients of that listener still need their certificate.
    await expect(http1Get(port, 'shop.test', '/')).rejects.toThrow();
  }, 30_000);
});
