// The CLI with TLS: `start --tls-cert/--tls-key` serves HTTPS and re-reads the files on
// SIGHUP (a bad file keeps the old certificate and the log says why); `validate` checks a
// configuration file's certificates and says how many days each has left.
import { copyFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

import { runCleanups } from '../helpers/cleanup.js';
import { startHttpBackend } from '../helpers/http-backend.js';
import type { FixtureCertificate } from '../helpers/tls-fixtures.js';
import { useTlsFixtures } from '../helpers/use-tls-fixtures.js';
import { waitUntil } from '../helpers/wait.js';
import { CliProcess, ensureBuilt, killSpawnedAfterEach, runCli, startArgs } from '../helpers/cli.js';

const fixtures = useTlsFixtures();
let replacement: FixtureCertificate;

beforeAll(async () => {
  await ensureBuilt();
  replacement = await fixtures.issue({ names: ['localhost'], ips: ['127.0.0.1'], fileName: 'cli-replacement' });
}, 150_000);
killSpawnedAfterEach();
afterEach(runCleanups);

function fingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: fixtures.ca.certPem }, () => {
      const cert = socket.getPeerX509Certificate();
      socket.end();
      resolve(cert?.fingerprint256 ?? '');
    });
    socket.on('error', reject);
  });
}

describe('lb-native start --tls-cert --tls-key', () => {
  it('serves HTTPS and re-reads the files on SIGHUP; a bad file keeps the old certificate', async () => {
    const backend = await startHttpBackend('a');
    const cert = join(fixtures.dir, 'cli.chain.pem');
    const key = join(fixtures.dir, 'cli.key.pem');
    await copyFile(fixtures.ecdsa.chainFile, cert);
    await copyFile(fixtures.ecdsa.keyFile, key);
    const cli = new CliProcess(startArgs(backend.address, '--tls-cert', cert, '--tls-key', key));
    const listening = await cli.waitForLog('listening');
    expect(String(listening.url)).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/$/);
    const port = Number(new URL(String(listening.url)).port);
    const first = await fingerprint(port);

    await writeFile(key, 'garbage\n');
    cli.signal('SIGHUP');
    const refused = await cli.waitForLog('reload-refused');
    expect(JSON.stringify(refused.errors)).toContain(`${key}: expected a PEM private key`);
    expect(await fingerprint(port)).toBe(first);

    await copyFile(replacement.chainFile, cert);
    await copyFile(replacement.keyFile, key);
    cli.signal('SIGHUP');
    await cli.waitForLog('reload-applied');
    await waitUntil('the new certificate', async () => (await fingerprint(port)) !== first);
  });

  it('--hsts adds Strict-Transport-Security; --redirect-https sends a plain listener to HTTPS', async () => {
    const backend = await startHttpBackend('a');
    const tlsCli = new CliProcess(
      startArgs(backend.address, '--tls-cert', fixtures.ecdsa.chainFile, '--tls-key', fixtures.ecdsa.keyFile, '--hsts', '3600'),
    );
    const tlsPort = Number(new URL(String((await tlsCli.waitForLog('listening')).url)).port);
    const hsts = await new Promise<string | undefined>((resolve, reject) => {
      https
        .get({ host: '127.0.0.1', port: tlsPort, servername: 'localhost', ca: fixtures.ca.certPem }, (res) => {
          res.resume();
          resolve(res.headers['strict-transport-security']);
        })
        .on('error', reject);
    });
    expect(hsts).toBe('max-age=3600');

    const plainCli = new CliProcess(startArgs(backend.address, '--redirect-https'));
    const plainPort = Number(new URL(String((await plainCli.waitForLog('listening')).url)).port);
    const answer = await new Promise<{ status?: number; location?: string }>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port: plainPort, path: '/p?q=1', headers: { host: 'site.test' } }, (res) => {
          res.resume();
          resolve({ status: res.statusCode, location: res.headers.location });
        })
        .on('error', reject);
    });
    expect(answer).toEqual({ status: 308, location: 'https://site.test/p?q=1' });
  });

  it('refuses an unpaired --tls-cert', async () => {
    const result = await runCli(['start', '--backend', '127.0.0.1:9', '--tls-cert', fixtures.ecdsa.chainFile]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('--tls-cert and --tls-key come in pairs: got 1 --tls-cert and 0 --tls-key');
  });
});

describe('lb-native validate with tls', () => {
  it("prints each certificate's names and days left, and fails on a key that does not match", async () => {
    // The chain ends at its root, in the file: complete without the system's trust store.
    const fullChain = join(fixtures.dir, 'validate-full-chain.pem');
    await writeFile(fullChain, fixtures.rsa.chainPem + fixtures.ca.certPem);
    const good = join(fixtures.dir, 'validate-good.yaml');
    await writeFile(
      good,
      [
        'listen: 127.0.0.1:0',
        'backends: [127.0.0.1:9]',
        'tls:',
        '  certificates:',
        `    - cert: ${fullChain}`,
        `      key: ${fixtures.rsa.keyFile}`,
        '',
      ].join('\n'),
    );
    const ok = await runCli(['validate', good]);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/tls\.certificates\[0\]: \[0\] localhost, 127\.0\.0\.1 \(rsa 2048\), (29|30) days left/);

    const bad = join(fixtures.dir, 'validate-bad.yaml');
    await writeFile(
      bad,
      [
        'listen: 127.0.0.1:0',
        'backends: [127.0.0.1:9]',
        'tls:',
        '  certificates:',
        `    - cert: ${fixtures.rsa.chainFile}`,
        `      key: ${fixtures.ecdsa.keyFile}`,
        '',
      ].join('\n'),
    );
    const refused = await runCli(['validate', bad]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(
      `${fixtures.ecdsa.keyFile}: the private key does not match the certificate in ${fixtures.rsa.chainFile}`,
    );
  });
});
