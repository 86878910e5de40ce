// The CLI's HTTP/2 flags on a real process: --h2c makes a plain listener take HTTP/2 with
// prior knowledge beside HTTP/1.1; --no-http2 makes a TLS listener offer only http/1.1;
// a value given to either flag is a usage error.
import { execFile } from 'node:child_process';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

import { runCleanups } from '../helpers/cleanup.js';
import { CliProcess, ensureBuilt, killSpawnedAfterEach, runCli, startArgs, usageError } from '../helpers/cli.js';
import { externalProgramEnv } from '../helpers/external-env.js';
import { useTlsFixtures } from '../helpers/use-tls-fixtures.js';
import { startH2Backend } from './h2-backend.js';

const run = promisify(execFile);
const fixtures = useTlsFixtures();

beforeAll(async () => {
  await ensureBuilt();
}, 120_000);

killSpawnedAfterEach();
afterEach(async () => {
  await runCleanups();
});

async function start(args: string[]): Promise<{ cli: CliProcess; port: number }> {
  const cli = new CliProcess(args);
  const listening = await cli.waitForLog('listening');
  return { cli, port: Number(new URL(String(listening.url)).port) };
}

describe('lb-native start and HTTP/2', () => {
  it('--h2c: curl with prior knowledge gets HTTP/2, plain curl HTTP/1.1, on one port', async () => {
    const backend = await startH2Backend();
    const { cli, port } = await start(startArgs(`127.0.0.1:${backend.port}`, '--h2c'));
    const env = externalProgramEnv();
    const h2 = await run(
      'curl',
      ['-sS', '--http2-prior-knowledge', '-H', 'x-test-id: cli-h2c', '-w', '\n%{http_version}', `http://127.0.0.1:${port}/a`],
      { env, timeout: 10_000 },
    );
    expect(h2.stdout.split('\n')[1]).toBe('2');
    const h1 = await run('curl', ['-sS', '-H', 'x-test-id: cli-h1', '-w', '\n%{http_version}', `http://127.0.0.1:${port}/b`], {
      env,
      timeout: 10_000,
    });
    expect(h1.stdout.split('\n')[1]).toBe('1.1');
    expect(backend.seen.get('cli-h2c')?.path).toBe('/a');
    expect(backend.seen.get('cli-h1')?.path).toBe('/b');
    cli.signal('SIGTERM');
    expect(await cli.waitForExit()).toMatchObject({ code: 0 });
  }, 30_000);

  it('--no-http2: a TLS listener offers only http/1.1', async () => {
    const backend = await startH2Backend();
    const args = startArgs(
      `127.0.0.1:${backend.port}`,
      '--tls-cert',
      fixtures.ecdsa.chainFile,
      '--tls-key',
      fixtures.ecdsa.keyFile,
      '--no-http2',
    );
    const { cli, port } = await start(args);
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      ca: fixtures.ca.certPem,
      servername: 'localhost',
      ALPNProtocols: ['h2', 'http/1.1'],
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', () => resolve());
      socket.once('error', reject);
    });
    expect(socket.alpnProtocol).toBe('http/1.1');
    socket.destroy();
    cli.signal('SIGTERM');
    expect(await cli.waitForExit()).toMatchObject({ code: 0 });
  }, 30_000);

  it('refuses a value given to --h2c', async () => {
    const result = await runCli(startArgs('127.0.0.1:9', '--h2c=yes'));
    expect(result).toMatchObject(usageError(["--h2c: takes no value, got 'yes'"]));
  });
});
