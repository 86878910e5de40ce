// ACME end to end against Debian's pebble: the AcmeManager orders a certificate over
// HTTP-01, pebble validates it on the balancer's plain listener and the balancer's native
// responder answers; the certificate and keys land in storage with 0600/0700; a second
// manager on the same storage serves the stored certificate without a new order (pebble
// is down by then, so an order could only fail).
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, beforeAll, describe, expect, it } from 'vitest';

import { certificateMetrics } from '../../src/admin/certificate-metrics.js';
import { ensureBuilt, runCli } from '../helpers/cli.js';
import { runCleanups } from '../helpers/cleanup.js';
import { expectQuietFor, waitUntil } from '../helpers/wait.js';
import { startPebble } from './pebble.js';
import { domains, managerFor, startEdge, storageDir } from './support.js';

beforeAll(ensureBuilt, 150_000);
afterEach(runCleanups);

function mode(path: string): number {
  return statSync(path).mode & 0o777;
}

describe('first issuance over HTTP-01', () => {
  it('gets a certificate for every name, answered by the native responder, stored 0600 in 0700 folders', async () => {
    const { lb, backend } = await startEdge();
    const pebble = await startPebble({ httpPort: lb.port });
    const storage = storageDir();
    // A storage folder made with wider permissions is narrowed, not trusted as it is.
    mkdirSync(storage, { recursive: true, mode: 0o755 });
    const { manager, recorded } = managerFor(lb, {
      config: { email: 'ops@shop.test', directory: pebble.directory, domains, storage },
      directoryCa: pebble.caPem,
    });
    await manager.start();
    await waitUntil(
      'the first certificate',
      () => recorded.of('certificate').length > 0 || recorded.of('certificate-failed')[0],
      {
        timeoutMs: 30_000,
      },
    );
    expect(recorded.of('certificate-failed').map((f) => f.error.message)).toEqual([]);
    const [issued] = recorded.of('certificate');
    expect(issued?.source).toBe('issued');
    expect(issued?.domains).toEqual(domains);

    const leaf = new X509Certificate(issued?.certPem ?? '');
    expect(leaf.subjectAltName?.split(', ').sort()).toEqual(domains.map((d) => `DNS:${d}`).sort());
    expect(leaf.issuer).toMatch(/Pebble Intermediate CA/);
    expect(leaf.checkPrivateKey(createPrivateKey(issued?.keyPem ?? ''))).toBe(true);
    expect(new Date(leaf.validTo).getTime()).toBe(issued?.notAfter.getTime());

    // pebble validated each name against the balancer: one token per name was published,
    // answered by the workers, and nothing under the challenge path reached the backend.
    const published = recorded.tables.filter((t): t is Record<string, string> => t !== null);
    const tokens = new Set(published.flatMap((t) => Object.keys(t)));
    expect(tokens.size).toBe(domains.length);
    expect(published.at(-1)).toEqual({}); // cleared after the order, path still owned
    expect(backend.requests().filter((r) => r.target.startsWith('/.well-known/'))).toEqual([]);
    expect(lb.stats().responses2xx).toBeGreaterThanOrEqual(domains.length);

    const status = manager.status();
    expect(status.issuer).toMatch(/Pebble Intermediate CA/);
    expect(status.daysLeft).toBeGreaterThan(14);
    expect(status.lastResult?.ok).toBe(true);
    const metrics = certificateMetrics([status]);
    const daysLine = metrics.split('\n').find((line) => line.startsWith('lb_certificate_days_left{'));
    expect(daysLine).toMatch(
      /^lb_certificate_days_left\{domains="shop\.test www\.shop\.test",issuer="[^"]*Pebble Intermediate CA[^"]*"\} \d+(\.\d+)?$/,
    );
    expect(Number(daysLine?.split(' ').at(-1))).toBeCloseTo(status.daysLeft ?? 0, 1);
    expect(metrics).toContain('lb_certificate_order_failures{domains="shop.test www.shop.test"');

    // Storage: folders 0700, files 0600, the stored chain and key the ones in service.
    const certFolder = join(storage, 'certificates', domains[0] ?? '');
    expect(mode(storage)).toBe(0o700);
    expect(mode(certFolder)).toBe(0o700);
    expect(mode(join(storage, 'certificates'))).toBe(0o700);
    for (const file of readdirSync(certFolder)) expect([file, mode(join(certFolder, file))]).toEqual([file, 0o600]);
    const [account] = readdirSync(join(storage, 'accounts'));
    const accountFolder = join(storage, 'accounts', account ?? '');
    expect(mode(accountFolder)).toBe(0o700);
    expect(mode(join(accountFolder, 'key.pem'))).toBe(0o600);
    expect(readFileSync(join(certFolder, 'certificate.pem'), 'utf8')).toBe(issued?.certPem);
    expect(readFileSync(join(certFolder, 'private-key.pem'), 'utf8')).toBe(issued?.keyPem);
    // No temporary file left behind by the writes.
    expect(readdirSync(certFolder).sort()).toEqual(['certificate.pem', 'domains.json', 'private-key.pem']);

    // `lb-native certs` lists it from the storage the file names.
    const configFile = join(storage, '..', 'lb.yaml');
    writeFileSync(
      configFile,
      [
        'backends: [127.0.0.1:9001]',
        'tls:',
        '  acme:',
        '    email: ops@shop.test',
        `    domains: [${domains.join(', ')}]`,
        `    storage: ${storage}`,
        '',
      ].join('\n'),
    );
    const listed = await runCli(['certs', configFile]);
    expect(listed).toMatchObject({ code: 0, stderr: '' });
    expect(listed.stdout).toMatch(
      new RegExp(
        `^shop\\.test www\\.shop\\.test  issuer: [^\\n]*Pebble Intermediate CA[^\\n]*  expires: ${issued?.notAfter.toISOString()}  days left: \\d+\\.\\d\\n$`,
      ),
    );

    // Restart from storage: pebble is gone, so a new order could only fail.
    manager.stop();
    await pebble.kill();
    const again = managerFor(lb, {
      config: { email: 'ops@shop.test', directory: pebble.directory, domains, storage },
      directoryCa: pebble.caPem,
      backoff: { minMs: 100, maxMs: 200 },
    });
    await again.manager.start();
    const [fromStorage] = again.recorded.of('certificate');
    expect(fromStorage?.source).toBe('storage');
    expect(fromStorage?.certPem).toBe(issued?.certPem);
    expect(fromStorage?.keyPem).toBe(issued?.keyPem);
    expect(again.manager.status().nextAttemptAt?.getTime()).toBeGreaterThan(Date.now() + 86_400_000);
    await expectQuietFor('an order after a restart from storage', 1_500, () =>
      again.recorded.events.find((e) => e.name !== 'certificate'),
    );
  }, 60_000);
});
