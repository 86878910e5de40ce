// Issue 16: a backend connect failure that turns into a 502 left only a counter. Workers
// now report each failed connect as a 'backend-error' event (the errno name and the
// backend), at most one a second per backend and worker, the next one counting those
// held back; the CLI logs them (test/logging).
import { afterEach, describe, expect, it } from 'vitest';
import type { BackendErrorEvent } from '../../src/index.js';
import { startBalancer } from '../helpers/balancer.js';
import { runCleanups } from '../helpers/cleanup.js';
import { delay, waitUntil } from '../helpers/wait.js';
import { closedPort, request } from './support.js';

afterEach(runCleanups);

describe("'backend-error' events", () => {
  it('a refused connect is reported with ECONNREFUSED and the backend, rate-limited per worker', async () => {
    const port = await closedPort();
    const lb = await startBalancer({ workers: 1, backends: [`127.0.0.1:${port}`], retries: { maxTries: 1 } });
    const errors: BackendErrorEvent[] = [];
    lb.on('backend-error', (event) => errors.push(event));

    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push((await request(lb.port, `/r${i}`)).status);
    expect(statuses).toEqual(new Array(10).fill(502));
    await waitUntil('the first backend-error event', () => errors.length >= 1);
    // Ten failures within well under a second: one event, not ten.
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'ECONNREFUSED', worker: 0, backend: { id: 0, address: `127.0.0.1:${port}` } });
    expect(errors[0]!.message).toContain(`connect to 127.0.0.1:${port} failed`);
    expect(lb.stats().backends[0]!.connectErrors).toBe(10);

    // A second later the next failure is reported, with the ones held back.
    await delay(1_100);
    expect((await request(lb.port, '/later')).status).toBe(502);
    await waitUntil('the second backend-error event', () => errors.length >= 2);
    expect(errors[1]!.message).toMatch(/and 9 more since the last report/);
  });
});
