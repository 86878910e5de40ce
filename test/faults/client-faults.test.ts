// Clients that misbehave: they disconnect mid-request, mid-response or while the backend is
// still working, never read a huge response, or open and drop thousands of connections.
// The balancer must keep serving, free every connection (client and backend), never pool a
// backend connection whose exchange did not finish, and keep its memory bounded.
import net from 'node:net';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runCleanups, onCleanup } from '../helpers/cleanup.js';
import { RawClient } from '../helpers/raw-client.js';
import { header, printable } from '../helpers/http-message.js';
import { startBalancer } from '../helpers/balancer.js';
import { startHttpBackend } from '../helpers/http-backend.js';
import { delay, waitUntil, withTimeout } from '../helpers/wait.js';
import { describeFds, fdSnapshot, fdsNewSince, openFdCount } from '../helpers/fd-count.js';
import { bodyPattern, describeBody, namedReply, ScriptedBackend, streamReply } from '../helpers/scripted-backend.js';
import { rssBytes, startChildBalancer } from './processes.js';

afterEach(runCleanups);

type Lb = Awaited<ReturnType<typeof startBalancer>>;

const MiB = 1 << 20;

/** F answers like test/helpers/http-backend.ts until a test gives it another script. */
function startF(): Promise<ScriptedBackend> {
  return ScriptedBackend.start((req) => namedReply('F', req), { name: 'F' });
}

/** A request after the fault is answered, and nothing is left busy. */
async function expectServesAndSettles(lb: Lb, f: ScriptedBackend): Promise<void> {
  const client = await RawClient.connect(lb.port);
  await client.write('GET /after HTTP/1.1\r\nHost: t\r\nX-Request-Id: after\r\n\r\n');
  const res = await client.readResponse();
  expect(res.status, printable(client.received())).toBe(200);
  expect(res.body.toString()).toBe(describeBody(f.name, 'GET', '/after', 'after'));
  client.destroy();
  await waitUntil(
    `client connections back to 0 (${JSON.stringify(lb.stats().activeClientConnections)})`,
    () => lb.stats().activeClientConnections === 0,
  );
  await waitUntil('no backend connection busy', () => lb.stats().backends.every((b) => b.activeConnections === 0));
}

/** Backend connection `i` was closed by the balancer and carried one request only. */
async function expectRetired(f: ScriptedBackend, i: number): Promise<void> {
  await waitUntil(`backend connection ${i} closed by the balancer\n${f.summary()}`, () => f.connections[i]?.peerClosed === true, {
    timeoutMs: 5_000,
  });
  expect(f.connections[i]!.requests.length, f.summary()).toBeLessThanOrEqual(1);
}

describe('client disconnects mid-request', () => {
  it('half a head, then gone: nothing reaches the backend, the balancer keeps serving', async () => {
    const f = await startF();
    const lb = await startBalancer({ backends: [f.address], workers: 1 });
    for (const [k, how] of (['destroy', 'reset'] as const).entries()) {
      const client = await RawClient.connect(lb.port);
      await client.write('GET /half HTTP/1.1\r\nHost: t\r\nX-Requ');
      // Accept is deferred until a connection's first bytes arrive: accepted means they did.
      await waitUntil('the half head at the balancer', () => lb.stats().acceptedConnections >= k + 1);
      if (how === 'reset') client.socket.resetAndDestroy();
      else client.destroy();
    }
    await waitUntil('client connections back to 0', () => lb.stats().activeClientConnections === 0);
    expect(f.connections.length, f.summary()).toBe(0);
    await expectServesAndSettles(lb, f);
  });

  it('half a body, then gone: the backend connection that got the partial request is closed, not pooled', async () => {
    const f = await startF();
    const lb = await startBalancer({ backends: [f.address], workers: 1 });
    for (const [k, how] of (['destroy', 'reset'] as const).entries()) {
      const client = await RawClient.connect(lb.port);
      await client.write(`POST /upload HTTP/1.1\r\nHost: t\r\nX-Request-Id: up${k}\r\nContent-Length: 100000\r\n\r\n`);
      await client.write(Buffer.alloc(30_000, 0x61));
      await waitUntil('part of the body reached the backend', () => (f.connections[k]?.bytesIn ?? 0) > 20_000);
      if (how === 'reset') client.socket.resetAndDestroy();
      else client.destroy();
      await expectRetired(f, k);
      expect(f.connections[k]!.requests.length, 'the backend never saw a complete request').toBe(0);
    }
    const stats = lb.stats().backends[0]!;
    expect(stats.idleConnections, JSON.stringify(stats)).toBe(0);
    await expectServesAndSettles(lb, f);
    // The request after was served on a new connection.
    expect(f.connections.length).toBe(3);
  });
});

describe('client disconnects mid-response', () => {
  for (const how of ['destroy', 'reset'] as const) {
    it(`a client that ${how === 'reset' ? 'resets' : 'closes'} after the head of an 8 MiB response: the backend connection is closed, not pooled`, async () => {
      const f = await startF();
      f.setScript((req) => streamReply('F', req, { framing: 'content-length', total: 8 * MiB, pauseMs: 2 }));
      const lb = await startBalancer({ backends: [f.address], workers: 1 });
      const client = await RawClient.connect(lb.port);
      await client.write('GET /big HTTP/1.1\r\nHost: t\r\nX-Request-Id: big\r\n\r\n');
      await waitUntil('head and some body received', () => client.received().length > 100_000);
      if (how === 'reset') client.socket.resetAndDestroy();
      else client.destroy();
      await expectRetired(f, 0);
      expect(f.connections[0]!.streamed, 'the backend stopped streaming').toBeLessThan(8 * MiB);
      expect(lb.stats().backends[0]!.idleConnections).toBe(0);
      f.setScript((req) => namedReply('F', req));
      await expectServesAndSettles(lb, f);
      expect(f.connections.length, f.summary()).toBe(2);
    });
  }
});

describe('client disconnects while the backend is still working', () => {
  for (const how of ['destroy', 'reset'] as const) {
    it(`a client that ${how === 'reset' ? 'resets' : 'closes'} before a slow (800 ms) answer: that backend connection is not pooled afterwards`, async () => {
      const f = await startF();
      f.setScript((req) => (req.target === '/slow' ? { ...namedReply('F', req), delayMs: 800 } : namedReply('F', req)));
      const lb = await startBalancer({ backends: [f.address], workers: 1 });
      const client = await RawClient.connect(lb.port);
      await client.write('GET /slow HTTP/1.1\r\nHost: t\r\nX-Request-Id: slow\r\n\r\n');
      await f.waitForRequests(1);
      await delay(100);
      if (how === 'reset') client.socket.resetAndDestroy();
      else client.destroy();
      // Past the backend's answer: whatever the balancer did with it, the connection must
      // not sit in the pool now, and the next request must go out on a new connection.
      await delay(1_000);
      const stats = lb.stats().backends[0]!;
      const detail = `${JSON.stringify(stats)}\n${f.summary()}`;
      expect(stats.idleConnections, detail).toBe(0);
      expect(stats.activeConnections, detail).toBe(0);
      await expectRetired(f, 0);
      await expectServesAndSettles(lb, f);
      expect(f.connections.length, f.summary()).toBe(2);
      expect(f.connections[0]!.requests.length).toBe(1);
    });
  }
});

describe('client never reads', () => {
  const total = 200 * MiB;
  let f: ScriptedBackend;
  let child: Awaited<ReturnType<typeof startChildBalancer>>;
  // Starting a child that loads the TypeScript sources takes seconds on a busy machine: done
  // in the hook, with its own time budget. Both are cleaned up after the test.
  beforeAll(async () => {
    f = await startF();
    f.setScript((req) =>
      req.target === '/huge' ? streamReply('F', req, { framing: 'content-length', total }) : namedReply('F', req),
    );
    child = await startChildBalancer({ backends: [f.address], workers: 2 }, 90_000);
  });

  it('a 200 MiB response to a client that does not read: balancer RSS stays bounded, then the whole body arrives intact', async () => {
    // Warm up: a few ordinary requests, then the baseline.
    for (let i = 0; i < 20; i++) {
      const c = await RawClient.connect(child.port);
      await c.write(`GET /warm/${i} HTTP/1.1\r\nHost: t\r\nX-Request-Id: w${i}\r\n\r\n`);
      expect((await c.readResponse()).status).toBe(200);
      c.destroy();
    }
    await delay(200);
    const rssStart = rssBytes(child.pid);

    // A client that reads nothing: paused from the start, so bytes pile up in the kernel only.
    const socket = net.connect({ port: child.port, host: '127.0.0.1' });
    onCleanup(() => socket.destroy());
    socket.pause();
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    socket.write('GET /huge HTTP/1.1\r\nHost: t\r\nX-Request-Id: huge\r\n\r\n');
    await f.waitForRequests(21);
    const conn = f.connections.find((c) => c.requests.some((r) => r.target === '/huge'))!;
    // Backpressure all the way back: the backend cannot write for a while.
    await waitUntil('the backend is blocked', () => conn.streamed > 0 && Date.now() - conn.lastProgressAt > 1_000, {
      timeoutMs: 15_000,
    });
    const rssBlocked = rssBytes(child.pid);

    const blockedAt = conn.streamed;
    const detail = `RSS start ${(rssStart / MiB).toFixed(1)} MiB, blocked ${(rssBlocked / MiB).toFixed(1)} MiB; backend wrote ${(blockedAt / MiB).toFixed(1)} MiB`;
    expect(blockedAt, detail).toBeLessThan(64 * MiB);
    expect(rssBlocked - rssStart, detail).toBeLessThan(64 * MiB);

    // Now read it all, checking every byte, and sample RSS on the way.
    let received = 0;
    let head: Buffer | undefined;
    let pendingHead = Buffer.alloc(0);
    let mismatch = -1;
    let rssPeak = rssBlocked;
    const sampler = setInterval(() => {
      try {
        rssPeak = Math.max(rssPeak, rssBytes(child.pid));
      } catch {
        // the child is gone; the test fails elsewhere
      }
    }, 50);
    onCleanup(() => clearInterval(sampler));
    await withTimeout(
      'reading 200 MiB',
      new Promise<void>((resolve, reject) => {
        socket.on('data', (chunk: Buffer) => {
          if (!head) {
            pendingHead = Buffer.concat([pendingHead, chunk]);
            const end = pendingHead.indexOf('\r\n\r\n');
            if (end < 0) return;
            head = pendingHead.subarray(0, end + 4);
            chunk = pendingHead.subarray(end + 4);
          }
          for (let off = 0; off < chunk.length && mismatch < 0;) {
            const at = (received + off) % bodyPattern.length;
            const n = Math.min(bodyPattern.length - at, chunk.length - off);
            if (!chunk.subarray(off, off + n).equals(bodyPattern.subarray(at, at + n))) mismatch = received + off;
            off += n;
          }
          received += chunk.length;
          if (received >= total) resolve();
        });
        socket.on('error', reject);
        socket.on('end', () => (received >= total ? resolve() : reject(new Error(`closed after ${received} body bytes`))));
        socket.resume();
      }),
      25_000,
    );
    clearInterval(sampler);

    const summary = `${detail}; peak while reading ${(rssPeak / MiB).toFixed(1)} MiB`;
    expect(head!.toString('latin1'), summary).toMatch(
      new RegExp(`^HTTP/1\\.1 200 [^]*\\r\\nContent-Length: ${total}\\r\\n`, 'i'),
    );
    expect(received, summary).toBe(total);
    expect(mismatch, summary).toBe(-1);
    expect(rssPeak - rssStart, summary).toBeLessThan(64 * MiB);
    socket.destroy();
    const stats = (await child.ask('stats')) as { activeClientConnections: number };
    expect(stats.activeClientConnections).toBeLessThanOrEqual(1);
    child.send('stop');
    expect(await withTimeout('balancer child exit after stop', child.exited, 10_000)).toBe(0);
  });
});

describe('connection storms', () => {
  it('10,000 connections opened and dropped in batches: the balancer still serves, its client connections and fds return to baseline', async () => {
    const h = await startHttpBackend('H');
    const lb = await startBalancer({ backends: [h.address], workers: 2, timeouts: { backendIdleMs: 300 } });
    // Each worker thread creates its epoll fd when it starts running, which may be just after
    // start() resolves: the baseline is taken once the fd table has been still for 300 ms.
    let baselineFds = fdSnapshot();
    let stillSince = Date.now();
    await waitUntil(
      'fd table still for 300 ms',
      () => {
        const now = fdSnapshot();
        if (now.size !== baselineFds.size || [...now].some(([fd, t]) => baselineFds.get(fd) !== t)) {
          baselineFds = now;
          stillSince = Date.now();
        }
        return Date.now() - stillSince >= 300;
      },
      { timeoutMs: 5_000, intervalMs: 50 },
    );
    const baseline = baselineFds.size;
    const batches = 20;
    const perBatch = 500;
    let served = 0;
    for (let b = 0; b < batches; b++) {
      const sockets = await Promise.all(
        Array.from(
          { length: perBatch },
          (_, i) =>
            new Promise<{ socket: net.Socket; i: number }>((resolve, reject) => {
              const socket = net.connect({ port: lb.port, host: '127.0.0.1' });
              socket.on('error', () => undefined);
              socket.once('connect', () => resolve({ socket, i }));
              socket.once('error', reject);
            }),
        ),
      );
      await Promise.all(
        sockets.map(async ({ socket, i }) => {
          const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
          switch (i % 5) {
            case 0: // connect and leave
              socket.destroy();
              break;
            case 1: // half a head
              socket.write('GET /storm HTTP/1.1\r\nHo');
              socket.destroy();
              break;
            case 2: // a whole request, gone before the answer
              socket.write(`GET /storm/${b}/${i} HTTP/1.1\r\nHost: t\r\nX-Request-Id: s${b}-${i}\r\n\r\n`);
              socket.destroy();
              break;
            case 3: // reset right away
              socket.resetAndDestroy();
              break;
            case 4: {
              // a whole exchange, then gone
              socket.write(`GET /storm/${b}/${i} HTTP/1.1\r\nHost: t\r\nX-Request-Id: s${b}-${i}\r\n\r\n`);
              const got = await new Promise<string>((resolve) => {
                let text = '';
                socket.setEncoding('latin1');
                socket.on('data', (d: string) => {
                  text += d;
                  if (text.includes(`id=s${b}-${i}`)) resolve(text);
                });
                socket.once('close', () => resolve(text));
              });
              if (got.startsWith('HTTP/1.1 200') && got.endsWith(`id=s${b}-${i}`)) served++;
              socket.destroy();
              break;
            }
          }
          await closed;
        }),
      );
    }
    expect(served).toBe(batches * (perBatch / 5));
    await waitUntil(
      `activeClientConnections back to 0 (now ${lb.stats().activeClientConnections})`,
      () => lb.stats().activeClientConnections === 0,
      { timeoutMs: 15_000 },
    );
    const stats = lb.stats();
    // HTTP listeners defer accept until a connection's first bytes arrive: the three kinds
    // that send something are always accepted; a connection that only connected and left
    // (FIN) or reset may be finished by the kernel without ever reaching accept.
    expect(stats.acceptedConnections, JSON.stringify(stats)).toBeGreaterThanOrEqual((batches * perBatch * 3) / 5);
    expect(stats.acceptedConnections, JSON.stringify(stats)).toBeLessThanOrEqual(batches * perBatch);
    // Still serving.
    const client = await RawClient.connect(lb.port);
    await client.write('GET /after HTTP/1.1\r\nHost: t\r\nX-Request-Id: after\r\n\r\n');
    const res = await client.readResponse();
    expect(res.status, printable(client.received())).toBe(200);
    expect(header(res, 'x-request-id')).toBe('after');
    client.destroy();
    // fds: the storm's client sockets, the balancer's accepted sockets and its (idle-expired)
    // backend connections are all closed again.
    await waitUntil(`fds back to ${baseline}`, () => openFdCount() <= baseline, { timeoutMs: 10_000 }).catch((err: Error) => {
      throw new Error(
        `${err.message}: now ${openFdCount()}, new since the baseline:\n${describeFds(fdsNewSince(baselineFds))}\n(balancer ${lb.port}, backend ${h.port}); stats ${JSON.stringify(lb.stats().backends[0])}, backend sockets ${h.server.listening}`,
      );
    });
    await waitUntil(
      'no backend connection left',
      () => lb.stats().backends.every((b) => b.activeConnections === 0 && b.idleConnections === 0),
      { timeoutMs: 5_000 },
    );
  });
});
