// Every strategy end to end through the real addon: which backend gets each request,
// measured with a real HTTP client over real sockets. Bounds are generous shares over
// many requests, never timings.
import { afterEach, describe, expect, it } from 'vitest';

import { strategies } from '../../src/index.js';
import { startBalancer } from '../helpers/balancer.js';
import { runCleanups } from '../helpers/cleanup.js';
import { startHttpBackend } from '../helpers/http-backend.js';
import { backendOf, countBackends, keepAliveAgent, request } from './support.js';

afterEach(runCleanups);

async function threeBackends(delayOfB = 0) {
  return Promise.all([
    startHttpBackend('a'),
    startHttpBackend('b', delayOfB ? { delayMs: () => delayOfB } : {}),
    startHttpBackend('c'),
  ]);
}

describe('weights', () => {
  it('weights 1:3 over 2 workers: the heavier backend gets 3/4 of 4000 requests (within 3 points)', async () => {
    const light = await startHttpBackend('light');
    const heavy = await startHttpBackend('heavy');
    const lb = await startBalancer({
      workers: 2,
      backends: [
        { address: light.address, weight: 1 },
        { address: heavy.address, weight: 3 },
      ],
    });
    const counts = await countBackends(lb.port, 4000, { concurrency: 8 });
    expect((counts.get('light') ?? 0) + (counts.get('heavy') ?? 0)).toBe(4000);
    const share = (counts.get('heavy') ?? 0) / 4000;
    expect(share, JSON.stringify([...counts])).toBeGreaterThan(0.72);
    expect(share, JSON.stringify([...counts])).toBeLessThan(0.78);
    // The stats say the same.
    const stats = lb.stats().backends;
    expect(stats.map((b) => [b.weight, b.requests])).toEqual([
      [1, counts.get('light')],
      [3, counts.get('heavy')],
    ]);
  });
});

describe('every strategy', () => {
  it.for(strategies)('%s: accepted end to end, every request answered 200 by some backend', async (strategy) => {
    const backends = await threeBackends();
    const lb = await startBalancer({ strategy, workers: 2, backends: backends.map((b) => b.address) });
    expect(lb.strategy).toBe(strategy);
    const counts = await countBackends(lb.port, 60, {
      concurrency: 4,
      headers: { 'x-session-id': 'session-1' },
    });
    const answered = [...counts].filter(([name]) => ['a', 'b', 'c'].includes(name)).reduce((n, [, c]) => n + c, 0);
    expect(answered, JSON.stringify([...counts])).toBe(60);
    expect(lb.stats().responses2xx).toBe(60);
  });
});

describe('hashing strategies', () => {
  it('ip-hash: each client address sticks to one backend; different addresses spread', async () => {
    const backends = await threeBackends();
    const lb = await startBalancer({ strategy: 'ip-hash', workers: 2, backends: backends.map((b) => b.address) });
    const chosen = new Map<string, string>();
    for (let host = 1; host <= 24; host += 1) {
      const localAddress = `127.0.0.${host}`;
      const seen = new Set<string>();
      // New connections each time (agent: false): the port changes, the address does not.
      for (let i = 0; i < 5; i += 1) seen.add(backendOf(await request(lb.port, `/ip${i}`, { localAddress })));
      expect([...seen], localAddress).toHaveLength(1);
      chosen.set(localAddress, [...seen][0] ?? '');
    }
    expect(new Set(chosen.values()).size, JSON.stringify([...chosen])).toBeGreaterThan(1);
  });

  it('header-hash: the same header value sticks; the header is configurable', async () => {
    const backends = await threeBackends();
    const lb = await startBalancer({
      strategy: 'header-hash',
      hashHeader: 'x-tenant',
      workers: 2,
      backends: backends.map((b) => b.address),
    });
    const agent = keepAliveAgent(4);
    const used = new Set<string>();
    for (let tenant = 0; tenant < 30; tenant += 1) {
      const seen = new Set<string>();
      for (let i = 0; i < 4; i += 1) {
        seen.add(backendOf(await request(lb.port, `/t${i}`, { agent, headers: { 'x-tenant': `tenant-${tenant}` } })));
      }
      expect(seen.size, `tenant-${tenant}`).toBe(1);
      used.add([...seen][0] ?? '');
    }
    expect(used.size).toBeGreaterThan(1);
  });

  it('uri-hash: the same URI goes to the same backend; removing one backend moves only its URIs', async () => {
    const backends = await threeBackends();
    const lb = await startBalancer({ strategy: 'uri-hash', workers: 2, backends: backends.map((b) => b.address) });
    const agent = keepAliveAgent(4);
    const uris = Array.from({ length: 90 }, (_, i) => `/item/${i}?v=${i % 7}`);
    const owner = async (uri: string) => backendOf(await request(lb.port, uri, { agent }));

    const before = new Map<string, string>();
    for (const uri of uris) {
      const first = await owner(uri);
      expect(await owner(uri), uri).toBe(first);
      before.set(uri, first);
    }
    const perBackend = (name: string) => uris.filter((u) => before.get(u) === name).length;
    expect(perBackend('a') * perBackend('b') * perBackend('c'), JSON.stringify([...before])).toBeGreaterThan(0);

    await lb.removeBackend(backends[1]?.address ?? '');
    for (const uri of uris) {
      const now = await owner(uri);
      if (before.get(uri) === 'b') expect(['a', 'c'], uri).toContain(now);
      else expect(now, uri).toBe(before.get(uri));
    }
  });
});

describe('cookie', () => {
  it('the first response sets lb_backend; sending it back sticks to that backend', async () => {
    const backends = await threeBackends();
    const lb = await startBalancer({ strategy: 'cookie', workers: 2, backends: backends.map((b) => b.address) });
    const first = await request(lb.port, '/');
    const setCookie = first.headers['set-cookie'] ?? [];
    expect(setCookie, JSON.stringify(first.headers)).toHaveLength(1);
    const match = /^lb_backend=([0-9a-f]+); Path=\/; HttpOnly$/.exec(setCookie[0] ?? '');
    expect(match, setCookie[0]).not.toBeNull();
    const cookie = `lb_backend=${match?.[1] ?? ''}`;
    const agent = keepAliveAgent(4);
    const sticky = new Set<string>();
    for (let i = 0; i < 30; i += 1) {
      const reply = await request(lb.port, `/s${i}`, {
        agent: i % 2 === 0 ? agent : false,
        headers: { cookie: `theme=dark; ${cookie}` },
      });
      sticky.add(backendOf(reply));
      // A client that already holds the right cookie is not sent it again.
      expect(reply.headers['set-cookie']).toBeUndefined();
    }
    expect([...sticky]).toEqual([backendOf(first)]);
    // Without the cookie, requests are spread (and each gets a cookie).
    const counts = await countBackends(lb.port, 30, { concurrency: 2 });
    expect(counts.size).toBeGreaterThan(1);
  });

  it('a stale cookie (its backend removed) is replaced by one naming the new backend', async () => {
    const backends = await threeBackends();
    const lb = await startBalancer({
      strategy: 'cookie',
      cookieName: 'srv',
      workers: 1,
      backends: backends.map((b) => b.address),
    });
    const first = await request(lb.port, '/');
    const value = /^srv=([0-9a-f]+);/.exec(first.headers['set-cookie']?.[0] ?? '')?.[1];
    expect(value, JSON.stringify(first.headers)).toBeDefined();
    const owner = backends.find((b) => b.name === backendOf(first));
    await lb.removeBackend(owner?.address ?? '');
    const after = await request(lb.port, '/', { headers: { cookie: `srv=${value ?? ''}` } });
    expect(after.status).toBe(200);
    expect(backendOf(after)).not.toBe(backendOf(first));
    expect(after.headers['set-cookie']?.[0]).toMatch(/^srv=[0-9a-f]+; Path=\/; HttpOnly$/);
  });
});

describe('load-aware strategies steer away from a slow backend', () => {
  it.for(['p2c', 'peak-ewma', 'least-connections'] as const)(
    '%s: a backend that answers 50 ms late gets clearly fewer of 300 concurrent requests',
    async (strategy) => {
      const backends = await threeBackends(50);
      const lb = await startBalancer({ strategy, workers: 2, backends: backends.map((b) => b.address) });
      const counts = await countBackends(lb.port, 300, { concurrency: 8 });
      const slow = counts.get('b') ?? 0;
      const fast = Math.min(counts.get('a') ?? 0, counts.get('c') ?? 0);
      // A fair share would be 100; round robin gives the slow one exactly that.
      expect(slow, JSON.stringify([...counts])).toBeLessThan(60);
      expect(fast, JSON.stringify([...counts])).toBeGreaterThan(slow);
    },
  );
});
