// Passive health (outlier detection) as the control plane sees it: per-worker
// 'backend-ejected' and 'backend-recovered' events with the backend's reference, and the
// ejection counters in stats.
import http from 'node:http';
import type net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';

import type { BackendEjectedEvent, BackendRecoveredEvent } from '../../src/index.js';
import { startBalancer } from '../helpers/balancer.js';
import { onCleanup, runCleanups } from '../helpers/cleanup.js';
import { startHttpBackend } from '../helpers/http-backend.js';
import { waitUntil } from '../helpers/wait.js';
import { request } from './support.js';

afterEach(runCleanups);

/** A backend answering `status` (which the test changes) with X-Backend: name. */
async function statusBackend(name: string) {
  const state = { status: 500, address: '', requests: 0 };
  const server = http.createServer((_req, res) => {
    state.requests += 1;
    res.writeHead(state.status, { 'x-backend': name }).end(name);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.address = `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  onCleanup(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return state;
}

describe('outlier detection events', () => {
  it('5xx in a row eject a backend in each worker; it recovers once it answers again', async () => {
    const good = await startHttpBackend('good');
    const bad = await statusBackend('bad');
    const lb = await startBalancer({
      workers: 2,
      backends: [good.address, bad.address],
      outlierDetection: { consecutiveFailures: 3, baseEjectionMs: 1_500, maxEjectionPercent: 50 },
    });
    const ejected: BackendEjectedEvent[] = [];
    const recovered: BackendRecoveredEvent[] = [];
    lb.on('backend-ejected', (event) => ejected.push(event));
    lb.on('backend-recovered', (event) => recovered.push(event));

    // New connections each time, so that both workers get some (SO_REUSEPORT spreads by
    // connection, and a keep-alive client could stay on one).
    for (let i = 0; i < 40 && new Set(ejected.map((e) => e.worker)).size < 2; i += 1) {
      await request(lb.port, `/try${i}`);
    }
    await waitUntil('bad ejected by both workers', () => new Set(ejected.map((e) => e.worker)).size === 2);
    for (const event of ejected) {
      expect(event.backend).toEqual({ id: 1, address: bad.address, host: '127.0.0.1', port: Number(bad.address.split(':')[1]) });
      expect(event.ejectionMs).toBe(1_500);
      expect([0, 1]).toContain(event.worker);
      expect(event.reason.length).toBeGreaterThan(0);
    }
    const stats = lb.stats().backends[1];
    expect(stats?.ejections).toBe(2);
    expect(stats?.ejectedWorkers).toBe(2);
    // While ejected, the good backend takes everything.
    const before = bad.requests;
    const whileEjected = new Map<string, number>();
    for (let i = 0; i < 20; i += 1) {
      const name = String((await request(lb.port, `/e${i}`)).headers['x-backend']);
      whileEjected.set(name, (whileEjected.get(name) ?? 0) + 1);
    }
    expect([...whileEjected]).toEqual([['good', 20]]);
    expect(bad.requests).toBe(before);

    bad.status = 200;
    await waitUntil(
      'bad recovered in both workers',
      async () => {
        for (let i = 0; i < 6; i += 1) await request(lb.port, `/again${i}`);
        return new Set(recovered.map((e) => e.worker)).size === 2;
      },
      { timeoutMs: 8_000, intervalMs: 50 },
    );
    expect(recovered.every((e) => e.backend.id === 1)).toBe(true);
    expect(lb.stats().backends[1]?.ejectedWorkers).toBe(0);
  });
});
