// The pool's circuit breaker (protection.circuitBreaker, Envoy's maxRequests and
// maxPendingRequests) on real sockets, two workers: with 3 requests in flight across the
// pool and 2 waiting, the other 5 of a burst of 10 get 503 at once (counted as
// overflows), the backend never sees a fourth request at a time, and the waiting ones are
// served once slots free; nothing is left counted afterwards.
import { afterEach, describe, expect, it } from 'vitest';

import { startBalancer } from '../helpers/balancer.js';
import { runCleanups } from '../helpers/cleanup.js';
import { startHttpBackend } from '../helpers/http-backend.js';
import { waitUntil } from '../helpers/wait.js';
import { connectFrom } from './support.js';

afterEach(runCleanups);

describe('circuit breaker per pool', () => {
  it('maxRequests in flight across workers, maxPendingRequests waiting, the rest 503 at once as overflows', async () => {
    const slow = await startHttpBackend('slow', { delayMs: () => 1_000 });
    const lb = await startBalancer({
      workers: 2,
      backends: [slow.address],
      protection: { circuitBreaker: { maxRequests: 3, maxPendingRequests: 2 } },
    });
    const clients = await Promise.all(Array.from({ length: 10 }, (_, i) => connectFrom(lb.port, `127.0.0.${i + 10}`)));
    const finished: Array<{ status: number; backendDone: number }> = [];
    await Promise.all(
      clients.map(async (client) => {
        const reply = await client.get('/');
        finished.push({ status: reply.status, backendDone: slow.requests });
      }),
    );
    const statuses = finished.map((f) => f.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(5);
    expect(statuses.filter((s) => s === 503)).toHaveLength(5);
    // The overflows were answered before the backends finished anything (it waits 1 s).
    for (const f of finished.filter((x) => x.status === 503)) expect(f.backendDone).toBe(0);
    // Never more than maxRequests at the pool (here one backend) at once, across both workers.
    expect(slow.peakInFlight).toBe(3);
    const stats = lb.stats();
    expect(stats.circuitBreaker).toEqual({ active: 0, pending: 0, overflow: 5 });
    // The waiting two were served after the first three: five backend requests in all.
    expect(slow.requests).toBe(5);
    await waitUntil('no slot held', () => lb.stats().circuitBreaker?.active === 0);
  }, 30_000);
});
