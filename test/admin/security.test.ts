// The admin server's guards: no start on a non-loopback address without a token; with a
// token, every API request needs `Authorization: Bearer` (compared in constant time) and
// the token never shows in an answer; without one, only loopback Host names are served
// (DNS rebinding); cross-origin requests are refused; listen errors are lb-native's.
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';

import { startAdminServer } from '../../src/admin/admin-server.js';
import { createBearerAuth } from '../../src/admin/auth.js';
import { isLoopbackHostHeader } from '../../src/admin/listen-address.js';
import { isLoopback } from '../../src/config/address.js';
import { LbConfigError, LbListenError } from '../../src/index.js';
import { startBalancer } from '../helpers/balancer.js';
import { onCleanup, runCleanups } from '../helpers/cleanup.js';
import { startHttpBackend } from '../helpers/http-backend.js';
import { adminRequest, startAdmin } from './support.js';

afterEach(runCleanups);

const token = 's3cr3t-Token_0123456789';

async function balancer() {
  const a = await startHttpBackend('a');
  return startBalancer({ backends: [a.address] });
}

async function refusal(promise: Promise<unknown>): Promise<LbConfigError> {
  try {
    const server = (await promise) as { close(): Promise<void> };
    await server.close();
  } catch (error) {
    expect(error).toBeInstanceOf(LbConfigError);
    return error as LbConfigError;
  }
  throw new Error('expected startAdminServer to refuse');
}

describe('starting', () => {
  it('refuses a non-loopback address without a token, naming admin.token', async () => {
    const lb = await balancer();
    for (const listen of ['0.0.0.0:0', '[::]:0']) {
      const error = await refusal(startAdminServer(lb, { listen }));
      expect(error.issues).toEqual([{ path: 'admin.token', message: expect.stringContaining('not a loopback address') }]);
      expect(error.message).toMatch(
        /^admin\.token: required when admin\.listen is not a loopback address \(got .*\); set admin\.token/,
      );
    }
  });

  it('needs no token on loopback: 127.0.0.0/8, localhost, [::1]', async () => {
    const lb = await balancer();
    for (const listen of ['127.0.0.1:0', '127.0.0.2:0', 'localhost:0']) {
      const admin = await startAdmin(lb, { listen });
      expect(isLoopback(admin.address)).toBe(true);
      expect(admin.url).toMatch(/^http:\/\/(127\.0\.0\.[12]|\[::1\]):\d+\/$/);
    }
  });

  it('refuses an invalid listen address or token without echoing the token', async () => {
    const lb = await balancer();
    expect((await refusal(startAdminServer(lb, { listen: '127.0.0.1' }))).issues[0]?.path).toBe('admin.listen');
    expect((await refusal(startAdminServer(lb, { listen: '127.0.0.1:99999' }))).issues[0]?.path).toBe('admin.listen');
    expect((await refusal(startAdminServer(lb, { listen: '127.0.0.1:0', token: '' }))).issues[0]?.path).toBe('admin.token');
    const spaced = await refusal(startAdminServer(lb, { listen: '127.0.0.1:0', token: 'has a space' }));
    expect(spaced.issues[0]?.path).toBe('admin.token');
    expect(spaced.message).not.toContain('has a space');
  });

  it('reports a port in use as LbListenError', async () => {
    const lb = await balancer();
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    onCleanup(() => new Promise<void>((resolve) => taken.close(() => resolve())));
    const port = (taken.address() as net.AddressInfo).port;
    await expect(startAdminServer(lb, { listen: `127.0.0.1:${port}` })).rejects.toSatisfy(
      (error) => error instanceof LbListenError && error.message === `listen 127.0.0.1:${port}: address in use`,
    );
  });

  it('close() is idempotent and frees the port', async () => {
    const lb = await balancer();
    const admin = await startAdminServer(lb, { listen: '127.0.0.1:0' });
    await Promise.all([admin.close(), admin.close()]);
    const again = await startAdmin(lb, { listen: `127.0.0.1:${admin.port}` });
    expect(again.port).toBe(admin.port);
  });
});

describe('with a token', () => {
  const apiCalls: [method: string, path: string, body?: unknown][] = [
    ['GET', '/stats'],
    ['GET', '/metrics'],
    ['GET', '/backends'],
    ['GET', '/backends/0'],
    ['POST', '/backends', { address: '127.0.0.1:9' }],
    ['PATCH', '/backends/0', { weight: 2 }],
    ['DELETE', '/backends/0'],
    ['POST', '/reload'],
    ['GET', '/no-such-route'],
  ];

  it('answers 401 with WWW-Authenticate: Bearer to every API request without the right token', async () => {
    const lb = await balancer();
    const admin = await startAdmin(lb, { token });
    const wrong = [
      '',
      'Bearer',
      'Bearer wrong',
      `Bearer ${token}x`,
      `Bearer ${token.slice(0, -1)}`,
      `Basic ${Buffer.from(`u:${token}`).toString('base64')}`,
      token,
    ];
    for (const [method, path, body] of apiCalls) {
      const missing = await adminRequest(admin, path, { method, body });
      expect(missing.status, `${method} ${path}`).toBe(401);
      expect(missing.headers['www-authenticate']).toBe('Bearer realm="lb-native admin"');
      expect(missing.json).toEqual({
        error: { code: 'unauthorized', message: 'this admin API needs Authorization: Bearer <token>' },
      });
      for (const authorization of wrong) {
        const reply = await adminRequest(admin, path, {
          method,
          body,
          headers: authorization ? { Authorization: authorization } : {},
        });
        expect(reply.status, `${method} ${path} with '${authorization}'`).toBe(401);
        expect(reply.headers['www-authenticate']).toMatch(/^Bearer realm="lb-native admin"/);
        expect(reply.text).not.toContain(token);
      }
    }
    // Nothing changed.
    expect(lb.backends()).toMatchObject([{ id: 0, weight: 1, state: 'ready' }]);
  });

  it('serves every route with the right token (scheme case-insensitive)', async () => {
    const lb = await balancer();
    const admin = await startAdmin(lb, { token });
    expect((await adminRequest(admin, '/stats', { token })).status).toBe(200);
    expect((await adminRequest(admin, '/metrics', { headers: { Authorization: `bearer ${token}` } })).status).toBe(200);
    const b = await startHttpBackend('b');
    expect((await adminRequest(admin, '/backends', { method: 'POST', token, body: { address: b.address } })).status).toBe(201);
    expect((await adminRequest(admin, '/backends/1', { method: 'PATCH', token, body: { weight: 4 } })).status).toBe(200);
    expect((await adminRequest(admin, '/backends/1?wait=1', { method: 'DELETE', token })).status).toBe(200);
    expect((await adminRequest(admin, '/reload', { method: 'POST', token })).status).toBe(501);
  });

  it('serves the static dashboard page without the token; it holds no data', async () => {
    const lb = await balancer();
    const admin = await startAdmin(lb, { token });
    const page = await adminRequest(admin, '/');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.text).not.toContain(token);
    expect(page.text).not.toContain(lb.backends()[0]!.address);
  });

  it('compares tokens by digest, so any length is checked without leaking it', () => {
    const auth = createBearerAuth(token);
    expect(auth.check(`Bearer ${token}`)).toBe('ok');
    expect(auth.check(undefined)).toBe('missing');
    expect(auth.check('Bearer a')).toBe('invalid');
    expect(auth.check(`Bearer ${'x'.repeat(10_000)}`)).toBe('invalid');
    expect(auth.check(`Bearer ${token} extra`)).toBe('invalid');
  });
});

describe('browser-borne attacks', () => {
  it('without a token, refuses a Host that is not a loopback name (DNS rebinding)', async () => {
    const lb = await balancer();
    const admin = await startAdmin(lb);
    const evil = await adminRequest(admin, '/stats', { headers: { Host: `evil.example:${admin.port}` } });
    expect(evil.status).toBe(403);
    expect(evil.json.error.code).toBe('forbidden_host');
    const rebinding = await adminRequest(admin, '/backends', {
      method: 'POST',
      body: { address: '127.0.0.1:9' },
      headers: { Host: 'attacker.test' },
    });
    expect(rebinding.status).toBe(403);
    expect(lb.backends()).toHaveLength(1);
    for (const host of [`localhost:${admin.port}`, `127.0.0.1:${admin.port}`, `[::1]:${admin.port}`, 'LOCALHOST']) {
      expect((await adminRequest(admin, '/stats', { headers: { Host: host } })).status, host).toBe(200);
    }
    expect(isLoopbackHostHeader('127.1.2.3:80')).toBe(true);
    expect(isLoopbackHostHeader('127.evil.example')).toBe(false);
    expect(isLoopbackHostHeader(undefined)).toBe(false);
  });

  it('refuses cross-origin requests, even simple ones a page could send without a preflight', async () => {
    const lb = await balancer();
    const admin = await startAdmin(lb);
    const host = `127.0.0.1:${admin.port}`;
    const crossSite = await adminRequest(admin, '/reload', {
      method: 'POST',
      headers: { Origin: 'http://evil.example', Host: host },
    });
    expect(crossSite.status).toBe(403);
    expect(crossSite.json.error.code).toBe('forbidden_origin');
    expect((await adminRequest(admin, '/stats', { headers: { Origin: 'null', Host: host } })).status).toBe(403);
    // The dashboard's own requests carry its own origin.
    expect((await adminRequest(admin, '/stats', { headers: { Origin: `http://${host}`, Host: host } })).status).toBe(200);
    // A text/plain body (a "simple" cross-origin POST) is refused even without an Origin.
    const plain = await adminRequest(admin, '/backends', {
      method: 'POST',
      body: '{"address":"127.0.0.1:9"}',
      headers: { 'Content-Type': 'text/plain' },
    });
    expect(plain.status).toBe(415);
  });

  it('serves the page with a strict Content-Security-Policy and no framing', async () => {
    const lb = await balancer();
    const admin = await startAdmin(lb);
    const page = await adminRequest(admin, '/');
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toMatch(/script-src 'sha256-[A-Za-z0-9+/=]+'/);
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(page.headers['x-frame-options']).toBe('DENY');
    // Nothing from another host.
    expect(page.text).not.toMatch(/(src|href)="(https?:)?\/\//);
  });
});
