// The admin API's routes against a real balancer on 127.0.0.1 with real backends: what
// each answers, that changes reach the data path, and every error status with its JSON
// body `{ error: { code, message } }`.
import { afterEach, describe, expect, it } from 'vitest';

import { createBalancer } from '../../src/index.js';
import { startBalancer } from '../helpers/balancer.js';
import { onCleanup, runCleanups } from '../helpers/cleanup.js';
import { startHttpBackend } from '../helpers/http-backend.js';
import { delay, waitUntil } from '../helpers/wait.js';
import { adminRequest, sendTraffic, startAdmin } from './support.js';

afterEach(runCleanups);

async function setup(names = ['a', 'b'], slowMs = 0) {
  const backends = await Promise.all(
    names.map((name) => startHttpBackend(name, { delayMs: (req) => (req.url === '/slow' ? slowMs : 0) })),
  );
  // One worker: its round robin alternates between the backends deterministically (with
  // two, concurrent requests may land on different workers that both start at backend 0).
  const lb = await startBalancer({ backends: backends.map((b) => b.address), workers: 1 });
  const admin = await startAdmin(lb);
  return { backends, lb, admin };
}

function expectError(
  reply: { status: number; json: any; headers: Record<string, unknown> },
  status: number,
  code: string,
): string {
  expect(reply.status, JSON.stringify(reply.json)).toBe(status);
  expect(reply.headers['content-type']).toBe('application/json; charset=utf-8');
  expect(reply.json).toEqual({ error: expect.objectContaining({ code, message: expect.any(String) }) });
  return reply.json.error.message as string;
}

describe('reading', () => {
  it('GET /stats is balancer.stats() as JSON, and moves with traffic', async () => {
    const { lb, admin } = await setup();
    const before = await adminRequest(admin, '/stats');
    expect(before.status).toBe(200);
    expect(before.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(before.headers['cache-control']).toBe('no-store');
    expect(Object.keys(before.json).sort()).toEqual(Object.keys(lb.stats()).sort());
    await sendTraffic(lb.port, 20);
    const after = await adminRequest(admin, '/stats');
    expect(after.json.requests - before.json.requests).toBe(20);
    const perBackend = after.json.backends.map((b: { requests: number }) => b.requests);
    expect(perBackend[0] + perBackend[1]).toBe(20);
    expect(Math.min(...perBackend)).toBeGreaterThan(0);
    expect(after.json.backends[0]).toMatchObject({ id: 0, state: 'ready', health: 'unchecked' });
    expect(after.json.backends[0].totalTime).toHaveLength(after.json.latencyBoundsMs.length + 1);
  });

  it('HEAD /stats has the headers and no body', async () => {
    const { admin } = await setup();
    const reply = await adminRequest(admin, '/stats', { method: 'HEAD' });
    expect(reply.status).toBe(200);
    expect(reply.text).toBe('');
    expect(Number(reply.headers['content-length'])).toBeGreaterThan(100);
  });

  it('GET /stats answers 503 before the balancer has started', async () => {
    const a = await startHttpBackend('a');
    const lb = createBalancer({ listen: '127.0.0.1:0', backends: [a.address] });
    const admin = await startAdmin(lb);
    expectError(await adminRequest(admin, '/stats'), 503, 'not_running');
    // The backend list is known all the same.
    expect((await adminRequest(admin, '/backends')).json.backends).toHaveLength(1);
  });

  it('GET /backends and GET /backends/:id, by id or by address', async () => {
    const { backends, admin } = await setup();
    const list = await adminRequest(admin, '/backends');
    expect(list.status).toBe(200);
    expect(list.json).toEqual({
      strategy: 'round-robin',
      backends: [
        {
          id: 0,
          address: backends[0]!.address,
          host: '127.0.0.1',
          port: backends[0]!.port,
          weight: 1,
          state: 'ready',
          health: 'unchecked',
        },
        {
          id: 1,
          address: backends[1]!.address,
          host: '127.0.0.1',
          port: backends[1]!.port,
          weight: 1,
          state: 'ready',
          health: 'unchecked',
        },
      ],
      removing: [],
    });
    expect((await adminRequest(admin, '/backends/1')).json).toMatchObject({ id: 1, address: backends[1]!.address });
    const byAddress = await adminRequest(admin, `/backends/${encodeURIComponent(backends[0]!.address)}`);
    expect(byAddress.json).toMatchObject({ id: 0 });
    const message = expectError(await adminRequest(admin, '/backends/7'), 404, 'backend_not_found');
    expect(message).toContain("no backend '7'");
    expect(message).toContain(`0 (${backends[0]!.address})`);
    expectError(await adminRequest(admin, '/backends/10.9.9.9%3A1'), 404, 'backend_not_found');
  });
});

describe('GET /certificates', () => {
  it('lists nothing without ACME, and /metrics then has no certificate family', async () => {
    const { admin } = await setup(['a']);
    const reply = await adminRequest(admin, '/certificates');
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(reply.json).toEqual({ certificates: [] });
    expect((await adminRequest(admin, '/metrics')).text).not.toContain('lb_certificate_');
  });

  it('lists the status the service gives, read at each request (dates as ISO 8601)', async () => {
    const a = await startHttpBackend('a');
    const lb = await startBalancer({ backends: [a.address], workers: 1 });
    let failures = 0;
    const notAfter = new Date('2030-01-02T03:04:05.000Z');
    const admin = await startAdmin(lb, {
      certificates: () => [{ domains: ['shop.test'], issuer: 'CN=Test CA', notAfter, daysLeft: 12.5, ordering: false, failures }],
    });
    expect((await adminRequest(admin, '/certificates')).json).toEqual({
      certificates: [
        {
          domains: ['shop.test'],
          issuer: 'CN=Test CA',
          notAfter: notAfter.toISOString(),
          daysLeft: 12.5,
          ordering: false,
          failures: 0,
        },
      ],
    });
    failures = 3;
    expect((await adminRequest(admin, '/certificates')).json.certificates[0].failures).toBe(3);
    const metrics = (await adminRequest(admin, '/metrics')).text;
    expect(metrics).toContain('lb_requests_total');
    expect(metrics).toContain('lb_certificate_days_left{domains="shop.test",issuer="CN=Test CA"} 12.5\n');
    expect(metrics).toContain('lb_certificate_order_failures{domains="shop.test",issuer="CN=Test CA"} 3\n');
  });
});

describe('POST /backends', () => {
  it('adds a backend that takes traffic at once: 201 with its status and Location', async () => {
    const { lb, admin } = await setup(['a']);
    const c = await startHttpBackend('c');
    const reply = await adminRequest(admin, '/backends', { method: 'POST', body: { address: c.address, weight: 3 } });
    expect(reply.status).toBe(201);
    expect(reply.headers.location).toBe('/backends/1');
    expect(reply.json).toEqual({
      id: 1,
      address: c.address,
      host: '127.0.0.1',
      port: c.port,
      weight: 3,
      state: 'ready',
      health: 'unchecked',
    });
    await sendTraffic(lb.port, 40);
    expect(c.requests).toBeGreaterThan(0);
    expect(lb.backends().map((b) => b.id)).toEqual([0, 1]);
  });

  it('takes state, and refuses bad bodies with 400 naming the field', async () => {
    const { backends, admin } = await setup(['a']);
    const c = await startHttpBackend('c');
    const post = (body: unknown, headers?: Record<string, string>) =>
      adminRequest(admin, '/backends', { method: 'POST', body, headers });

    expect((await post({ address: c.address, state: 'maint' })).json).toMatchObject({ state: 'maint' });

    let reply = await post({ weight: 2 });
    expectError(reply, 400, 'validation_failed');
    expect(reply.json.error.issues).toEqual([{ path: 'address', message: expect.stringContaining('required') }]);

    reply = await post({ address: '127.0.0.1:9', weight: 0 });
    expect(expectError(reply, 400, 'validation_failed')).toMatch(/^weight: /);
    expect(reply.json.error.issues[0].path).toBe('weight');

    reply = await post({ address: '127.0.0.1:70000' });
    expect(expectError(reply, 400, 'validation_failed')).toMatch(/^address: .*65535/);

    reply = await post({ address: '127.0.0.1:9', state: 'sleeping' });
    expect(expectError(reply, 400, 'validation_failed')).toMatch(/^state: expected one of ready, drain, maint/);

    reply = await post({ address: '127.0.0.1:9', colour: 'red' });
    expect(expectError(reply, 400, 'validation_failed')).toMatch(/^colour: unknown field/);

    reply = await post([c.address]);
    expect(expectError(reply, 400, 'validation_failed')).toMatch(/expected a JSON object/);

    // Same address as an existing backend.
    reply = await post({ address: backends[0]!.address });
    expect(expectError(reply, 400, 'validation_failed')).toMatch(/same address as backend #0/);

    expect(expectError(await post('{"address": '), 400, 'bad_json')).toMatch(/not valid JSON/);
    expectError(
      await adminRequest(admin, '/backends', { method: 'POST', body: '{}', headers: { 'Content-Type': 'text/plain' } }),
      415,
      'unsupported_media_type',
    );
    expectError(await adminRequest(admin, '/backends', { method: 'POST' }), 400, 'validation_failed');
  });

  it('refuses a body over 64 KiB with 413', async () => {
    const { admin } = await setup(['a']);
    const big = JSON.stringify({ address: '127.0.0.1:9', pad: 'x'.repeat(64 * 1024) });
    const reply = await adminRequest(admin, '/backends', {
      method: 'POST',
      body: big,
      headers: { 'Content-Type': 'application/json' },
    });
    expect(expectError(reply, 413, 'payload_too_large')).toContain('65536');
    // Just under the cap is read (and then refused for its content).
    const fits = JSON.stringify({ address: '127.0.0.1:9', pad: 'x'.repeat(60 * 1024) });
    expectError(
      await adminRequest(admin, '/backends', { method: 'POST', body: fits, headers: { 'Content-Type': 'application/json' } }),
      400,
      'validation_failed',
    );
  });
});

describe('PATCH /backends/:id', () => {
  it('sets weight and state, which the data path follows', async () => {
    const { backends, lb, admin } = await setup(['a', 'b']);
    let reply = await adminRequest(admin, '/backends/0', { method: 'PATCH', body: { weight: 5 } });
    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject({ id: 0, weight: 5, state: 'ready' });
    reply = await adminRequest(admin, `/backends/${encodeURIComponent(backends[1]!.address)}`, {
      method: 'PATCH',
      body: { state: 'maint', weight: 2 },
    });
    expect(reply.json).toMatchObject({ id: 1, weight: 2, state: 'maint' });
    const before = backends[1]!.requests;
    await sendTraffic(lb.port, 20);
    expect(backends[1]!.requests).toBe(before);
    expect(lb.backends().map((b) => [b.weight, b.state])).toEqual([
      [5, 'ready'],
      [2, 'maint'],
    ]);
  });

  it('refuses bad patches (400), unknown backends (404)', async () => {
    const { admin } = await setup(['a']);
    const patch = (path: string, body: unknown) => adminRequest(admin, path, { method: 'PATCH', body });
    expect(expectError(await patch('/backends/0', { weight: 257 }), 400, 'validation_failed')).toMatch(
      /^weight: expected an integer from 1 to 256/,
    );
    expect(expectError(await patch('/backends/0', { state: 'off' }), 400, 'validation_failed')).toMatch(/^state: /);
    expect(expectError(await patch('/backends/0', {}), 400, 'validation_failed')).toMatch(/at least one of weight, state/);
    expect(expectError(await patch('/backends/0', { address: 'x:1' }), 400, 'validation_failed')).toMatch(
      /^address: unknown field/,
    );
    expectError(await patch('/backends/3', { weight: 2 }), 404, 'backend_not_found');
  });
});

describe('DELETE /backends/:id', () => {
  it('answers 202 at once while the backend drains; it is listed as removing until it has gone', async () => {
    const { backends, lb, admin } = await setup(['a', 'b'], 800);
    // A slow request in flight on each backend, so the drain takes a while.
    const inFlight = sendTraffic(lb.port, 2, { concurrency: 2, path: '/slow' });
    await waitUntil('both backends busy', () => backends.every((b) => b.inFlight === 1));
    const reply = await adminRequest(admin, '/backends/1', { method: 'DELETE' });
    expect(reply.status).toBe(202);
    expect(reply.json).toMatchObject({ backend: { id: 1, address: backends[1]!.address }, removing: true });
    expect((await adminRequest(admin, '/backends/1')).json).toMatchObject({ id: 1, removing: true });
    expect((await adminRequest(admin, '/backends')).json.removing).toEqual([expect.objectContaining({ id: 1 })]);
    expect(await inFlight).toEqual([200, 200]);
    await waitUntil('backend 1 gone', async () => (await adminRequest(admin, '/backends/1')).status === 404);
    expect((await adminRequest(admin, '/backends')).json).toMatchObject({ backends: [{ id: 0 }], removing: [] });
  });

  it('with ?wait=true answers 200 once the backend has gone', async () => {
    const { lb, admin } = await setup(['a', 'b', 'c']);
    const reply = await adminRequest(admin, '/backends/2?wait=true', { method: 'DELETE' });
    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject({ backend: { id: 2 }, removed: true });
    expect(lb.backends().map((b) => b.id)).toEqual([0, 1]);
  });

  it('refuses the only backend (409) and unknown ones (404)', async () => {
    const { admin } = await setup(['a']);
    expect(expectError(await adminRequest(admin, '/backends/0', { method: 'DELETE' }), 409, 'conflict')).toMatch(/only backend/);
    expectError(await adminRequest(admin, '/backends/5', { method: 'DELETE' }), 404, 'backend_not_found');
  });
});

describe('POST /reload', () => {
  it('answers 501 when the server was given no reload callback', async () => {
    const { admin } = await setup(['a']);
    expectError(await adminRequest(admin, '/reload', { method: 'POST' }), 501, 'not_implemented');
  });

  it('answers 200 with the result, or 400 with the configuration errors', async () => {
    const a = await startHttpBackend('a');
    const lb = await startBalancer({ backends: [a.address] });
    let next: { ok: boolean; errors?: string[] } = { ok: true };
    let calls = 0;
    const admin = await startAdmin(lb, {
      reload: async () => {
        calls += 1;
        return next;
      },
    });
    let reply = await adminRequest(admin, '/reload', { method: 'POST' });
    expect(reply.status).toBe(200);
    expect(reply.json).toEqual({ ok: true });
    next = { ok: false, errors: ['backends[0].address: port must be 1-65535, got 70000', 'strategy: expected one of ...'] };
    reply = await adminRequest(admin, '/reload', { method: 'POST' });
    expect(expectError(reply, 400, 'reload_failed')).toContain('port must be 1-65535');
    expect(reply.json.error.errors).toEqual(next.errors);
    expect(calls).toBe(2);
  });

  it('runs reloads one at a time, and answers 500 when the callback throws', async () => {
    const a = await startHttpBackend('a');
    const lb = await startBalancer({ backends: [a.address] });
    let running = 0;
    let most = 0;
    let fail = false;
    const errors: unknown[] = [];
    const admin = await startAdmin(lb, {
      reload: async () => {
        running += 1;
        most = Math.max(most, running);
        await delay(50); // a reload that takes a while
        running -= 1;
        if (fail) throw new Error('disk on fire');
        return { ok: true };
      },
      onError: (error) => errors.push(error),
    });
    const replies = await Promise.all([1, 2, 3].map(() => adminRequest(admin, '/reload', { method: 'POST' })));
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(most).toBe(1);
    fail = true;
    const message = expectError(await adminRequest(admin, '/reload', { method: 'POST' }), 500, 'internal_error');
    expect(message).not.toContain('disk on fire');
    expect(errors).toHaveLength(1);
  });
});

describe('routing errors', () => {
  it('404 for an unknown path, 405 with Allow for a wrong method', async () => {
    const { admin } = await setup(['a']);
    expect(expectError(await adminRequest(admin, '/nope'), 404, 'not_found')).toContain('/stats');
    expectError(await adminRequest(admin, '/backends/0/extra'), 404, 'not_found');
    const cases: [method: string, path: string, allow: string][] = [
      ['POST', '/stats', 'GET, HEAD'],
      ['PUT', '/metrics', 'GET, HEAD'],
      ['DELETE', '/backends', 'GET, HEAD, POST'],
      ['POST', '/backends/0', 'GET, HEAD, PATCH, DELETE'],
      ['GET', '/reload', 'POST'],
      ['DELETE', '/certificates', 'GET, HEAD'],
      ['POST', '/', 'GET, HEAD'],
    ];
    for (const [method, path, allow] of cases) {
      const reply = await adminRequest(admin, path, { method });
      expectError(reply, 405, 'method_not_allowed');
      expect(reply.headers.allow, `${method} ${path}`).toBe(allow);
    }
  });

  it('keeps serving on the same connection after errors', async () => {
    const { admin } = await setup(['a']);
    const http = await import('node:http');
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    onCleanup(() => agent.destroy());
    const statuses: number[] = [];
    for (const path of ['/nope', '/stats', '/backends/9', '/metrics']) {
      statuses.push(
        await new Promise<number>((resolve, reject) => {
          http
            .get({ host: '127.0.0.1', port: admin.port, path, agent }, (res) => {
              res.resume();
              res.on('end', () => resolve(res.statusCode ?? 0));
            })
            .on('error', reject);
        }),
      );
    }
    expect(statuses).toEqual([404, 200, 404, 200]);
  });
});
