// SIGTERM with --config and an admin server: no new connections, in-flight requests
// finish, idle keep-alive connections close, the admin server closes, exit 0; a second
// signal exits at once.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { onCleanup, runCleanups } from '../helpers/cleanup.js';
import { startHttpBackend } from '../helpers/http-backend.js';
import { waitUntil } from '../helpers/wait.js';
import { CliProcess, ensureBuilt, killSpawnedAfterEach, parseLogLines } from '../helpers/cli.js';

beforeAll(ensureBuilt, 150_000);
killSpawnedAfterEach();
afterEach(runCleanups);

const dir = mkdtempSync(join(tmpdir(), 'lb-shutdown-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Resolves with the error code of a connection attempt, or 'connected'. */
function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
  });
}

async function startFromFile(name: string, backend: string) {
  const config = join(dir, name);
  writeFileSync(
    config,
    ['listen: 127.0.0.1:0', 'workers: 2', `backends: [${backend}]`, 'admin: { listen: "127.0.0.1:0" }', ''].join('\n'),
  );
  const cli = new CliProcess(['start', '--config', config]);
  const listening = await cli.waitForLog('listening');
  const admin = await cli.waitForLog('admin-listening');
  return { cli, port: Number(listening.port), adminPort: Number(new URL(String(admin.url)).port) };
}

describe('SIGTERM with --config and the admin server', () => {
  it('drains: in-flight requests finish, nothing new is accepted, idle keep-alives and the admin server close, exit 0', async () => {
    const slow = await startHttpBackend('slow', { delayMs: (req) => (req.url === '/slow' ? 1_000 : 0) });
    const { cli, port, adminPort } = await startFromFile('drain.yaml', slow.address);

    // An idle keep-alive client connection, and a request in flight.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    onCleanup(() => agent.destroy());
    await new Promise<void>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port, path: '/warm', agent }, (res) => res.resume().on('end', resolve)).on('error', reject);
    });
    const idle = Object.values(agent.freeSockets)[0]?.[0];
    expect(idle).toBeDefined();
    const idleClosed = new Promise<void>((resolve) => idle!.once('close', () => resolve()));
    const inFlight = new Promise<{ status: number; body: string }>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path: '/slow', agent: false }, (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        })
        .on('error', reject);
    });
    await waitUntil('the slow request at the backend', () => slow.inFlight === 1);

    const signalled = Date.now();
    cli.signal('SIGTERM');
    await cli.waitForLog('stopping');
    await waitUntil('the listener closed', async () => (await tryConnect(port)) === 'ECONNREFUSED');
    await waitUntil('the admin server closed', async () => (await tryConnect(adminPort)) === 'ECONNREFUSED');
    await idleClosed;
    expect(await inFlight).toEqual({ status: 200, body: 'slow GET /slow id=' });
    const result = await cli.waitForExit();
    expect(Date.now() - signalled).toBeGreaterThanOrEqual(900);
    expect(result).toMatchObject({ code: 0, signal: null, stderr: '' });
    const lines = parseLogLines(result.stdout);
    expect(lines.slice(-2)).toEqual([
      expect.objectContaining({ msg: 'stopping', signal: 'SIGTERM' }),
      expect.objectContaining({ msg: 'stopped', requests: 2 }),
    ]);
  });

  it('a second signal exits at once, admin server and all', async () => {
    let arrived!: () => void;
    const requestArrived = new Promise<void>((resolve) => (arrived = resolve));
    const silent = http.createServer(() => arrived());
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    onCleanup(() => {
      silent.closeAllConnections();
      return new Promise<void>((resolve) => silent.close(() => resolve()));
    });
    const { cli, port, adminPort } = await startFromFile(
      'force.yaml',
      `127.0.0.1:${(silent.address() as { port: number }).port}`,
    );
    const pending = new Promise<void>((resolve) => {
      http.get({ host: '127.0.0.1', port, path: '/', agent: false }, () => resolve()).on('error', () => resolve());
    });
    await requestArrived;
    cli.signal('SIGTERM');
    await cli.waitForLog('stopping');
    const started = Date.now();
    cli.signal('SIGINT');
    const result = await cli.waitForExit(5_000);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(result.code).toBe(130);
    expect(parseLogLines(result.stdout).at(-1)).toMatchObject({ level: 'warn', signal: 'SIGINT' });
    expect(await tryConnect(adminPort)).toBe('ECONNREFUSED');
    await pending;
  });
});
