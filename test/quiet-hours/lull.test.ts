// Issue 14 A: quiet hours. A worker with no timer armed sleeps in epoll_wait(-1); the first
// events after the lull used to arm their timers from the clock of before the sleep, so the
// backend connect "timed out" at once (502) and a split request head got 408 in 1 ms.
//
// One shared lull, longer than every timeout in play (pool idle 4 s, keep-alive 5 s here):
// each scenario has a balancer of its own, all created before the lull, and each test is
// the first request its balancer sees after it. Cleanups (balancers, backends, the
// hanging listener) run after the whole file, not after each test, so that the shared
// setup lives through every test.
import http from 'node:http';
import type net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBalancer } from '../../src/index.js';
import { onCleanup, runCleanups } from '../helpers/cleanup.js';
import { printable } from '../helpers/http-message.js';
import { RawClient } from '../helpers/raw-client.js';
import { delay, withTimeout } from '../helpers/wait.js';
import { hangingListenerPort } from '../edge/support.js';

const LULL_MS = 12_000;

type Balancer = ReturnType<typeof createBalancer>;

/** A keep-alive backend that answers `200 <name>`; closed after the file. */
async function startBackend(name: string): Promise<string> {
  const sockets = new Set<net.Socket>();
  const server = http.createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    req.resume();
    req.on('end', () => res.end(name));
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  onCleanup(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
}

async function startLb(backends: string[], connectMs = 1_000): Promise<Balancer> {
  const lb = createBalancer({
    listen: '127.0.0.1:0',
    backends,
    strategy: 'round-robin',
    workers: 1,
    timeouts: { connectMs, keepAliveMs: 5_000 },
  });
  onCleanup(() => withTimeout('lb.stop() after the file', lb.stop({ deadlineMs: 2_000 }), 10_000));
  await lb.start();
  return lb;
}

/** One GET on a fresh connection; the response and how long it took. */
async function get(lb: Balancer, pieces: string[] = ['GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n'], pauseMs = 0) {
  const client = await RawClient.connect(lb.port);
  const started = performance.now();
  await client.writePieces(pieces, pauseMs);
  const res = await client.readResponse({ timeoutMs: 10_000 });
  return { res, ms: performance.now() - started, shown: printable(client.received()) };
}

const balancers: Record<string, Balancer> = {};
let hangingAddress = '';

beforeAll(async () => {
  const a = await startBackend('a');
  const b = await startBackend('b');
  const hangingPort = await hangingListenerPort(LULL_MS + 25_000);
  expect(hangingPort, 'could not produce a hanging connect on this host').toBeDefined();
  hangingAddress = `127.0.0.1:${hangingPort}`;

  balancers.fresh = await startLb([a]);
  balancers.usedBefore = await startLb([a]);
  balancers.splitHead = await startLb([a]);
  balancers.twoBackends = await startLb([a, b]);
  balancers.connectTimeout = await startLb([hangingAddress], 500);
  balancers.timeoutThenNext = await startLb([hangingAddress, a], 500);
  // One request before the lull: its pooled backend connection and keep-alive timers are
  // armed, then expire during the lull, and the worker goes back to sleeping untimed.
  const before = await get(balancers.usedBefore);
  expect(before.res.status, before.shown).toBe(200);
  await delay(LULL_MS);
}, LULL_MS + 20_000);

afterAll(runCleanups);

describe(`the first request after a ${LULL_MS / 1000} s lull`, () => {
  it('with one backend never used yet: 200, and no connect error recorded', async () => {
    const lb = balancers.fresh!;
    const { res, shown } = await get(lb);
    expect(res.status, shown).toBe(200);
    expect(lb.stats().backends[0]!.connectErrors).toBe(0);
  });

  it('with one backend used before the lull (its pooled connection and timers expired): 200', async () => {
    const lb = balancers.usedBefore!;
    const { res, shown } = await get(lb);
    expect(res.status, shown).toBe(200);
    expect(lb.stats().backends[0]!.connectErrors).toBe(0);
  });

  it('a head split in two writes 100 ms apart is answered 200, not 408', async () => {
    const lb = balancers.splitHead!;
    const { res, shown } = await get(lb, ['GET / HTTP/1.1\r\n', 'Host: h\r\nConnection: close\r\n\r\n'], 100);
    expect(res.status, shown).toBe(200);
  });

  it('with two backends: no false connect failure and no retry', async () => {
    const lb = balancers.twoBackends!;
    const { res, shown } = await get(lb);
    expect(res.status, shown).toBe(200);
    for (const backend of lb.stats().backends) {
      expect(backend.connectErrors, backend.address).toBe(0);
      expect(backend.retries, backend.address).toBe(0);
    }
  });

  it('a connect that really hangs still times out at connectMs (500 ms), then 502', async () => {
    const lb = balancers.connectTimeout!;
    const { res, ms, shown } = await get(lb);
    expect(res.status, shown).toBe(502);
    // Every try waits its own connectMs: never at once, as the stale clock made it.
    expect(ms).toBeGreaterThanOrEqual(450);
    expect(lb.stats().backends[0]!.connectErrors).toBeGreaterThanOrEqual(1);
  });

  it('a connect that really hangs moves on to the next backend after connectMs', async () => {
    const lb = balancers.timeoutThenNext!;
    const first = await get(lb);
    const second = await get(lb);
    expect(first.res.status, first.shown).toBe(200);
    expect(second.res.status, second.shown).toBe(200);
    // Round robin tried the hanging backend for one of the two: that one waited connectMs.
    const [hanging, live] = lb.stats().backends;
    expect(hanging!.connectErrors).toBe(1);
    expect(live!.connectErrors).toBe(0);
    expect(Math.max(first.ms, second.ms)).toBeGreaterThanOrEqual(450);
  });
});
