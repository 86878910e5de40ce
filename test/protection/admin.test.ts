// The admin API's view of protection: GET /protection shows the rules in force with each
// rate limit's 429 count by name; PATCH /backends/:id takes maxConnections live; the
// metrics carry the protection and queue families.
import { afterEach, describe, expect, it } from 'vitest';

import { startBalancer } from '../helpers/balancer.js';
import { runCleanups } from '../helpers/cleanup.js';
import { startHttpBackend } from '../helpers/http-backend.js';
import { adminRequest, startAdmin } from '../admin/support.js';
import { connectFrom } from './support.js';

afterEach(runCleanups);

describe('admin API', () => {
  it('GET /protection: rules, counters, and 429s by rule name', async () => {
    const backend = await startHttpBackend('b1');
    const lb = await startBalancer({
      workers: 1,
      backends: [backend.address],
      protection: { deny: ['192.0.2.0/24'], rateLimits: [{ name: 'slow', key: 'client', rate: 0.01, burst: 1 }] },
    });
    const admin = await startAdmin(lb);
    const client = await connectFrom(lb.port, '127.0.0.60');
    expect((await client.get('/')).status).toBe(200);
    expect((await client.get('/')).status).toBe(429);
    const reply = await adminRequest(admin, '/protection');
    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject({
      allow: [],
      deny: ['192.0.2.0/24'],
      maxConnectionsPerClient: 0,
      rateLimitKeys: 65536,
      rateLimits: [{ name: 'slow', key: 'client', rate: 0.01, burst: 1, limited: 1 }],
      counters: { denied: 0, rateLimited: 1, rateTableKeys: 1, rateTableBytes: 65536 * 32 },
    });
    const metrics = await adminRequest(admin, '/metrics');
    expect(metrics.text).toMatch(/^lb_protection_rate_limited_total 1$/m);
    expect(metrics.text).toMatch(/^lb_backend_queued\{backend="0",address="[^"]+"\} 0$/m);
  });

  it('PATCH /backends/:id { maxConnections } applies live and shows in the backend status', async () => {
    const backend = await startHttpBackend('b1');
    const lb = await startBalancer({ workers: 1, backends: [backend.address] });
    const admin = await startAdmin(lb);
    const reply = await adminRequest(admin, '/backends/0', { method: 'PATCH', body: { maxConnections: 4 } });
    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject({ id: 0, maxConnections: 4 });
    expect(lb.stats().backends[0]!.maxConnections).toBe(4);
    const bad = await adminRequest(admin, '/backends/0', { method: 'PATCH', body: { maxConnections: 'many' } });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('maxConnections: expected an integer from 0 to 1000000');
    const lifted = await adminRequest(admin, '/backends/0', { method: 'PATCH', body: { maxConnections: 0 } });
    expect(lifted.json.maxConnections).toBeUndefined();
    expect((await (await connectFrom(lb.port, '127.0.0.61')).get('/')).status).toBe(200);
  });
});
