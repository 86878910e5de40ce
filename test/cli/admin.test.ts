// The admin server beside `lb-native start` (--admin, --admin-token), and `lb-native top`
// reading it: real processes, real sockets.
import { createServer } from 'node:net';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

import { runCleanups } from '../helpers/cleanup.js';
import { startHttpBackend } from '../helpers/http-backend.js';
import { TerminalProcess } from '../helpers/cli-terminal.js';
import { CliProcess, ensureBuilt, killSpawnedAfterEach, parseLogLines, runCli, startArgs } from '../helpers/cli.js';

beforeAll(ensureBuilt, 150_000);
killSpawnedAfterEach();
afterEach(runCleanups);

async function get(url: string, token?: string): Promise<Response> {
  return fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {}, signal: AbortSignal.timeout(5_000) });
}

/** Starts lb-native with an admin server on a free port; returns it with both addresses. */
async function startWithAdmin(extra: string[] = []) {
  const a = await startHttpBackend('a');
  const cli = new CliProcess(startArgs(a.address, '--admin', '127.0.0.1:0', ...extra));
  const listening = await cli.waitForLog('listening');
  const admin = await cli.waitForLog('admin-listening');
  const adminAddress = String(admin.url).replace(/^http:\/\/|\/$/g, '');
  return { cli, backend: a, url: String(listening.url), admin: adminAddress, adminLine: admin };
}

describe('--admin', () => {
  it('starts the admin API beside the balancer; top --once prints one screen of it', async () => {
    const { cli, backend, url, admin, adminLine } = await startWithAdmin();
    expect(adminLine).toMatchObject({ level: 'info', token: false });
    for (let i = 0; i < 5; i += 1) await (await get(url)).text();
    const stats = (await (await get(`http://${admin}/stats`)).json()) as {
      requests: number;
      backends: Array<{ address: string }>;
    };
    expect(stats.requests).toBe(5);
    expect(stats.backends.map((b) => b.address)).toEqual([backend.address]);

    // --once takes two samples one interval apart, so rates are numbers (issue 16: they were '-').
    const top = await runCli(['top', '--admin', admin, '--once', '--interval', '300']);
    expect(top.code).toBe(0);
    expect(top.stderr).toBe('');
    const lines = top.stdout.split('\n');
    expect(lines[0]).toMatch(/^lb-native {2}req\/s [0-9.]+ {2}conns \d+ {2}5xx\/s [0-9.]+ .* backends 1 {2}workers 1$/);
    expect(lines[2]).toMatch(/^ +ID BACKEND +STATE +W +REQ\/S +P50 ms +P99 ms +ERR\/S +ACT +IDLE$/);
    expect(lines[3]).toMatch(
      new RegExp(`^ +0 ${backend.address.replace(/\./g, '\\.')} +ready +1 +[0-9.]+ +[-0-9.]+ +[-0-9.]+ +[0-9.]+ +\\d+ +\\d+$`),
    );
    expect(top.stdout).not.toContain('\x1b[');

    cli.signal('SIGTERM');
    expect(await cli.waitForExit()).toMatchObject({ code: 0, signal: null });
    // The admin server closed with the balancer.
    await expect(get(`http://${admin}/stats`)).rejects.toThrow();
  });

  it('with --admin-token: the API needs it, and top and reload send it', async () => {
    const token = 'test-token-1234';
    const { cli, admin, adminLine } = await startWithAdmin(['--admin-token', token]);
    expect(adminLine).toMatchObject({ token: true });
    expect(cli.stdout).not.toContain(token);
    expect((await get(`http://${admin}/stats`)).status).toBe(401);
    expect((await get(`http://${admin}/stats`, token)).status).toBe(200);

    const refused = await runCli(['top', '--admin', admin, '--once']);
    expect(refused).toMatchObject({ code: 1, stdout: '' });
    expect(refused.stderr).toBe('lb-native: GET /stats: this admin API needs Authorization: Bearer <token>\n');
    expect((await runCli(['top', '--admin', admin, '--once', '--token', token])).code).toBe(0);
    // The token may come from LB_ADMIN_TOKEN instead of the command line.
    expect((await runCli(['top', '--admin', admin, '--once'], 15_000, { LB_ADMIN_TOKEN: token })).code).toBe(0);
    // Started from flags, there is no file to reload.
    const reload = await runCli(['reload', '--admin', admin, '--token', token]);
    expect(reload).toMatchObject({ code: 1, stdout: '' });
    expect(reload.stderr).toBe(
      'lb-native: reload failed: reload is not available: this balancer was not started from a configuration file\n',
    );

    cli.signal('SIGINT');
    expect(await cli.waitForExit()).toMatchObject({ code: 0, signal: null });
    expect(cli.stdout).not.toContain(token);
  });

  it('top refreshes in place until Ctrl-C', async () => {
    const { cli, admin, url } = await startWithAdmin();
    const top = new CliProcess(['top', '--admin', admin, '--interval', '100']);
    await top.waitForStdout(/\x1b\[H\x1b\[2J[^]*\x1b\[H\x1b\[2J[^]*\x1b\[H\x1b\[2J/);
    await (await get(url)).text();
    // After the first frame, rates are numbers.
    await top.waitForStdout(/req\/s [0-9.]+/);
    top.signal('SIGINT');
    expect(await top.waitForExit()).toMatchObject({ code: 0, signal: null, stderr: '' });
    cli.signal('SIGTERM');
    await cli.waitForExit();
  });

  it('q quits top on a terminal (issue 16: only Ctrl-C did)', async () => {
    const { cli, admin } = await startWithAdmin();
    const top = new TerminalProcess(['top', '--admin', admin, '--interval', '100']);
    try {
      await top.waitForOutput(/ID BACKEND[^]*ID BACKEND/);
      top.type('q');
      const result = await top.waitForExit(10_000);
      expect(result.code).toBe(0);
    } finally {
      top.kill();
    }
    cli.signal('SIGTERM');
    expect(await cli.waitForExit()).toMatchObject({ code: 0 });
  });

  it('top and reload say so when no admin API answers', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const message = `lb-native: cannot reach the admin API at 127.0.0.1:${port}: connection refused (is lb-native running with --admin?)\n`;
    expect(await runCli(['top', '--admin', `127.0.0.1:${port}`, '--once'])).toMatchObject({ code: 1, stderr: message });
    expect(await runCli(['reload', '--admin', `127.0.0.1:${port}`])).toMatchObject({ code: 1, stderr: message });
  });

  it('an admin address in use stops the start, naming the flag; exit 1', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const a = await startHttpBackend('a');
      const result = await runCli(startArgs(a.address, '--admin', `127.0.0.1:${port}`));
      expect(result.stderr).toBe(`lb-native: --admin '127.0.0.1:${port}': address in use\n`);
      expect(result.code).toBe(1);
      // Issue 16: 'listening' was logged for the data port before the admin port failed.
      expect(parseLogLines(result.stdout).map((line) => line.msg)).toEqual([]);
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });
});
