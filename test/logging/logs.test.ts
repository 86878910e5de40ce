// Logs of `lb-native start`: JSON lines on stdout (pino) for lifecycle events, access-log
// lines when sampled, the log level honoured, and no secret in any line.
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { connect } from 'node:net';
import { Writable } from 'node:stream';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

import { createLogger } from '../../src/logging/logger.js';
import { configFiles } from '../helpers/config-files.js';
import { runCleanups, onCleanup } from '../helpers/cleanup.js';
import { startHttpBackend } from '../helpers/http-backend.js';
import { CliProcess, type LogLine, ensureBuilt, killSpawnedAfterEach, parseLogLines, runCli, startArgs } from '../helpers/cli.js';
import { freePort } from '../helpers/free-port.js';

beforeAll(ensureBuilt, 150_000);
killSpawnedAfterEach();
afterEach(runCleanups);

const { write: file } = configFiles('lb-logging-');

async function fetchText(url: string): Promise<string> {
  return (await fetch(url, { signal: AbortSignal.timeout(5_000) })).text();
}

/** GET `url`, retrying refused connections for up to 10 s (for a process that logs nothing). */
async function fetchWhenUp(url: string): Promise<string> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      return await fetchText(url);
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** Every line has the fields every line has. */
function expectWellFormed(lines: LogLine[]): void {
  for (const line of lines) {
    expect(['error', 'warn', 'info', 'debug']).toContain(line.level);
    expect(Number.isNaN(Date.parse(line.time))).toBe(false);
    expect(line.pid).toEqual(expect.any(Number));
    expect(line.msg).toEqual(expect.any(String));
  }
}

describe('lifecycle logs', () => {
  it('one JSON line per event, from start to stop', async () => {
    let status = 200;
    const flaky = createServer((req, res) => {
      res.statusCode = req.url === '/healthz' ? status : 200;
      res.end('flaky');
    });
    await new Promise<void>((resolve) => flaky.listen(0, '127.0.0.1', resolve));
    onCleanup(() => new Promise<void>((resolve) => flaky.close(() => resolve())));
    const flakyAddress = `127.0.0.1:${(flaky.address() as { port: number }).port}`;
    const other = await startHttpBackend('other');
    const config = file('lifecycle.yaml', [
      'listen: 127.0.0.1:0',
      'workers: 1',
      `backends: [${flakyAddress}]`,
      'healthCheck: { path: /healthz, intervalMs: 20, rise: 1, fall: 1 }',
      'admin: { listen: "127.0.0.1:0" }',
    ]);
    const cli = new CliProcess(['start', '--config', config]);
    await cli.waitForLog('admin-listening');
    status = 503;
    await cli.waitForLog('backend-down');
    status = 200;
    await cli.waitForLog('backend-up');
    writeFileSync(
      config,
      ['listen: 127.0.0.1:0', 'workers: 1', `backends: [${other.address}]`, 'admin: { listen: "127.0.0.1:0" }', ''].join('\n'),
    );
    cli.signal('SIGHUP');
    await cli.waitForLog('backend-removed');
    cli.signal('SIGTERM');
    const result = await cli.waitForExit();
    expect(result).toMatchObject({ code: 0, stderr: '' });

    const lines = parseLogLines(result.stdout);
    expectWellFormed(lines);
    expect(lines.map((l) => l.msg)).toEqual([
      'listening',
      'admin-listening',
      'backend-down',
      'backend-up',
      'reload-requested',
      'reload-applied',
      'backend-removed',
      'stopping',
      'stopped',
    ]);
    const byMsg = (msg: string) => lines.find((l) => l.msg === msg);
    expect(byMsg('listening')).toMatchObject({ level: 'info', mode: 'http', strategy: 'round-robin', backends: 1, workers: 1 });
    expect(byMsg('backend-down')).toMatchObject({
      level: 'warn',
      backend: flakyAddress,
      id: 0,
      reason: 'status 503 (expected 200-399)',
    });
    expect(byMsg('backend-up')).toMatchObject({ level: 'info', backend: flakyAddress, id: 0 });
    expect(byMsg('reload-applied')).toMatchObject({
      level: 'info',
      origin: config,
      changes: [`backend added: ${other.address}`, `backend removed (draining): ${flakyAddress}`, 'changed: healthCheck'],
    });
    expect(byMsg('backend-removed')).toMatchObject({ backend: flakyAddress, id: 0 });
    expect(byMsg('stopping')).toMatchObject({ signal: 'SIGTERM' });
    expect(byMsg('stopped')).toMatchObject({ requests: 0 });
  });

  it('logging.level in the file leaves out lower levels; --log-level wins over it', async () => {
    const a = await startHttpBackend('a');
    const port = await freePort();
    const warnFile = file('warn.yaml', [
      `listen: 127.0.0.1:${port}`,
      'workers: 1',
      `backends: [${a.address}]`,
      'logging: { level: warn }',
    ]);
    const quiet = new CliProcess(['start', '--config', warnFile]);
    // The quiet one logs nothing at info: it is up once it answers.
    expect(await fetchWhenUp(`http://127.0.0.1:${port}/`)).toMatch(/^a GET/);
    const loud = new CliProcess(['start', '--config', warnFile, '--log-level', 'debug', '--listen', '127.0.0.1:0']);
    await loud.waitForLog('listening');
    expect(loud.logsOf('config')).toHaveLength(1);
    for (const cli of [quiet, loud]) cli.signal('SIGTERM');
    const [q, l] = await Promise.all([quiet.waitForExit(), loud.waitForExit()]);
    expect(q).toMatchObject({ code: 0, stdout: '', stderr: '' });
    expect(parseLogLines(l.stdout).map((line) => line.msg)).toEqual(['config', 'listening', 'stopping', 'stopped']);
  });
});

describe('backend failure logs (issue 16: a connect failure turned 502 left only a counter)', () => {
  it('a refused backend connect is one warn line with the backend and the errno, at most one a second per worker', async () => {
    const port = await freePort();
    const cli = new CliProcess(['start', '--listen', '127.0.0.1:0', '--backend', `127.0.0.1:${port}`, '--workers', '1']);
    const listening = await cli.waitForLog('listening');
    const url = `http://127.0.0.1:${String(listening.port)}/`;
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await fetch(url, { signal: AbortSignal.timeout(5_000) })).status);
    expect(statuses).toEqual([502, 502, 502, 502, 502]);
    const line = await cli.waitForLog('backend-error');
    expect(line).toMatchObject({ level: 'warn', backend: `127.0.0.1:${port}`, id: 0, worker: 0, code: 'ECONNREFUSED' });
    expect(String(line.error)).toContain(`connect to 127.0.0.1:${port} failed`);
    cli.signal('SIGTERM');
    const result = await cli.waitForExit();
    expect(result.code).toBe(0);
    // Five failures (and their retries) within a second: one line, not one per failure.
    expect(parseLogLines(result.stdout).filter((l) => l.msg === 'backend-error')).toHaveLength(1);
  });
});

describe('access logs', () => {
  it('each sampled request is one line: client, method, target, status, backend, times, bytes', async () => {
    const a = await startHttpBackend('a');
    const cli = new CliProcess(startArgs(a.address, '--access-log-sample-rate', '1'));
    const { url, port } = await cli.waitForLog('listening');
    await fetchText(`${String(url)}one?x=1`);
    await fetchText(`${String(url)}two`);
    // A request the balancer answers itself (CONNECT: 405) has no backend.
    await new Promise<void>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () =>
        socket.write('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n'),
      );
      socket.on('data', () => undefined);
      socket.on('close', () => resolve());
      socket.on('error', reject);
    });
    const deadline = Date.now() + 5_000;
    while (cli.logsOf('access').length < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    const access = cli.logsOf('access');
    expectWellFormed(access);
    expect(access.map((l) => [l.method, l.target, l.status, l.backend])).toEqual([
      ['GET', '/one?x=1', 200, a.address],
      ['GET', '/two', 200, a.address],
      ['CONNECT', 'example.com:443', 405, null],
    ]);
    for (const line of access) {
      expect(line).toMatchObject({
        level: 'info',
        client: '127.0.0.1',
        ttfbMs: expect.any(Number),
        totalMs: expect.any(Number),
        bytes: expect.any(Number),
      });
      expect(line.totalMs as number).toBeGreaterThanOrEqual(line.ttfbMs as number);
      if (line.backend !== null) expect(line.bytes as number).toBeGreaterThan(0);
    }
    cli.signal('SIGTERM');
    await cli.waitForExit();
  });

  it('logging.access.sampleRate in the file; 0 (the default) logs none', async () => {
    const a = await startHttpBackend('a');
    const sampled = new CliProcess([
      'start',
      '--config',
      file('sampled.yaml', [
        'listen: 127.0.0.1:0',
        'workers: 1',
        `backends: [${a.address}]`,
        'logging: { access: { sampleRate: 1 } }',
      ]),
    ]);
    const none = new CliProcess(startArgs(a.address));
    const [s, n] = await Promise.all([sampled.waitForLog('listening'), none.waitForLog('listening')]);
    for (let i = 0; i < 5; i += 1) await Promise.all([fetchText(String(s.url)), fetchText(String(n.url))]);
    const deadline = Date.now() + 5_000;
    while (sampled.logsOf('access').length < 5 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(sampled.logsOf('access')).toHaveLength(5);
    expect(none.logsOf('access')).toHaveLength(0);
    for (const cli of [sampled, none]) cli.signal('SIGTERM');
    await Promise.all([sampled.waitForExit(), none.waitForExit()]);
  });
});

describe('secrets are never logged', () => {
  it('the admin token and etcd credentials show as [redacted], in logs and in errors', async () => {
    const config = file('secrets.yaml', [
      'listen: 127.0.0.1:0',
      'workers: 1',
      'admin: { listen: "127.0.0.1:0", token: "${LB_TEST_SECRET_TOKEN}" }',
      'discovery:',
      '  etcd:',
      '    endpoints: [http://127.0.0.1:1]',
      '    prefix: /lb/',
      '    timeoutMs: 500',
      '    auth: { username: user-SECRET-2, password: pass-SECRET-3 }',
    ]);
    const result = await runCli(['start', '--config', config, '--log-level', 'debug'], 15_000, {
      LB_TEST_SECRET_TOKEN: 'tok-SECRET-1',
    });
    expect(result.code).toBe(1);
    const [line] = parseLogLines(result.stdout);
    expect(line).toMatchObject({
      msg: 'config',
      config: {
        admin: { listen: '127.0.0.1:0', token: '[redacted]' },
        discovery: { etcd: { auth: { username: '[redacted]', password: '[redacted]' } } },
      },
    });
    expect(result.stderr).toMatch(
      new RegExp(
        `^lb-native: ${config.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:5: discovery\\.etcd: cannot get the initial backends: .+\\n$`,
      ),
    );
    expect(`${result.stdout}${result.stderr}`).not.toMatch(/SECRET/);
  });

  it('pino redacts the secret paths in anything logged, as a second guard', () => {
    const chunks: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        chunks.push(chunk.toString());
        callback();
      },
    });
    const log = createLogger({ level: 'info', destination: stream });
    log.info(
      { config: { admin: { token: 't0ken' }, discovery: { etcd: { auth: { username: 'u5er', password: 'pa55' } } } } },
      'config',
    );
    log.info({ admin: { token: 't0ken' } }, 'other');
    const text = chunks.join('');
    expect(text).not.toMatch(/t0ken|u5er|pa55/);
    expect(text.match(/\[redacted\]/g)).toHaveLength(4);
  });
});
