// TLS towards backends from the command line and from a configuration file, with real
// processes: `--backend HOST:PORT,tls,tls-ca=FILE,tls-sni=NAME` proxies to a node:https
// backend that checks the name it was sent, and `lb-native validate` names the file, the
// line and the field of a bad backend `tls` setting.
import http from 'node:http';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

import { runCleanups } from '../helpers/cleanup.js';
import { CliProcess, ensureBuilt, killSpawnedAfterEach, runCli, startArgs, usageError } from '../helpers/cli.js';
import { configFiles } from '../helpers/config-files.js';
import { startTlsBackend } from '../helpers/tls-backend.js';
import { useTlsFixtures } from '../helpers/use-tls-fixtures.js';

const fixtures = useTlsFixtures({ names: ['backend.test'], ips: ['127.0.0.1'] });
const files = configFiles('lb-backend-tls-');

beforeAll(async () => {
  await ensureBuilt();
}, 150_000);
killSpawnedAfterEach();
afterEach(runCleanups);

describe('lb-native and TLS backends', () => {
  it('start --backend HOST:PORT,tls,tls-ca=FILE,tls-sni=NAME proxies over verified TLS with that SNI', async () => {
    const backend = await startTlsBackend(fixtures.ecdsa, (_req, res) => res.end('over tls'));
    const cli = new CliProcess(startArgs(`${backend.address},tls,tls-ca=${fixtures.ca.certFile},tls-sni=backend.test`));
    const listening = await cli.waitForLog('listening');
    const lbPort = Number(new URL(String(listening.url)).port);
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port: lbPort, agent: false }, (res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => (body += chunk.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        })
        .on('error', reject);
    });
    expect(answer).toEqual({ status: 200, body: 'over tls' });
    expect(backend.connections.map((c) => c.servername)).toEqual(['backend.test']);
  });

  it('validate names the file, line and field of a bad backend tls setting', async () => {
    const bad = files.write('bad-tls.yaml', [
      'listen: 127.0.0.1:8080',
      'backends:',
      '  - address: 127.0.0.1:9001',
      '    tls:',
      '      verify: yes-please',
      '  - address: 127.0.0.1:9002',
      '    tls: { ca: no-such-ca.pem }',
    ]);
    expect(await runCli(['validate', bad])).toMatchObject(
      usageError(
        [
          `${bad}:5: backends[0].tls.verify: expected true or false, got 'yes-please'`,
          `${bad}:7: backends[1].tls.ca: no-such-ca.pem: cannot be read (ENOENT)`,
        ],
        '',
      ),
    );
  });
});
