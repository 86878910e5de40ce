// TLS towards backends from the command line and from a configuration file, with real
// processes: `--backend HOST:PORT,tls,tls-ca=FILE,tls-sni=NAME` proxies to a node:https
// backend that checks the name it was sent, and `lb-native validate` names the file, the
// line and the field of a bad backend `tls` setting.
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { onCleanup, runCleanups } from '../helpers/cleanup.js';
import { CliProcess, ensureBuilt, killSpawnedAfterEach, runCli, usageError } from '../helpers/cli.js';
import { configFiles } from '../helpers/config-files.js';
import { createTlsFixtures, type TlsFixtures } from '../helpers/tls-fixtures.js';

let fixtures: TlsFixtures;
const files = configFiles('lb-backend-tls-');

beforeAll(async () => {
  await ensureBuilt();
  fixtures = await createTlsFixtures({ names: ['backend.test'], ips: ['127.0.0.1'] });
}, 150_000);
afterAll(async () => {
  await fixtures.cleanup();
});
killSpawnedAfterEach();
afterEach(runCleanups);

describe('lb-native and TLS backends', () => {
  it('start --backend HOST:PORT,tls,tls-ca=FILE,tls-sni=NAME proxies over verified TLS with that SNI', async () => {
    const names: Array<string | false | null> = [];
    const server = https.createServer({ cert: fixtures.ecdsa.chainPem, key: fixtures.ecdsa.keyPem }, (_req, res) =>
      res.end('over tls'),
    );
    server.on('secureConnection', (socket: TLSSocket) => names.push(socket.servername));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    onCleanup(
      () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    );
    const port = (server.address() as AddressInfo).port;
    const cli = new CliProcess([
      'start',
      '--listen',
      '127.0.0.1:0',
      '--workers',
      '1',
      '--backend',
      `127.0.0.1:${port},tls,tls-ca=${fixtures.ca.certFile},tls-sni=backend.test`,
    ]);
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
    expect(names).toEqual(['backend.test']);
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
