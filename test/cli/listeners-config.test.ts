// The `listeners` section of a configuration file, through the real binary: `lb-native
// validate` describes the listeners, checks the certificates of each TLS one, and names
// file, line and field for what it refuses (listeners beside the one-listener form, two
// ACME sections that differ); `lb-native start` binds every listener.
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

import { configFiles } from '../helpers/config-files.js';
import { CliProcess, ensureBuilt, killSpawnedAfterEach, runCli, usageError } from '../helpers/cli.js';
import { startHttpBackend } from '../helpers/http-backend.js';
import { runCleanups } from '../helpers/cleanup.js';
import { createTlsFixtures } from '../helpers/tls-fixtures.js';
import { afterEach } from 'vitest';

beforeAll(ensureBuilt, 150_000);
killSpawnedAfterEach();
afterEach(runCleanups);

const { write: file } = configFiles('lb-listeners-');

describe('listeners in a configuration file', () => {
  it('validate describes each listener and checks the certificates of the TLS one', async () => {
    const tls = await createTlsFixtures({ names: ['localhost'], ips: ['127.0.0.1'] });
    try {
      // The chain up to the root, as validate wants it complete.
      const fullChain = file('full-chain.pem', [tls.ecdsa.chainPem + tls.ca.certPem]);
      const good = file('two.yaml', [
        'backends: [127.0.0.1:9001]',
        'listeners:',
        '  - listen: 0.0.0.0:8080',
        '    httpsRedirect: { status: 301, port: 8443 }',
        '  - listen: 0.0.0.0:8443',
        '    tls:',
        `      certificates: [{ cert: ${fullChain}, key: ${tls.ecdsa.keyFile} }]`,
      ]);
      const result = await runCli(['validate', good]);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(result.stdout).toContain(`${good}: listeners[1].tls.certificates[0]: [0] localhost, 127.0.0.1 (prime256v1)`);
      expect(result.stdout).toContain(
        'ok: 1 backend, mode http, 2 listeners: 0.0.0.0:8080 (plain, redirects to https), 0.0.0.0:8443 (tls)\n',
      );
    } finally {
      await tls.cleanup();
    }
  });

  it('validate refuses listeners beside listen or tls, and two acme sections that differ, naming line and field', async () => {
    const both = file('both.yaml', [
      'listen: 127.0.0.1:8080',
      'backends: [127.0.0.1:9001]',
      'listeners:',
      '  - listen: 127.0.0.1:8081',
    ]);
    expect(await runCli(['validate', both])).toMatchObject(
      usageError(
        [
          `${both}:3: listeners: give either listeners or the one-listener form (listen, tls, httpsRedirect), not both; found listen beside listeners`,
        ],
        '',
      ),
    );
    const acme = (email: string) => [
      '    tls:',
      '      acme:',
      `        email: ${email}`,
      '        directory: https://127.0.0.1:14000/dir',
      '        domains: [shop.test]',
      `        storage: ${join(dirname(both), 'acme-storage')}`,
    ];
    const twoAcme = file('acme.yaml', [
      'backends: [127.0.0.1:9001]',
      'listeners:',
      '  - listen: 127.0.0.1:8443',
      ...acme('a@shop.test'),
      '  - listen: 127.0.0.1:9443',
      ...acme('b@shop.test'),
    ]);
    expect(await runCli(['validate', twoAcme])).toMatchObject(
      usageError(
        [
          `${twoAcme}:12: listeners[1].tls.acme: differs from listeners[0].tls.acme; a balancer runs one ACME account and certificate, so give the same section`,
        ],
        '',
      ),
    );
  });

  it('start binds every listener and proxies on each', async () => {
    const backend = await startHttpBackend('app');
    const config = file('start.yaml', [
      'workers: 2',
      `backends: [${backend.address}]`,
      'listeners:',
      '  - listen: 127.0.0.1:0',
      '  - listen: 127.0.0.1:0',
    ]);
    const cli = new CliProcess(['start', '--config', config]);
    const listening = await cli.waitForLog('listening');
    const urls = listening.listeners as string[];
    expect(urls).toHaveLength(2);
    for (const url of urls) {
      const res = await fetch(`${url}hello`, { signal: AbortSignal.timeout(5_000) });
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('app GET /hello');
    }
    expect(new Set(urls).size).toBe(2);
  });
});
