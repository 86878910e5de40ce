// Renewal against pebble issuing short-lived certificates: the manager renews at two
// thirds of the lifetime (a new order, answered again by the native responder), raises
// 'certificate-expiring' for a certificate with 14 days or fewer left, and when the ACME
// server is down keeps the certificate in service, retries with growing waits, and
// renews once the server is back.
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { runCleanups } from '../helpers/cleanup.js';
import { waitUntil } from '../helpers/wait.js';
import { startPebble } from './pebble.js';
import { domains, managerFor, startEdge, storageDir } from './support.js';

afterEach(runCleanups);

// Long enough for an order to finish well inside it on a busy machine, short enough
// that two thirds of it pass quickly.
const validitySeconds = 12;

describe('renewal', () => {
  it('renews at two thirds of the lifetime and raises certificate-expiring', async () => {
    const { lb } = await startEdge();
    const pebble = await startPebble({ httpPort: lb.port, validitySeconds });
    const storage = storageDir();
    const { manager, recorded } = managerFor(lb, {
      config: { email: 'ops@shop.test', directory: pebble.directory, domains, storage },
      directoryCa: pebble.caPem,
    });
    await manager.start();
    await waitUntil('a renewal', () => recorded.of('certificate-renewed').length > 0 || recorded.of('certificate-failed')[0], {
      timeoutMs: 45_000,
    });
    expect(recorded.of('certificate-failed').map((f) => f.error.message)).toEqual([]);
    const [first, second] = recorded.of('certificate');
    const firstLeaf = new X509Certificate(first?.certPem ?? '');
    const secondLeaf = new X509Certificate(second?.certPem ?? '');
    expect(secondLeaf.serialNumber).not.toBe(firstLeaf.serialNumber);
    expect(secondLeaf.subjectAltName).toBe(firstLeaf.subjectAltName);
    // Not before two thirds of the first one's lifetime (a second of rounding either way:
    // X.509 times have whole seconds).
    const from = Date.parse(firstLeaf.validFrom);
    const to = Date.parse(firstLeaf.validTo);
    const renewedAt = Date.parse(secondLeaf.validFrom);
    expect(renewedAt).toBeGreaterThanOrEqual(from + ((to - from) * 2) / 3 - 2_000);
    // The renewal asked the balancer again: two orders, each publishing its tokens.
    const withTokens = recorded.tables.filter((t) => t !== null && Object.keys(t).length > 0);
    expect(new Set(withTokens.flatMap((t) => Object.keys(t ?? {}))).size).toBe(2 * domains.length);
    const [renewed] = recorded.of('certificate-renewed');
    expect(renewed?.notAfter.getTime()).toBe(Date.parse(secondLeaf.validTo));
    // Twelve seconds is well under fourteen days: each certificate is reported once.
    const expiring = recorded.of('certificate-expiring');
    expect(expiring.length).toBeGreaterThanOrEqual(1);
    expect(expiring[0]?.daysLeft).toBeLessThan(1);
    expect(manager.certificate()?.certPem).toBe(second?.certPem);
    expect(readFileSync(join(storage, 'certificates', domains[0] ?? '', 'certificate.pem'), 'utf8')).toBe(
      manager.certificate()?.certPem,
    );
  }, 60_000);

  it('keeps the certificate in service while the ACME server is down, backs off, and renews when it is back', async () => {
    const { lb } = await startEdge();
    const pebble = await startPebble({ httpPort: lb.port, validitySeconds: 3600 });
    const storage = storageDir();
    const backoff = { minMs: 300, maxMs: 2_000 };
    const { manager, recorded } = managerFor(lb, {
      config: { email: 'ops@shop.test', directory: pebble.directory, domains, storage },
      directoryCa: pebble.caPem,
      backoff,
    });
    await manager.start();
    await waitUntil(
      'the first certificate',
      () => recorded.of('certificate').length > 0 || recorded.of('certificate-failed')[0],
      {
        timeoutMs: 30_000,
      },
    );
    const inService = manager.certificate();
    expect(inService).toBeDefined();

    await pebble.kill();
    // The renewal is due: it fails, again and again, each wait longer than the last (up to
    // the cap), and the certificate in service and the one stored stay.
    expect(await manager.renewNow()).toBe(false);
    await waitUntil('three failures in a row', () => recorded.of('certificate-failed').length >= 3, { timeoutMs: 30_000 });
    const failed = recorded.of('certificate-failed');
    expect(failed.map((f) => f.failures).slice(0, 3)).toEqual([1, 2, 3]);
    // Each wait is its full value less at most a quarter (jitter): 300, 600, 1200 ms.
    failed.slice(0, 3).forEach((f, i) => {
      const full = Math.min(backoff.minMs * 2 ** i, backoff.maxMs);
      expect(f.retryInMs).toBeGreaterThanOrEqual(full * 0.75);
      expect(f.retryInMs).toBeLessThanOrEqual(full);
    });
    expect(manager.certificate()).toEqual(inService);
    expect(manager.status().lastResult?.ok).toBe(false);
    expect(manager.status().failures).toBeGreaterThanOrEqual(3);
    expect(readFileSync(join(storage, 'certificates', domains[0] ?? '', 'certificate.pem'), 'utf8')).toBe(inService?.certPem);
    expect(recorded.of('certificate-renewed')).toEqual([]);

    // Back: the next retry renews (a fresh pebble: the stored account key registers again).
    await pebble.restart();
    await waitUntil('the renewal after the outage', () => recorded.of('certificate-renewed').length > 0, { timeoutMs: 30_000 });
    expect(manager.certificate()?.certPem).not.toBe(inService?.certPem);
    expect(manager.status().failures).toBe(0);
    expect(manager.status().lastResult?.ok).toBe(true);
  }, 90_000);
});
