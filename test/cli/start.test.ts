// `lb-native start` end to end: the real binary, the real addon, real backends.
import { lookup } from 'node:dns/promises';
import { type Server, createServer } from 'node:http';
import { type AddressInfo, createServer as createTcpServer } from 'node:net';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

import { CliProcess, type LogLine, ensureBuilt, killSpawnedAfterEach, parseLogLines, startArgs } from '../helpers/cli.js';
import { freePort } from '../helpers/free-port.js';

beforeAll(ensureBuilt, 150_000);
killSpawnedAfterEach();

const servers: Array<{ close(callback: () => void): unknown; closeAllConnections?: () => void }> = [];
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map(
      (server) =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections?.();
        }),
    ),
  );
});

/** A backend answering `name` on `host`, port chosen by the kernel. */
async function backend(name: string, host = '127.0.0.1'): Promise<{ server: Server; address: string }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end(name));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return { server, address: host.includes(':') ? `[${host}]:${port}` : `${host}:${port}` };
}

async function get(url: string): Promise<string> {
  const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  return response.text();
}

/** GET `url`, retrying refused connections for up to 10 s (for a process that logs nothing). */
async function getWhenUp(url: string): Promise<string> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      return await get(url);
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** Starts the CLI and returns it with the URL it logged as listening. */
async function startCli(args: readonly string[]): Promise<{ cli: CliProcess; url: string; listening: LogLine }> {
  const cli = new CliProcess(args);
  const listening = await cli.waitForLog('listening');
  return { cli, url: String(listening.url), listening };
}

describe('lb-native start', () => {
  it('balances over the given backends, then stops gracefully on SIGTERM with exit 0', async () => {
    const a = await backend('backend-a');
    const b = await backend('backend-b');
    const { cli, url, listening } = await startCli([
      'start',
      '--listen',
      '127.0.0.1:0',
      '--backend',
      a.address,
      '--backend',
      b.address,
      '--workers',
      '2',
    ]);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(listening).toMatchObject({ level: 'info', workers: 2, strategy: 'round-robin', backends: 2, mode: 'http' });

    const seen = new Set<string>();
    for (let i = 0; i < 6; i += 1) seen.add(await get(url));
    expect([...seen].sort()).toEqual(['backend-a', 'backend-b']);

    cli.signal('SIGTERM');
    const result = await cli.waitForExit();
    expect(result).toMatchObject({ code: 0, signal: null });
    const logs = parseLogLines(result.stdout);
    expect(logs.find((l) => l.msg === 'stopping')).toMatchObject({ signal: 'SIGTERM' });
    expect(logs.at(-1)).toMatchObject({ msg: 'stopped', requests: 6 });
    expect(result.stderr).toBe('');
  });

  it('resolves backend host names before starting', async () => {
    const { address: host } = await lookup('localhost');
    const a = await backend('by-name', host);
    const port = a.address.slice(a.address.lastIndexOf(':') + 1);
    const { cli, url } = await startCli(startArgs(`localhost:${port}`));
    expect(await get(url)).toBe('by-name');
    cli.signal('SIGINT');
    expect(await cli.waitForExit()).toMatchObject({ code: 0, signal: null });
  });

  it('listens on IPv6', async () => {
    const a = await backend('v6-backend', '::1');
    const { cli, url } = await startCli(['start', '--listen', '[::1]:0', '--backend', a.address, '--workers', '1']);
    expect(url).toMatch(/^http:\/\/\[::1\]:\d+\/$/);
    expect(await get(url)).toBe('v6-backend');
    cli.signal('SIGTERM');
    expect(await cli.waitForExit()).toMatchObject({ code: 0, signal: null });
  });

  it('reports an address in use in one line and exits 1', async () => {
    const blocker = createTcpServer();
    servers.push(blocker);
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as AddressInfo;
    const cli = new CliProcess(['start', '--listen', `127.0.0.1:${port}`, '--backend', '127.0.0.1:9']);
    const result = await cli.waitForExit();
    expect(result.stderr).toBe(`lb-native: --listen 127.0.0.1:${port}: address in use\n`);
    expect(result.code).toBe(1);
  });

  it('refuses a port another lb-native already listens on (SO_REUSEPORT would share it)', async () => {
    const first = await startCli(startArgs('127.0.0.1:9'));
    const port = new URL(first.url).port;
    const second = new CliProcess(['start', '--listen', `127.0.0.1:${port}`, '--backend', '127.0.0.1:9']);
    const result = await second.waitForExit();
    expect(result.stderr).toBe(`lb-native: --listen 127.0.0.1:${port}: address in use\n`);
    expect(result.code).toBe(1);
    first.cli.signal('SIGTERM');
    expect(await first.cli.waitForExit()).toMatchObject({ code: 0, signal: null });
  });

  it('passes --forwarded, --trust-forwarded and --log-level through', async () => {
    const echo = createServer((req, res) => res.end(`${req.headers['x-forwarded-for'] ?? '-'} ${req.headers.forwarded ?? '-'}`));
    servers.push(echo);
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    const backendAddress = `127.0.0.1:${(echo.address() as AddressInfo).port}`;
    const spoofed = async (url: string) =>
      (await fetch(url, { headers: { 'x-forwarded-for': '6.6.6.6' }, signal: AbortSignal.timeout(5_000) })).text();

    /** What the backend saw of a spoofed request through lb-native started with `flags`. */
    const seenThrough = async (...flags: string[]) => {
      const { cli, url } = await startCli(startArgs(backendAddress, ...flags));
      const seen = await spoofed(url);
      cli.signal('SIGTERM');
      await cli.waitForExit();
      return seen;
    };
    // The default: the balancer is the edge, a client's X-Forwarded-For is replaced.
    expect(await seenThrough()).toBe('127.0.0.1 -');
    expect(await seenThrough('--trust-forwarded')).toBe('6.6.6.6, 127.0.0.1 -');
    expect(await seenThrough('--forwarded', 'forwarded')).toMatch(/^- for=127\.0\.0\.1;/);

    const port = await freePort();
    const quiet = new CliProcess([
      'start',
      '--listen',
      `127.0.0.1:${port}`,
      '--backend',
      backendAddress,
      '--workers',
      '1',
      '--forwarded',
      'none',
      '--log-level',
      'error',
    ]);
    expect(await getWhenUp(`http://127.0.0.1:${port}/`)).toBe('- -');
    quiet.signal('SIGTERM');
    const result = await quiet.waitForExit();
    expect(result).toMatchObject({ code: 0, signal: null });
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe('');
  });

  it('--mode redirect with public-url: a real client follows the redirect to the backend', async () => {
    const target = await backend('redirect-target');
    const targetPort = Number(target.address.slice(target.address.lastIndexOf(':') + 1));
    // The backend address the balancer knows is a port nothing listens on: only the
    // public URL leads to the real server.
    const unused = await freePort();
    const { cli, url, listening } = await startCli([
      'start',
      '--listen',
      '127.0.0.1:0',
      '--mode',
      'redirect',
      '--redirect-status',
      '302',
      '--workers',
      '1',
      '--backend',
      `127.0.0.1:${unused},public-url=http://127.0.0.1:${targetPort}`,
    ]);
    expect(listening).toMatchObject({ workers: 1, mode: 'redirect', strategy: 'round-robin', backends: 1 });
    const manual = await fetch(`${url}a/b?x=%2F1`, { redirect: 'manual', signal: AbortSignal.timeout(5_000) });
    expect(manual.status).toBe(302);
    expect(manual.headers.get('location')).toBe(`http://127.0.0.1:${targetPort}/a/b?x=%2F1`);
    const followed = await fetch(`${url}x`, { signal: AbortSignal.timeout(5_000) });
    expect(followed.status).toBe(200);
    expect(await followed.text()).toBe('redirect-target');
    expect(followed.url).toBe(`http://127.0.0.1:${targetPort}/x`);
    cli.signal('SIGTERM');
    expect(await cli.waitForExit()).toMatchObject({ code: 0, signal: null });
  });

  it('--health-check logs a backend going down and coming back', async () => {
    let status = 200;
    const flaky = createServer((req, res) => {
      res.statusCode = req.url === '/healthz' ? status : 200;
      res.end('flaky');
    });
    servers.push(flaky);
    await new Promise<void>((resolve) => flaky.listen(0, '127.0.0.1', resolve));
    const address = `127.0.0.1:${(flaky.address() as AddressInfo).port}`;
    const { cli } = await startCli(
      startArgs(address, '--health-check', '/healthz', '--health-interval', '20', '--health-fall', '2', '--health-rise', '2'),
    );
    status = 503;
    const down = await cli.waitForLog('backend-down');
    expect(down).toMatchObject({ level: 'warn', backend: address, id: 0, reason: 'status 503 (expected 200-399)' });
    status = 200;
    expect(await cli.waitForLog('backend-up')).toMatchObject({ level: 'info', backend: address, id: 0 });
    cli.signal('SIGTERM');
    expect(await cli.waitForExit()).toMatchObject({ code: 0, signal: null });
  });

  it('exits at once on a second signal, without waiting for in-flight requests', async () => {
    // A backend that takes the request and never answers keeps the graceful stop waiting.
    let received!: () => void;
    const requestArrived = new Promise<void>((resolve) => (received = resolve));
    const silent = createServer(() => received());
    servers.push(silent);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    const { cli, url } = await startCli(startArgs(`127.0.0.1:${port}`));

    const pending = fetch(url, { signal: AbortSignal.timeout(15_000) }).catch(() => undefined);
    await requestArrived;
    cli.signal('SIGTERM');
    await cli.waitForLog('stopping');
    const started = Date.now();
    cli.signal('SIGTERM');
    const result = await cli.waitForExit(5_000);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(result.code).toBe(143);
    expect(parseLogLines(result.stdout).at(-1)).toMatchObject({
      level: 'warn',
      signal: 'SIGTERM',
      msg: 'forced-exit: exiting without waiting for in-flight requests',
    });
    await pending;
  });
});

describe('lb-native start --demo', () => {
  it('starts three demo backends, prints what to curl, and balances over them', async () => {
    const { cli, url } = await startCli(['start', '--demo', '--listen', '127.0.0.1:0', '--workers', '1']);
    expect((await cli.waitForLog('demo-backend', (l) => l.name === 'demo-backend-1')).address).toMatch(/^127\.0\.0\.1:\d+$/);
    // The hints are for a person: on stderr, so that stdout stays JSON lines.
    const deadline = Date.now() + 10_000;
    while (!cli.stderr.includes('Press Ctrl-C to stop')) {
      if (Date.now() > deadline) throw new Error(`no hints; stderr: ${cli.stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(cli.stderr).toContain(`  curl ${url}\n`);
    expect(cli.stderr).toContain(`  for i in 1 2 3; do curl -s ${url}; done\n`);

    const replies: string[] = [];
    for (let i = 0; i < 3; i += 1) replies.push(await get(`${url}path-${i}`));
    const names = replies.map((r) => /^hello from (demo-backend-\d)\n/.exec(r)?.[1]);
    expect(new Set(names)).toEqual(new Set(['demo-backend-1', 'demo-backend-2', 'demo-backend-3']));
    expect(replies[0]).toMatch(/^hello from demo-backend-\d\nGET \/path-0\n$/);

    cli.signal('SIGINT');
    const result = await cli.waitForExit();
    expect(result).toMatchObject({ code: 0, signal: null });
    expect(parseLogLines(result.stdout).map((l) => l.msg)).toContain('stopped');
  });

  it('moves to a free port when 127.0.0.1:8080 is taken and --listen was not given', async () => {
    const blocker = createTcpServer();
    servers.push(blocker);
    // If something else already holds 8080, the port is just as taken.
    await new Promise<void>((resolve) => {
      blocker.once('error', () => resolve());
      blocker.listen(8080, '127.0.0.1', resolve);
    });
    const { cli, url } = await startCli(['start', '--demo']);
    expect(cli.logsOf('address in use; the demo balancer takes a free port instead')).toEqual([
      expect.objectContaining({ address: '127.0.0.1:8080' }),
    ]);
    expect(url).not.toBe('http://127.0.0.1:8080/');
    expect(await get(url)).toMatch(/^hello from demo-backend-\d\nGET \/\n$/);
    cli.signal('SIGTERM');
    expect(await cli.waitForExit()).toMatchObject({ code: 0, signal: null });
  });
});
