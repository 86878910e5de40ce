// ACME wired into `lb-native start --config` (src/service/certificates.ts), as real
// processes against Debian's pebble: the balancer process orders its certificate over
// HTTP-01 answered by its own listener, stores it 0600, shows it on the admin API
// (GET /certificates) and in /metrics, keeps its manager over a reload that leaves
// tls.acme alone, restarts it from storage (no order) over one that changes it, and stops
// cleanly. Pebble's HTTPS CA is trusted only by the balancer process under test
// (NODE_EXTRA_CA_CERTS in its environment).
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, beforeAll, describe, expect, it } from 'vitest';

import { runCleanups } from '../helpers/cleanup.js';
import { CliProcess, type LogLine, ensureBuilt, killSpawnedAfterEach, runCli } from '../helpers/cli.js';
import { freePort } from '../helpers/free-port.js';
import { startHttpBackend } from '../helpers/http-backend.js';
import { expectQuietFor, waitUntil } from '../helpers/wait.js';
import { startPebble } from './pebble.js';
import { domains, storageDir } from './support.js';

beforeAll(ensureBuilt, 150_000);
killSpawnedAfterEach();
afterEach(runCleanups);

interface CertificateJson {
  domains: string[];
  issuer?: string;
  notAfter?: string;
  daysLeft?: number;
  nextAttemptAt?: string;
  ordering: boolean;
  failures: number;
  lastResult?: { at: string; ok: boolean; error?: string };
}

async function certificates(admin: string): Promise<CertificateJson[]> {
  const res = await fetch(`${admin}certificates`, { signal: AbortSignal.timeout(5_000) });
  expect(res.status).toBe(200);
  return ((await res.json()) as { certificates: CertificateJson[] }).certificates;
}

function configLines(listenPort: number, backend: string, acme: { email: string; directory: string; storage: string }): string[] {
  return [
    `listen: 127.0.0.1:${listenPort}`,
    'workers: 1',
    `backends: [${backend}]`,
    'admin:',
    '  listen: 127.0.0.1:0',
    'tls:',
    '  acme:',
    `    email: ${acme.email}`,
    `    directory: ${acme.directory}`,
    `    domains: [${domains.join(', ')}]`,
    `    storage: ${acme.storage}`,
  ];
}

const isIssued = (line: LogLine): boolean => line.source === 'issued';

describe('lb-native start --config with tls.acme', () => {
  it('orders at start, shows the certificate on the admin API and /metrics, survives reloads, stops cleanly', async () => {
    const backend = await startHttpBackend('a');
    // pebble must know the balancer's port before it starts: take a free one for both.
    const listenPort = await freePort();
    const pebble = await startPebble({ httpPort: listenPort });
    const storage = storageDir();
    const folder = join(storage, '..');
    const caFile = join(folder, 'pebble-https-ca.pem');
    writeFileSync(caFile, pebble.caPem);
    const configFile = join(folder, 'lb.yaml');
    const acme = { email: 'ops@shop.test', directory: pebble.directory, storage };
    writeFileSync(configFile, `${configLines(listenPort, backend.address, acme).join('\n')}\n`);

    const cli = new CliProcess(['start', '--config', configFile], { NODE_EXTRA_CA_CERTS: caFile });
    const admin = String((await cli.waitForLog('admin-listening')).url);
    expect(cli.logsOf('acme-started')).toHaveLength(1);
    const issued = await cli.waitForLog('certificate', isIssued, 30_000);
    expect(cli.logsOf('certificate-failed')).toEqual([]);
    expect(issued).toMatchObject({ level: 'info', domains });
    // The hand-over to TLS termination is logged until that lands (service/certificates.ts).
    await cli.waitForLog('certificate-not-served');

    // Stored 0600 (folders 0700), the chain and key in the folder of the first name.
    const certFolder = join(storage, 'certificates', domains[0] ?? '');
    expect(readdirSync(certFolder).sort()).toEqual(['certificate.pem', 'domains.json', 'private-key.pem']);
    for (const file of readdirSync(certFolder)) {
      expect([file, statSync(join(certFolder, file)).mode & 0o777]).toEqual([file, 0o600]);
    }
    expect(statSync(certFolder).mode & 0o777).toBe(0o700);

    // GET /certificates: names, issuer, days left, not-after, next attempt, last result.
    const [shown, ...others] = await certificates(admin);
    expect(others).toEqual([]);
    expect(shown).toMatchObject({ domains, ordering: false, failures: 0, lastResult: { ok: true } });
    expect(shown?.issuer).toMatch(/Pebble Intermediate CA/);
    expect(shown?.daysLeft).toBeGreaterThan(14);
    expect(shown?.notAfter).toBe(issued.notAfter);
    // The next attempt is the renewal, at two thirds of the lifetime: days away.
    expect(new Date(shown?.nextAttemptAt ?? 0).getTime()).toBeGreaterThan(Date.now() + 86_400_000);

    const metrics = await (await fetch(`${admin}metrics`, { signal: AbortSignal.timeout(5_000) })).text();
    expect(metrics).toContain('# TYPE lb_certificate_days_left gauge');
    const daysLine = metrics.split('\n').find((line) => line.startsWith('lb_certificate_days_left{'));
    expect(daysLine).toMatch(
      /^lb_certificate_days_left\{domains="shop\.test www\.shop\.test",issuer="[^"]*Pebble Intermediate CA[^"]*"\} \d+(\.\d+)?$/,
    );
    expect(Number(daysLine?.split(' ').at(-1))).toBeCloseTo(shown?.daysLeft ?? 0, 0);
    expect(metrics).toMatch(/^lb_certificate_order_failures\{domains="shop\.test www\.shop\.test",[^}]*\} 0$/m);
    // The balancer's own families are still there.
    expect(metrics).toContain('lb_requests_total');

    // A reload that leaves tls.acme alone keeps the manager: no restart, no order.
    cli.signal('SIGHUP');
    const unchanged = await cli.waitForLog('reload-applied');
    expect((unchanged.changes as string[]).filter((c) => c.includes('acme'))).toEqual([]);
    await expectQuietFor(
      'a restart or an order after a reload without change',
      1_000,
      () => cli.logsOf('acme-started').length > 1 || cli.logsOf('certificate').length > 1 || cli.logsOf('certificate-failed')[0],
    );
    expect((await certificates(admin))[0]?.lastResult).toEqual(shown?.lastResult);

    // A reload that changes it restarts the manager, from storage: pebble is gone, so an
    // order could only fail, and none is tried.
    await pebble.kill();
    writeFileSync(configFile, `${configLines(listenPort, backend.address, { ...acme, email: 'tls@shop.test' }).join('\n')}\n`);
    cli.signal('SIGHUP');
    const changed = await waitUntil('the second reload', () => cli.logsOf('reload-applied')[1], { timeoutMs: 10_000 });
    expect(changed?.changes).toContain(`tls.acme: ${domains.join(' ')} (restarted)`);
    expect(cli.logsOf('acme-started')).toHaveLength(2);
    const fromStorage = cli.logsOf('certificate').at(-1);
    expect(fromStorage).toMatchObject({ source: 'storage', notAfter: issued.notAfter });
    await expectQuietFor('an order after a restart from storage', 1_000, () => cli.logsOf('certificate-failed')[0]);
    expect((await certificates(admin))[0]).toMatchObject({ domains, notAfter: issued.notAfter, failures: 0 });

    cli.signal('SIGTERM');
    const exit = await cli.waitForExit(10_000);
    expect(exit).toMatchObject({ code: 0, signal: null, stderr: '' });
    expect(cli.logsOf('stopped')).toHaveLength(1);
    expect(cli.logs().filter((line) => line.level === 'error' || line.level === 'fatal')).toEqual([]);
  }, 90_000);

  it('a storage folder that cannot be made: start fails naming file, line and path; a reload to one is refused', async () => {
    const backend = await startHttpBackend('a');
    const folder = join(storageDir(), '..');
    // A regular file where a folder should be: no user, root included, can create one below it.
    const blocker = join(folder, 'not-a-folder');
    writeFileSync(blocker, '');
    const bad = { email: 'ops@shop.test', directory: 'https://127.0.0.1:1/dir', storage: join(blocker, 'acme') };
    const configFile = join(folder, 'lb.yaml');
    writeFileSync(configFile, `${configLines(await freePort(), backend.address, bad).join('\n')}\n`);
    const failed = await runCli(['start', '--config', configFile]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toBe(
      `lb-native: ${configFile}:11: tls.acme.storage: expected a folder lb-native can create and write (keys and certificates go there), got ${JSON.stringify(bad.storage)}: ENOTDIR\n`,
    );
    expect(failed.stdout).not.toContain('"msg":"listening"');

    // Running with a good one, a reload to the bad one is refused and the manager goes on.
    const good = { ...bad, storage: join(folder, 'storage') };
    writeFileSync(configFile, `${configLines(await freePort(), backend.address, good).join('\n')}\n`);
    const cli = new CliProcess(['start', '--config', configFile]);
    await cli.waitForLog('admin-listening');
    writeFileSync(configFile, `${configLines(await freePort(), backend.address, bad).join('\n')}\n`);
    cli.signal('SIGHUP');
    const refused = await cli.waitForLog('reload-refused');
    expect(refused.errors).toEqual([
      `${configFile}:11: tls.acme.storage: expected a folder lb-native can create and write (keys and certificates go there), got ${JSON.stringify(bad.storage)}: ENOTDIR`,
    ]);
    expect(cli.logsOf('acme-started')).toHaveLength(1);
    cli.signal('SIGTERM');
    expect(await cli.waitForExit(10_000)).toMatchObject({ code: 0, stderr: '' });
  }, 30_000);
});
