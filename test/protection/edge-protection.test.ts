// Edge protection on real sockets: allow/deny at accept (IPv4 and IPv6 loopback), the
// connections-per-client limit, rate limits (429 + Retry-After, recovery after a lull, a
// neighbour unaffected), the bounded bucket table under a flood of keys, and a reload
// that swaps the rules. Client addresses are distinct loopback sources (127.0.0.x).
import { afterEach, describe, expect, it } from 'vitest';

import type { ProtectionOptions } from '../../src/config/protection-schema.js';
import { startBalancer } from '../helpers/balancer.js';
import { runCleanups } from '../helpers/cleanup.js';
import { header } from '../helpers/http-message.js';
import { startHttpBackend } from '../helpers/http-backend.js';
import { RawClient } from '../helpers/raw-client.js';
import { delay, waitUntil } from '../helpers/wait.js';
import { connectFrom } from './support.js';

afterEach(runCleanups);

async function setup(protection: ProtectionOptions, listen = '127.0.0.1:0', workers = 2) {
  const backend = await startHttpBackend('b1');
  const lb = await startBalancer({ listen, workers, backends: [backend.address], protection });
  return { backend, lb };
}

describe('allow and deny lists, at accept', () => {
  it('closes a deny-listed IPv4 client before it can send anything, serves the others, counts it', async () => {
    const { backend, lb } = await setup({ deny: ['127.0.0.2/32'] });
    const denied = await connectFrom(lb.port, '127.0.0.2');
    expect(await denied.refusedAtAccept()).toBe(true);
    expect(denied.received().length).toBe(0);
    const allowed = await connectFrom(lb.port, '127.0.0.1');
    expect((await allowed.get('/')).status).toBe(200);
    expect(backend.requests).toBe(1);
    expect(lb.stats().protection?.denied).toBe(1);
  });

  it('with an allow list, only its clients are served; deny wins over allow', async () => {
    const { lb } = await setup({ allow: ['127.0.0.0/24'], deny: ['127.0.0.9'] });
    expect((await (await connectFrom(lb.port, '127.0.0.5')).get('/')).status).toBe(200);
    expect(await (await connectFrom(lb.port, '127.0.1.5')).refusedAtAccept()).toBe(true);
    expect(await (await connectFrom(lb.port, '127.0.0.9')).refusedAtAccept()).toBe(true);
    expect(lb.stats().protection?.denied).toBe(2);
  });

  it('IPv6 loopback: ::1 denied by ::1/128, served by an allow list naming it', async () => {
    const denied = await setup({ deny: ['::1/128'] }, '[::1]:0');
    expect(await (await connectFrom(denied.lb.port, '::1')).refusedAtAccept()).toBe(true);
    expect(denied.backend.requests).toBe(0);
    const allowed = await setup({ allow: ['::1'], deny: ['10.0.0.0/8'] }, '[::1]:0');
    expect((await (await connectFrom(allowed.lb.port, '::1')).get('/')).status).toBe(200);
  });
});

describe('maxConnectionsPerClient', () => {
  it('closes a client’s connection over the limit at accept, others unaffected, a freed slot reusable', async () => {
    const { lb } = await setup({ maxConnectionsPerClient: 2 });
    const first = await connectFrom(lb.port, '127.0.0.7');
    const second = await connectFrom(lb.port, '127.0.0.7');
    expect((await first.get('/')).status).toBe(200);
    expect((await second.get('/')).status).toBe(200);
    // The limit is for the process: the third is refused whichever worker accepts it.
    for (let i = 0; i < 4; i++) {
      expect(await (await connectFrom(lb.port, '127.0.0.7')).refusedAtAccept()).toBe(true);
    }
    expect((await (await connectFrom(lb.port, '127.0.0.8')).get('/')).status).toBe(200);
    expect(lb.stats().protection?.connectionsLimited).toBe(4);
    first.socket.destroy();
    const freed = await waitUntil('a slot to free', async () => {
      const again = await connectFrom(lb.port, '127.0.0.7');
      return (await again.refusedAtAccept(300)) ? undefined : again;
    });
    expect((await freed!.get('/')).status).toBe(200); // the answer to the request it sent
    expect((await second.get('/')).status).toBe(200);
  });
});

describe('rate limits', () => {
  it('429 with Retry-After over the rate, a neighbour keeps full speed, and the client recovers after a lull', async () => {
    const { backend, lb } = await setup(
      { rateLimits: [{ name: 'per-client', key: 'client', rate: 2, burst: 3 }] },
      '127.0.0.1:0',
      1,
    );
    const greedy = await connectFrom(lb.port, '127.0.0.20');
    for (let i = 0; i < 3; i++) expect((await greedy.get('/')).status).toBe(200);
    const refused = await greedy.get('/');
    expect(refused.status).toBe(429);
    expect(header(refused, 'retry-after')).toBe('1');
    // A request without a body keeps its connection: the same socket is answered again.
    expect((await greedy.get('/')).status).toBe(429);
    const neighbour = await connectFrom(lb.port, '127.0.0.21');
    for (let i = 0; i < 3; i++) expect((await neighbour.get('/')).status).toBe(200);
    expect(backend.requests).toBe(6);
    // A lull longer than the refill time of the whole bucket: the burst is back, no more.
    await delay(1_700);
    for (let i = 0; i < 3; i++) expect((await greedy.get('/')).status).toBe(200);
    expect((await greedy.get('/')).status).toBe(429);
    const stats = lb.stats();
    expect(stats.protection?.rateLimited).toBe(3);
    expect(stats.protection?.limitedByRule[0]).toBe(3);
    expect(stats.badRequests).toBe(3);
  });

  it('a 429 to a HEAD request closes the connection (its body would break the framing)', async () => {
    const { lb } = await setup({ rateLimits: [{ key: 'client', rate: 0.01, burst: 1 }] }, '127.0.0.1:0', 1);
    const client = await RawClient.connect(lb.port);
    await client.write('HEAD / HTTP/1.1\r\nHost: lb.test\r\n\r\n');
    expect((await client.readResponse({ method: 'HEAD' })).status).toBe(200);
    await client.write('HEAD / HTTP/1.1\r\nHost: lb.test\r\n\r\n');
    const refused = await client.readResponse({ method: 'HEAD' });
    expect(refused.status).toBe(429);
    expect(header(refused, 'connection')).toBe('close');
    expect(await client.waitForServerClose(2_000)).toBe(true);
  });

  it('by header value, and one bucket for a path prefix', async () => {
    const { lb } = await setup(
      {
        rateLimits: [
          { key: 'header', header: 'x-api-key', rate: 0.01, burst: 1 },
          { key: 'path', pathPrefix: '/login', rate: 0.01, burst: 2 },
        ],
      },
      '127.0.0.1:0',
      1,
    );
    const client = await connectFrom(lb.port, '127.0.0.30');
    expect((await client.get('/', { 'X-Api-Key': 'alpha' })).status).toBe(200);
    const refused = await client.get('/', { 'X-Api-Key': 'alpha' });
    expect(refused.status).toBe(429);
    expect(Number(header(refused, 'retry-after'))).toBeGreaterThanOrEqual(99);
    expect((await client.get('/', { 'X-Api-Key': 'beta' })).status).toBe(200);
    expect((await client.get('/')).status).toBe(200); // no header: that rule does not apply
    // /login: two for everyone together, whoever asks.
    expect((await client.get('/login')).status).toBe(200);
    expect((await (await connectFrom(lb.port, '127.0.0.31')).get('/login/x')).status).toBe(200);
    expect((await (await connectFrom(lb.port, '127.0.0.32')).get('/login')).status).toBe(429);
    expect((await client.get('/other')).status).toBe(200);
    expect(lb.stats().protection?.limitedByRule.slice(0, 2)).toEqual([1, 1]);
  });

  it('a flood of distinct keys keeps each worker’s table at its fixed size', async () => {
    const { lb } = await setup(
      { rateLimitKeys: 1024, rateLimits: [{ key: 'header', header: 'x-key', rate: 0.001, burst: 1 }] },
      '127.0.0.1:0',
      1,
    );
    const client = await connectFrom(lb.port, '127.0.0.40');
    const before = lb.stats().protection!;
    for (let i = 0; i < 3_000; i++) expect((await client.get('/', { 'X-Key': `k${i}` })).status).toBe(200);
    const after = lb.stats().protection!;
    expect(after.rateTableKeys).toBeLessThanOrEqual(1024);
    expect(after.rateTableKeys).toBeGreaterThan(900);
    expect(after.rateTableBytes).toBe(1024 * 32);
    expect(after.rateTableEvictions).toBeGreaterThan(before.rateTableEvictions);
  });
});

describe('reloading the rules', () => {
  // A reconfigure posts the new snapshot to every worker's inbox; each adopts it at its
  // next loop turn, so a connection racing the reload may still meet the old rules.
  it('a reconfigure swaps deny lists and rate limits', async () => {
    const { backend, lb } = await setup({});
    const options = { listen: `127.0.0.1:${lb.port}`, workers: 2, backends: [backend.address] };
    expect((await (await connectFrom(lb.port, '127.0.0.50')).get('/')).status).toBe(200);
    await lb.reconfigure({ ...options, protection: { deny: ['127.0.0.50'] } });
    await waitUntil('the deny list on every worker', async () => {
      const attempts = await Promise.all([1, 2, 3, 4].map(() => connectFrom(lb.port, '127.0.0.50')));
      const closed = await Promise.all(attempts.map((c) => c.refusedAtAccept(300)));
      return closed.every(Boolean);
    });
    await lb.reconfigure({ ...options, protection: { rateLimits: [{ key: 'client', rate: 0.01, burst: 1 }] } });
    const client = await waitUntil('the deny list gone', async () => {
      const attempt = await connectFrom(lb.port, '127.0.0.50');
      return (await attempt.refusedAtAccept(100)) ? undefined : attempt;
    });
    expect((await client!.get('/')).status).toBe(200);
    expect((await client!.get('/')).status).toBe(429);
    await lb.reconfigure({ ...options });
    await waitUntil('the rate limit gone', async () => (await client!.get('/')).status === 200);
    expect((await client!.get('/')).status).toBe(200);
  });
});
