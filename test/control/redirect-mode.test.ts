// Redirect mode end to end: the balancer answers each request with a redirect to a
// backend's public URL, which a real client (fetch) follows.
import { afterEach, describe, expect, it } from 'vitest';

import { startBalancer } from '../helpers/balancer.js';
import { runCleanups } from '../helpers/cleanup.js';
import { startHttpBackend } from '../helpers/http-backend.js';
import { exchange } from '../helpers/raw-client.js';
import { header } from '../helpers/http-message.js';
import { closedPort } from './support.js';

afterEach(runCleanups);

const manual = (url: string, init: RequestInit = {}) =>
  fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(5_000), ...init });

describe('redirect mode', () => {
  it('a real client follows the 307 to the backend the balancer picked', async () => {
    const a = await startHttpBackend('a');
    const b = await startHttpBackend('b');
    const lb = await startBalancer({ mode: 'redirect', workers: 1, backends: [a.address, b.address] });
    const seen: string[] = [];
    for (let i = 0; i < 4; i += 1) {
      const response = await fetch(`${lb.url}page/${i}`, { signal: AbortSignal.timeout(5_000) });
      expect(response.status).toBe(200);
      expect(response.redirected).toBe(true);
      seen.push(response.headers.get('x-backend') ?? '');
      expect(await response.text()).toMatch(new RegExp(`^[ab] GET /page/${i} `));
    }
    expect(seen).toEqual(['a', 'b', 'a', 'b']);
    // The balancer never connected to a backend itself: only the client's followed requests arrived.
    expect(a.requests + b.requests).toBe(4);
    const stats = lb.stats();
    expect(stats.responses3xx).toBe(4);
    expect(stats.backends.map((s) => [s.requests, s.responses3xx, s.publicUrl])).toEqual([
      [2, 2, `http://${a.address}`],
      [2, 2, `http://${b.address}`],
    ]);
  });

  it('Location is the public URL followed by the path and query exactly as sent (percent-encoding untouched)', async () => {
    const target = await startHttpBackend('t');
    const lb = await startBalancer({
      mode: 'redirect',
      workers: 1,
      backends: [{ address: '127.0.0.1:9', publicUrl: `http://127.0.0.1:${target.port}/` }],
    });
    // Sent raw: a WHATWG client would normalise some of these targets before sending.
    for (const path of [
      '/',
      '/a/b/c',
      '/caf%C3%A9?q=a%2Fb&x=%20y',
      '/x?',
      '/%2e%2E/raw;p=1?a=1&a=2',
      '/%7Euser',
      '/a//b?c=d?e',
    ]) {
      const { responses } = await exchange(lb.port, `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
      expect(responses[0]?.status, path).toBe(307);
      expect(responses[0] && header(responses[0], 'location'), path).toBe(`http://127.0.0.1:${target.port}${path}`);
    }
    // The raw bytes too: no body to speak of, and the connection stays usable.
    const raw = await exchange(lb.port, 'GET /a%2Fb?c=%41 HTTP/1.1\r\nHost: x\r\n\r\nGET /second HTTP/1.1\r\nHost: x\r\n\r\n', {
      methods: ['GET', 'GET'],
    });
    expect(raw.responses.map((r) => [r.status, header(r, 'location')])).toEqual([
      [307, `http://127.0.0.1:${target.port}/a%2Fb?c=%41`],
      [307, `http://127.0.0.1:${target.port}/second`],
    ]);
    // A followed redirect reaches the real server with the same target.
    const followed = await fetch(`${lb.url}caf%C3%A9?q=a%2Fb`, { signal: AbortSignal.timeout(5_000) });
    expect(await followed.text()).toMatch(/^t GET \/caf%C3%A9\?q=a%2Fb /);
  });

  it.for([301, 302, 303, 307, 308] as const)('status %i is configurable', async (status) => {
    const lb = await startBalancer({
      mode: 'redirect',
      redirectStatus: status,
      workers: 1,
      backends: [{ address: '127.0.0.1:9', publicUrl: 'https://web1.example.com' }],
    });
    const response = await manual(`${lb.url}x?y=1`);
    expect(response.status).toBe(status);
    expect(response.headers.get('location')).toBe('https://web1.example.com/x?y=1');
  });

  it('an invalid request gets 400; no ready backend gets 503', async () => {
    const lb = await startBalancer({
      mode: 'redirect',
      workers: 1,
      backends: [{ address: '127.0.0.1:9', publicUrl: 'https://web1.example.com' }],
    });
    const bad = await exchange(lb.port, 'GET /a b c HTTP/1.1\r\nHost: x\r\n\r\n', { closeWaitMs: 2_000 });
    expect(bad.responses[0]?.status).toBe(400);
    expect(bad.serverClosed).toBe(true);
    const noHost = await exchange(lb.port, 'GET / HTTP/1.1\r\n\r\n', { closeWaitMs: 2_000 });
    expect(noHost.responses[0]?.status).toBe(400);

    lb.setBackendState(0, 'maint');
    const none = await manual(`${lb.url}x`);
    expect(none.status).toBe(503);
    expect(none.headers.get('location')).toBeNull();
    expect(lb.stats().noBackend).toBe(1);
  });

  it('a backend that is down by health checks gets no redirects; its port is never contacted by the balancer for traffic', async () => {
    const down = await closedPort();
    const up = await startHttpBackend('up');
    const lb = await startBalancer({
      mode: 'redirect',
      workers: 1,
      backends: [`127.0.0.1:${down}`, up.address],
      healthCheck: { type: 'tcp', intervalMs: 20, fall: 1 },
    });
    const deadline = Date.now() + 5_000;
    while (lb.backends()[0]?.health !== 'down' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(lb.backends()[0]?.health).toBe('down');
    for (let i = 0; i < 6; i += 1) {
      expect((await manual(`${lb.url}q`)).headers.get('location')).toBe(`http://${up.address}/q`);
    }
  });
});
