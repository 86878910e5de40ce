// Backend protection on real sockets: a backend's maxConnections holds for the whole
// balancer (several workers) while many clients hammer it; requests beyond it wait in a
// FIFO queue and go in order as slots free; a wait past queue.timeoutMs, or a full queue,
// is answered 503 with Retry-After; a live change of the limit applies at once.
import { afterEach, describe, expect, it } from 'vitest';

import { startBalancer } from '../helpers/balancer.js';
import { runCleanups } from '../helpers/cleanup.js';
import { header } from '../helpers/http-message.js';
import { type HttpBackend, startHttpBackend } from '../helpers/http-backend.js';
import { RawClient } from '../helpers/raw-client.js';
import { delay, waitUntil } from '../helpers/wait.js';
import { connectFrom } from './support.js';

afterEach(runCleanups);

/** GET `path` with X-Request-Id `id` on a new connection; resolves with the response. */
async function request(port: number, id: string, path = '/') {
  const client = await connectFrom(port, '127.0.0.1');
  return client.get(path, { 'X-Request-Id': id });
}

describe('maxConnections per backend', () => {
  it('a backend with maxConnections 2 never sees a third request at once while 50 clients hammer it', async () => {
    const backend = await startHttpBackend('b1', { delayMs: () => 20 });
    const lb = await startBalancer({
      workers: 2,
      backends: [{ address: backend.address, maxConnections: 2 }],
      queue: { maxPending: 1000, timeoutMs: 20_000 },
    });
    const clients = await Promise.all(Array.from({ length: 50 }, () => connectFrom(lb.port, '127.0.0.1')));
    const statuses = await Promise.all(
      clients.map(async (client, c) => {
        const seen: number[] = [];
        for (let i = 0; i < 3; i++) seen.push((await client.get('/', { 'X-Request-Id': `${c}-${i}` })).status);
        return seen;
      }),
    );
    expect(statuses.flat().every((status) => status === 200)).toBe(true);
    expect(backend.requests).toBe(150);
    expect(backend.peakInFlight).toBe(2);
    const stats = lb.stats().backends[0]!;
    expect(stats.dequeued).toBeGreaterThan(0);
    expect(stats.inFlight).toBe(0);
    expect(stats.queued).toBe(0);
    expect(stats.queueTimeouts).toBe(0);
    expect(stats.maxConnections).toBe(2);
  });

  it('the queue drains in arrival order', async () => {
    const backend = await startHttpBackend('b1', { delayMs: (req) => (req.headers['x-request-id'] === 'first' ? 300 : 30) });
    const lb = await startBalancer({ workers: 1, backends: [{ address: backend.address, maxConnections: 1 }] });
    const first = request(lb.port, 'first');
    await waitUntil('the first request at the backend', () => backend.ids.length === 1);
    const rest: Array<Promise<unknown>> = [];
    for (const id of ['a', 'b', 'c', 'd', 'e']) {
      rest.push(request(lb.port, id));
      await waitUntil(`${id} queued`, () => lb.stats().backends[0]!.queued === rest.length);
    }
    await Promise.all([first, ...rest]);
    expect(backend.ids).toEqual(['first', 'a', 'b', 'c', 'd', 'e']);
    expect(backend.peakInFlight).toBe(1);
    expect(lb.stats().backends[0]!.dequeued).toBe(5);
  });

  it('a wait past queue.timeoutMs is answered 503 with Retry-After, and the backend never sees it', async () => {
    const backend = await startHttpBackend('b1', { delayMs: () => 1_500 });
    const lb = await startBalancer({
      workers: 2,
      backends: [{ address: backend.address, maxConnections: 1 }],
      queue: { timeoutMs: 300 },
    });
    const slow = request(lb.port, 'slow');
    await waitUntil('the slow request at the backend', () => backend.ids.length === 1);
    const started = Date.now();
    const refused = await request(lb.port, 'late');
    expect(refused.status).toBe(503);
    expect(header(refused, 'retry-after')).toBe('1');
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect((await slow).status).toBe(200);
    expect(backend.ids).toEqual(['slow']);
    const stats = lb.stats();
    expect(stats.backends[0]!.queueTimeouts).toBe(1);
    expect(stats.noBackend).toBe(1);
    // A lull longer than the timeout: the slot is free again and the next request goes at once.
    await delay(400);
    expect((await request(lb.port, 'after')).status).toBe(200);
  });

  it('a full queue answers 503 at once', async () => {
    const backend = await startHttpBackend('b1', { delayMs: () => 800 });
    const lb = await startBalancer({
      workers: 1,
      backends: [{ address: backend.address, maxConnections: 1 }],
      queue: { maxPending: 1, timeoutMs: 10_000 },
    });
    const first = request(lb.port, 'first');
    await waitUntil('the first request at the backend', () => backend.ids.length === 1);
    const waiting = request(lb.port, 'waiting');
    await waitUntil('one queued', () => lb.stats().backends[0]!.queued === 1);
    const refused = await request(lb.port, 'refused');
    expect(refused.status).toBe(503);
    expect(header(refused, 'retry-after')).toBe('1');
    expect((await first).status).toBe(200);
    expect((await waiting).status).toBe(200);
    expect(lb.stats().backends[0]!.queueFull).toBe(1);
  });

  it('a live change of maxConnections applies at once: raising it dispatches the waiting requests', async () => {
    // Each request holds its slot 3 s: the waiting ones can only start before then if the
    // raised limit lets them.
    const backend = await startHttpBackend('b1', { delayMs: () => 3_000 });
    const lb = await startBalancer({
      workers: 2,
      backends: [{ address: backend.address, maxConnections: 1 }],
      queue: { timeoutMs: 10_000 },
    });
    const requests = ['a', 'b', 'c'].map((id) => request(lb.port, id));
    await waitUntil('one at the backend, two queued', () => backend.ids.length === 1 && lb.stats().backends[0]!.queued === 2);
    lb.setMaxConnections(0, 3);
    const raised = Date.now();
    await waitUntil('all three at the backend', () => backend.ids.length === 3, { timeoutMs: 2_000 });
    expect(Date.now() - raised).toBeLessThan(2_500);
    expect(backend.peakInFlight).toBe(3);
    expect((await Promise.all(requests)).map((r) => r.status)).toEqual([200, 200, 200]);
    expect(lb.backends()[0]!.maxConnections).toBe(3);
    expect(() => lb.setMaxConnections(0, -1)).toThrow(/maxConnections: expected an integer from 0 to 1000000, got -1/);
  });

  it('lifting the limit dispatches waiters uncounted, and the count returns to 0 for a later limit', async () => {
    const backend = await startHttpBackend('b1', { delayMs: () => 500 });
    const lb = await startBalancer({ workers: 1, backends: [{ address: backend.address, maxConnections: 1 }] });
    const requests = ['a', 'b'].map((id) => request(lb.port, id));
    await waitUntil('one at the backend, one queued', () => backend.ids.length === 1 && lb.stats().backends[0]!.queued === 1);
    lb.setMaxConnections(0, 0);
    await waitUntil('both at the backend', () => backend.ids.length === 2, { timeoutMs: 400 });
    expect((await Promise.all(requests)).map((r) => r.status)).toEqual([200, 200]);
    expect(lb.stats().backends[0]!.inFlight).toBe(0);
    lb.setMaxConnections(0, 1);
    expect((await request(lb.port, 'c')).status).toBe(200);
    expect(lb.stats().backends[0]!.inFlight).toBe(0);
  });

  it('a limit lowered below what is in flight admits nothing more until enough have ended', async () => {
    let answeredBeforeLate = -1;
    const backend: HttpBackend = await startHttpBackend('b1', {
      delayMs: (req) => {
        if (req.headers['x-request-id'] !== 'late') return 400;
        answeredBeforeLate = backend.requests;
        return 0;
      },
    });
    const lb = await startBalancer({ workers: 1, backends: [{ address: backend.address, maxConnections: 3 }] });
    const first = ['a', 'b', 'c'].map((id) => request(lb.port, id));
    await waitUntil('three at the backend', () => backend.ids.length === 3);
    lb.setMaxConnections(0, 1);
    const late = request(lb.port, 'late');
    await waitUntil('late queued', () => lb.stats().backends[0]!.queued === 1);
    await Promise.all(first);
    expect((await late).status).toBe(200);
    // It reached the backend only once the three before it were answered.
    expect(answeredBeforeLate).toBe(3);
    expect(backend.peakInFlight).toBe(3);
  });
});

describe('a queued request and the client body timeout', () => {
  const post = 'POST /upload HTTP/1.1\r\nHost: h\r\nX-Request-Id: queued\r\nContent-Length: 5\r\n\r\nhello';

  it('regression (queued request body timed): a queued POST with its whole body sent gets the backend answer, not 408', async () => {
    const backend = await startHttpBackend('b1', { delayMs: (req) => (req.headers['x-request-id'] === 'slow' ? 1_200 : 0) });
    const lb = await startBalancer({
      workers: 1,
      backends: [{ address: backend.address, maxConnections: 1 }],
      queue: { timeoutMs: 10_000 },
      timeouts: { clientBodyMs: 200 },
    });
    const slow = request(lb.port, 'slow');
    await waitUntil('the slow request at the backend', () => backend.ids.length === 1);
    const client = await RawClient.connect(lb.port);
    await client.write(post);
    await waitUntil('the POST queued', () => lb.stats().backends[0]!.queued === 1);
    // Far longer than clientBodyMs: the wait in the queue is not the body's.
    const answer = await client.readResponse({ timeoutMs: 8_000 });
    expect(answer.status).toBe(200);
    expect(answer.body.toString()).toBe('hello');
    expect((await slow).status).toBe(200);
    expect(backend.ids).toEqual(['slow', 'queued']);
    // The slot is given back just after the answer's last byte is written.
    await waitUntil('the slot free again', () => lb.stats().backends[0]!.inFlight === 0);
    expect(lb.stats().backends[0]!.queued).toBe(0);
    expect(lb.stats().badRequests).toBe(0);
  });

  it('regression (queued request body timed): a queued POST past queue.timeoutMs gets the queue 503, not 408', async () => {
    const backend = await startHttpBackend('b1', { delayMs: () => 1_500 });
    const lb = await startBalancer({
      workers: 1,
      backends: [{ address: backend.address, maxConnections: 1 }],
      queue: { timeoutMs: 600 },
      timeouts: { clientBodyMs: 200 },
    });
    const slow = request(lb.port, 'slow');
    await waitUntil('the slow request at the backend', () => backend.ids.length === 1);
    const client = await RawClient.connect(lb.port);
    await client.write(post);
    const refused = await client.readResponse({ timeoutMs: 5_000 });
    expect(refused.status).toBe(503);
    expect(header(refused, 'retry-after')).toBe('1');
    expect((await slow).status).toBe(200);
    expect(backend.ids).toEqual(['slow']);
    const stats = lb.stats();
    expect(stats.backends[0]!.queueTimeouts).toBe(1);
    expect(stats.backends[0]!.queued).toBe(0);
    expect(stats.badRequests).toBe(0);
  });
});

describe('a queued request whose client goes away', () => {
  it('regression (queued client close unnoticed): a client that closes while queued leaves the queue and never reaches the backend', async () => {
    const backend = await startHttpBackend('b1', { delayMs: (req) => (req.headers['x-request-id'] === 'slow' ? 3_000 : 0) });
    const lb = await startBalancer({
      workers: 1,
      backends: [{ address: backend.address, maxConnections: 1 }],
      queue: { timeoutMs: 10_000 },
    });
    let slowAnswered = false;
    const slow = request(lb.port, 'slow').then((response) => {
      slowAnswered = true;
      return response;
    });
    await waitUntil('the slow request at the backend', () => backend.ids.length === 1);
    const client = await RawClient.connect(lb.port);
    await client.write('POST /gone HTTP/1.1\r\nHost: h\r\nX-Request-Id: gone\r\nContent-Length: 5\r\n\r\nhello');
    await waitUntil('the POST queued', () => lb.stats().backends[0]!.queued === 1);
    client.end();
    // It leaves the queue on its own, not because the slot freed.
    await waitUntil('the queue empty again', () => lb.stats().backends[0]!.queued === 0);
    expect(slowAnswered).toBe(false);
    expect(await client.waitForServerClose(2_000)).toBe(true);
    expect((await slow).status).toBe(200);
    // A lull after the slot is free: the abandoned request must not take it.
    await delay(300);
    expect(backend.ids).toEqual(['slow']);
    expect((await request(lb.port, 'after')).status).toBe(200);
    expect(backend.ids).toEqual(['slow', 'after']);
    await waitUntil('the slot free again', () => lb.stats().backends[0]!.inFlight === 0);
  });
});
