// Active health checks: the probes against real sockets, the rise/fall hysteresis, and a
// balancer that takes a failing backend out of rotation until it passes `rise` checks.
import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';

import type { BackendDownEvent, BackendUpEvent } from '../../src/index.js';
import { parseExpectStatus } from '../../src/config/expect-status.js';
import { probeHttp } from '../../src/health/http-probe.js';
import { RiseFall } from '../../src/health/rise-fall.js';
import { probeTcp } from '../../src/health/tcp-probe.js';
import { startBalancer } from '../helpers/balancer.js';
import { onCleanup, runCleanups } from '../helpers/cleanup.js';
import { waitUntil } from '../helpers/wait.js';
import { closedPort, countBackends, startFlippableBackend } from './support.js';

afterEach(runCleanups);

const ranges = (text: string) => {
  const parsed = parseExpectStatus(text);
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.ranges;
};

/** A TCP server that accepts and then never writes (a hung backend). */
async function silentServer(): Promise<number> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onCleanup(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return (server.address() as net.AddressInfo).port;
}

describe('RiseFall', () => {
  it('needs `fall` failures in a row to go down and `rise` passes in a row to come back', () => {
    const state = new RiseFall(2, 3);
    expect([false, false, true, false, false].map((ok) => state.record(ok))).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
    expect(state.record(false)).toBe('down');
    expect(state.healthy).toBe(false);
    expect(state.record(false)).toBeUndefined();
    expect([true, false, true].map((ok) => state.record(ok))).toEqual([undefined, undefined, undefined]);
    expect(state.record(true)).toBe('up');
    expect(state.record(true)).toBeUndefined();
  });
});

describe('probes against real sockets', () => {
  it('http: status in range passes, others fail with the status; Host, path and Connection: close are sent', async () => {
    const backend = await startFlippableBackend('h');
    const target = {
      host: '127.0.0.1',
      port: backend.port,
      timeoutMs: 1_000,
      path: '/healthz',
      hostHeader: 'web1.example.com',
      expect: ranges('200-399'),
    };
    expect(await probeHttp(target)).toEqual({ ok: true, reason: 'status 200' });
    expect(backend.lastHealthHost).toBe('web1.example.com');
    backend.healthStatus = 503;
    expect(await probeHttp(target)).toEqual({ ok: false, reason: 'status 503 (expected 200-399)' });
    backend.healthStatus = 204;
    expect(await probeHttp({ ...target, expect: ranges('200,204') })).toEqual({ ok: true, reason: 'status 204' });
    backend.healthStatus = 404;
    expect(await probeHttp({ ...target, expect: ranges('200,204') })).toEqual({
      ok: false,
      reason: 'status 404 (expected 200,204)',
    });
  });

  it('http: a refused connect, a hung backend and a non-HTTP answer fail with a reason', async () => {
    const refused = await closedPort();
    const base = { host: '127.0.0.1', timeoutMs: 200, path: '/', hostHeader: 'x', expect: ranges('200-399') };
    expect(await probeHttp({ ...base, port: refused })).toEqual({ ok: false, reason: 'connect ECONNREFUSED' });
    expect(await probeHttp({ ...base, port: await silentServer() })).toEqual({ ok: false, reason: 'timed out after 200 ms' });
    const garbage = net.createServer((socket) => {
      socket.on('error', () => {});
      socket.resume(); // read the request, and so see the probe's close
      socket.end('SSH-2.0-OpenSSH\r\n');
    });
    await new Promise<void>((resolve) => garbage.listen(0, '127.0.0.1', resolve));
    onCleanup(() => new Promise<void>((resolve) => garbage.close(() => resolve())));
    const port = (garbage.address() as net.AddressInfo).port;
    expect(await probeHttp({ ...base, port })).toEqual({ ok: false, reason: "invalid response: 'SSH-2.0-OpenSSH'" });
  });

  it('http: a request that gets only a body stream still passes on its status line', async () => {
    const server = http.createServer((_req, res) => {
      res.writeHead(200);
      res.write('streaming forever');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    onCleanup(() => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    });
    const port = (server.address() as net.AddressInfo).port;
    expect(
      await probeHttp({ host: '127.0.0.1', port, timeoutMs: 500, path: '/', hostHeader: 'x', expect: ranges('200') }),
    ).toEqual({
      ok: true,
      reason: 'status 200',
    });
  });

  it('tcp: a connect passes; refused fails; an abort cancels', async () => {
    const backend = await startFlippableBackend('t');
    expect(await probeTcp({ host: '127.0.0.1', port: backend.port, timeoutMs: 500 })).toEqual({ ok: true, reason: 'connected' });
    expect(await probeTcp({ host: '127.0.0.1', port: await closedPort(), timeoutMs: 500 })).toEqual({
      ok: false,
      reason: 'connect ECONNREFUSED',
    });
    const abort = new AbortController();
    const pending = probeHttp({
      host: '127.0.0.1',
      port: await silentServer(),
      timeoutMs: 5_000,
      path: '/',
      hostHeader: 'x',
      expect: ranges('200'),
      signal: abort.signal,
    });
    abort.abort();
    expect(await pending).toEqual({ ok: false, reason: 'check cancelled' });
  });
});

describe('a balancer with health checks', () => {
  it('a backend whose health path returns 500 gets no traffic until it passes `rise` checks again', async () => {
    const a = await startFlippableBackend('a');
    const b = await startFlippableBackend('b');
    const lb = await startBalancer({
      workers: 2,
      backends: [a.address, b.address],
      healthCheck: { path: '/healthz', intervalMs: 20, timeoutMs: 500, rise: 3, fall: 2 },
    });
    const downs: BackendDownEvent[] = [];
    const ups: BackendUpEvent[] = [];
    lb.on('backend-down', (event) => downs.push(event));
    lb.on('backend-up', (event) => ups.push(event));
    expect(lb.backends().map((s) => s.health)).toEqual(['up', 'up']);
    await waitUntil('a first check of each', () => a.healthChecks > 0 && b.healthChecks > 0);
    expect(b.lastHealthHost).toBe(b.address);

    b.healthStatus = 500;
    await waitUntil('backend-down for b', () => downs.length === 1);
    expect(downs).toEqual([
      { backend: { id: 1, address: b.address, host: '127.0.0.1', port: b.port }, reason: 'status 500 (expected 200-399)' },
    ]);
    expect(lb.backends()[1]).toMatchObject({ health: 'down', healthReason: 'status 500 (expected 200-399)' });
    expect(lb.stats().backends[1]).toMatchObject({ health: 'down' });
    const bBefore = b.requests;
    const whileDown = await countBackends(lb.port, 60, { concurrency: 4 });
    expect([...whileDown]).toEqual([['a', 60]]);
    expect(b.requests).toBe(bBefore);

    // Back to 200: still out until 3 checks in a row pass.
    const checksAtRecovery = b.healthChecks;
    b.healthStatus = 200;
    await waitUntil('backend-up for b', () => ups.length === 1);
    expect(b.healthChecks - checksAtRecovery).toBeGreaterThanOrEqual(3);
    expect(ups).toEqual([{ backend: { id: 1, address: b.address, host: '127.0.0.1', port: b.port } }]);
    expect(lb.backends()[1]?.health).toBe('up');
    const afterUp = await countBackends(lb.port, 40, { concurrency: 4 });
    expect(afterUp.get('b') ?? 0).toBeGreaterThan(10);
    expect(downs).toHaveLength(1);
  });

  it('a backend whose port closes is taken out (connect refused) and comes back when it listens again', async () => {
    const a = await startFlippableBackend('a');
    const b = await startFlippableBackend('b');
    const lb = await startBalancer({
      workers: 1,
      backends: [a.address, b.address],
      healthCheck: { type: 'tcp', intervalMs: 20, timeoutMs: 500, rise: 2, fall: 2 },
    });
    const downs: BackendDownEvent[] = [];
    lb.on('backend-down', (event) => downs.push(event));
    await b.close();
    await waitUntil('backend-down for b', () => downs.length === 1);
    expect(downs[0]).toMatchObject({ backend: { id: 1 }, reason: 'connect ECONNREFUSED' });
    const whileDown = await countBackends(lb.port, 30, { concurrency: 3 });
    expect([...whileDown]).toEqual([['a', 30]]);

    // Something listens on b's port again.
    const revived = http.createServer((_req, res) => res.writeHead(200, { 'x-backend': 'b2' }).end('b2'));
    await new Promise<void>((resolve) => revived.listen(b.port, '127.0.0.1', resolve));
    onCleanup(() => {
      revived.closeAllConnections();
      return new Promise<void>((resolve) => revived.close(() => resolve()));
    });
    await waitUntil('b up again', () => lb.backends()[1]?.health === 'up');
    const after = await countBackends(lb.port, 20, { concurrency: 2 });
    expect(after.get('b2')).toBeGreaterThan(0);
  });

  it('per backend: its own settings override the balancer’s, false turns checks off; stop() ends every check', async () => {
    const a = await startFlippableBackend('a');
    const b = await startFlippableBackend('b');
    const c = await startFlippableBackend('c');
    const lb = await startBalancer({
      workers: 1,
      backends: [
        a.address,
        { address: b.address, healthCheck: false },
        { address: c.address, healthCheck: { host: 'c.internal', fall: 1 } },
      ],
      healthCheck: { path: '/healthz', intervalMs: 20 },
    });
    expect(lb.backends().map((s) => s.health)).toEqual(['up', 'unchecked', 'up']);
    await waitUntil('checks of a and c', () => a.healthChecks > 1 && c.healthChecks > 1);
    expect(b.healthChecks).toBe(0);
    expect(c.lastHealthHost).toBe('c.internal');
    c.healthStatus = 503;
    await waitUntil('c down after a single failure', () => lb.backends()[2]?.health === 'down');

    // Added backends get checks too, and start healthy.
    const d = await startFlippableBackend('d');
    const added = await lb.addBackend(d.address);
    expect(added.health).toBe('up');
    await waitUntil('a check of d', () => d.healthChecks > 0);

    await lb.stop();
    // A check already sent when stop() came may still be counted by the backend: look
    // after a moment, then make sure nothing more arrives (checks ran every 20 ms).
    await new Promise((resolve) => setTimeout(resolve, 50));
    const counts = [a.healthChecks, c.healthChecks, d.healthChecks];
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect([a.healthChecks, c.healthChecks, d.healthChecks]).toEqual(counts);
  });
});
