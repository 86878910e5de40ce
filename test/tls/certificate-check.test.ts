// `checkCertificateFiles` against certificates the openssl command line makes at test
// time: good chains (RSA and ECDSA, with an intermediate), and each way a chain and key
// can be wrong, with the message that names the file.
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';

import { checkCertificateFiles } from '../../src/tls/certificate-check.js';
import type { FixtureCa, FixtureCertificate } from '../helpers/tls-fixtures.js';
import { useTlsFixtures } from '../helpers/use-tls-fixtures.js';

const run = promisify(execFile);

const tls = useTlsFixtures({ names: ['example.test', 'www.example.test'], ips: ['127.0.0.1'] });
let intermediate: FixtureCa;
let viaIntermediate: FixtureCertificate;

beforeAll(async () => {
  intermediate = await tls.makeCa('lb-native test intermediate', { issuer: tls.ca });
  viaIntermediate = await tls.issue({ issuer: intermediate, names: ['api.example.test'], keyType: 'rsa' });
});

async function file(name: string, content: string): Promise<string> {
  const path = join(tls.dir, name);
  await writeFile(path, content);
  return path;
}

describe('checkCertificateFiles', () => {
  it('accepts an RSA leaf with its intermediate, trusted through the CA file, and summarizes each certificate', async () => {
    const check = await checkCertificateFiles({
      certFile: viaIntermediate.chainFile,
      keyFile: viaIntermediate.keyFile,
      caFile: tls.ca.certFile,
    });
    expect(check.problems).toEqual([]);
    expect(check.ok).toBe(true);
    expect(check.anchor).toBe('ca file');
    expect(check.certificates).toHaveLength(2);
    const [leaf, middle] = check.certificates;
    expect(leaf).toMatchObject({ index: 0, dnsNames: ['api.example.test'], keyType: 'rsa', keyBits: 2048, selfSigned: false });
    expect(leaf!.subject).toBe('CN=api.example.test');
    expect(leaf!.issuer).toBe('CN=lb-native test intermediate');
    expect(leaf!.daysLeft).toBeGreaterThanOrEqual(29);
    expect(leaf!.daysLeft).toBeLessThanOrEqual(30);
    expect(middle).toMatchObject({ index: 1, keyType: 'ec', curve: 'prime256v1', keyBits: 256 });
    expect(middle!.daysLeft).toBeGreaterThan(3000);
  });

  it('accepts an ECDSA leaf whose file ends with the self-signed root, with names and addresses', async () => {
    const certFile = await file('ecdsa-with-root.pem', tls.ecdsa.certPem + tls.ca.certPem);
    const check = await checkCertificateFiles({ certFile, keyFile: tls.ecdsa.keyFile });
    expect(check.problems).toEqual([]);
    expect(check.anchor).toBe('self-signed in file');
    expect(check.certificates[0]).toMatchObject({
      dnsNames: ['example.test', 'www.example.test'],
      ipAddresses: ['127.0.0.1'],
      keyType: 'ec',
      curve: 'prime256v1',
    });
    expect(check.certificates[1]!.selfSigned).toBe(true);
  });

  it('counts days left from the given moment', async () => {
    const inTwentyDays = new Date(Date.now() + 20 * 86_400_000);
    const check = await checkCertificateFiles(
      { certFile: tls.rsa.certFile, keyFile: tls.rsa.keyFile, caFile: tls.ca.certFile },
      { now: inTwentyDays },
    );
    expect(check.ok).toBe(true);
    expect(check.certificates[0]!.daysLeft).toBeGreaterThanOrEqual(9);
    expect(check.certificates[0]!.daysLeft).toBeLessThanOrEqual(10);
  });

  it('refuses a key that belongs to another certificate, naming both files', async () => {
    const check = await checkCertificateFiles({
      certFile: tls.rsa.certFile,
      keyFile: tls.ecdsa.keyFile,
      caFile: tls.ca.certFile,
    });
    expect(check.ok).toBe(false);
    expect(check.problems).toEqual([
      `${tls.ecdsa.keyFile}: the private key does not match the certificate in ${tls.rsa.certFile} (certificate 0 (CN=example.test))`,
    ]);
  });

  it('says a chain is out of order, and which certificate must come where', async () => {
    const certFile = await file('out-of-order.pem', viaIntermediate.certPem + tls.ca.certPem + intermediate.certPem);
    const check = await checkCertificateFiles({ certFile, keyFile: viaIntermediate.keyFile });
    expect(check.problems).toEqual([
      `${certFile}: the chain is out of order: certificate 0 (CN=api.example.test) is issued by ` +
        "certificate 2 (CN=lb-native test intermediate), which must come right after it (leaf first, then each certificate's issuer)",
    ]);
    // The file still holds a complete chain: it is not called incomplete as well.
    expect(check.anchor).toBe('self-signed in file');
  });

  it('says a certificate did not issue the one before it', async () => {
    const stranger = await tls.makeCa('unrelated CA');
    const certFile = await file('wrong-issuer.pem', tls.ecdsa.certPem + stranger.certPem);
    const check = await checkCertificateFiles({ certFile, keyFile: tls.ecdsa.keyFile, caFile: tls.ca.certFile });
    expect(check.problems).toContain(
      `${certFile}: certificate 1 (CN=unrelated CA) did not issue certificate 0 (CN=example.test) (issued by CN=lb-native test root CA): ` +
        'each certificate must be followed by its issuer',
    );
  });

  it('says a chain without its intermediate is incomplete, with or without a CA file', async () => {
    const withCa = await checkCertificateFiles({
      certFile: viaIntermediate.certFile,
      keyFile: viaIntermediate.keyFile,
      caFile: tls.ca.certFile,
    });
    expect(withCa.problems).toEqual([
      `${viaIntermediate.certFile}: the chain is incomplete: certificate 0 (CN=api.example.test) is issued by ` +
        `CN=lb-native test intermediate, which is neither in the file nor a trusted root in Node's root store or ${tls.ca.certFile} ` +
        '(add the missing intermediate certificates after it)',
    ]);
    const withoutCa = await checkCertificateFiles({ certFile: tls.ecdsa.certFile, keyFile: tls.ecdsa.keyFile });
    expect(withoutCa.problems).toHaveLength(1);
    expect(withoutCa.problems[0]).toContain("which is neither in the file nor a trusted root in Node's root store (add");
    expect(withoutCa.anchor).toBeUndefined();
  });

  it('reports an expired certificate with its date, and one not yet valid', async () => {
    const expired = await tls.issue({
      names: ['old.test'],
      notBefore: new Date('2020-01-01T00:00:00Z'),
      notAfter: new Date('2020-02-01T00:00:00Z'),
    });
    const check = await checkCertificateFiles({ certFile: expired.certFile, keyFile: expired.keyFile, caFile: tls.ca.certFile });
    const daysAgo = Math.floor((Date.now() - Date.parse('2020-02-01T00:00:00Z')) / 86_400_000);
    expect(check.certificates[0]!.daysLeft).toBeLessThan(0);
    expect(check.problems).toEqual([
      `${expired.certFile}: certificate 0 (CN=old.test) expired on 2020-02-01T00:00:00.000Z (${-check.certificates[0]!.daysLeft} days ago)`,
    ]);
    expect(Math.abs(-check.certificates[0]!.daysLeft - daysAgo)).toBeLessThanOrEqual(1);

    const future = await tls.issue({ names: ['soon.test'], notBefore: new Date(Date.now() + 10 * 86_400_000), days: 30 });
    const early = await checkCertificateFiles({ certFile: future.certFile, keyFile: future.keyFile, caFile: tls.ca.certFile });
    expect(early.problems).toHaveLength(1);
    expect(early.problems[0]).toMatch(/certificate 0 \(CN=soon\.test\) is not valid before \d{4}-\d\d-\d\dT/);
  });

  it('refuses an RSA key under 2048 bits and a leaf without subjectAltName', async () => {
    const weak = await tls.issue({ names: ['weak.test'], keyType: 'rsa', rsaBits: 1024 });
    const check = await checkCertificateFiles({ certFile: weak.certFile, keyFile: weak.keyFile, caFile: tls.ca.certFile });
    expect(check.problems).toEqual([
      `${weak.certFile}: certificate 0 (CN=weak.test) has a 1024-bit RSA key; at least 2048 bits are needed`,
    ]);

    const nameless = await tls.issue({ commonName: 'nameless' });
    const unnamed = await checkCertificateFiles({
      certFile: nameless.certFile,
      keyFile: nameless.keyFile,
      caFile: tls.ca.certFile,
    });
    expect(unnamed.problems).toEqual([
      `${nameless.certFile}: the leaf certificate (CN=nameless) has no subjectAltName: clients will not accept it for any host name`,
    ]);
  });

  it('explains unreadable files, files without certificates or keys, and encrypted keys', async () => {
    const missing = join(tls.dir, 'missing.pem');
    const unreadable = await checkCertificateFiles({ certFile: missing, keyFile: tls.rsa.keyFile });
    expect(unreadable.problems).toEqual([`${missing}: cannot be read (ENOENT)`]);

    const garbage = await file('garbage.pem', 'hello\n');
    const noCert = await checkCertificateFiles({ certFile: garbage, keyFile: tls.rsa.keyFile });
    expect(noCert.problems).toEqual([`${garbage}: no certificate found (expected a -----BEGIN CERTIFICATE----- block)`]);

    const noKey = await checkCertificateFiles({ certFile: tls.rsa.certFile, keyFile: tls.rsa.certFile, caFile: tls.ca.certFile });
    expect(noKey.problems).toEqual([`${tls.rsa.certFile}: no private key found (expected a -----BEGIN PRIVATE KEY----- block)`]);

    const encryptedFile = join(tls.dir, 'encrypted.key');
    await run('openssl', ['pkey', '-in', tls.rsa.keyFile, '-aes128', '-passout', 'pass:secret', '-out', encryptedFile]);
    const encrypted = await checkCertificateFiles({
      certFile: tls.rsa.certFile,
      keyFile: encryptedFile,
      caFile: tls.ca.certFile,
    });
    expect(encrypted.problems).toEqual([
      `${encryptedFile}: the private key is encrypted (a passphrase-protected key is not supported)`,
    ]);

    const damaged = await file('damaged.pem', tls.rsa.certPem.replace(/^(-----BEGIN CERTIFICATE-----\n)(.{10})/, '$1!!!!!!!!!!'));
    const broken = await checkCertificateFiles({ certFile: damaged, keyFile: tls.rsa.keyFile });
    expect(broken.problems).toHaveLength(1);
    expect(broken.problems[0]).toMatch(
      new RegExp(`^${damaged.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: certificate 0 cannot be parsed \\(`),
    );
  });
});
