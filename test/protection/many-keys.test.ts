// 100,000 distinct rate-limit keys through the listener (a header key, each value new):
// the bucket table keeps its fixed size (rateLimitKeys, 32 bytes a key), forgets old
// keys to make room, and a steady client's limit still holds afterwards. Requests go
// pipelined, 100 at a time on 8 keep-alive connections, to a path whose own rule (after
// the header rule has taken its token) answers 429 at once, so no backend work bounds
// the run's time.
import net from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';

import { startBalancer } from '../helpers/balancer.js';
import { onCleanup, runCleanups } from '../helpers/cleanup.js';
import { parseMessage } from '../helpers/http-message.js';
import { startHttpBackend } from '../helpers/http-backend.js';
import { withTimeout } from '../helpers/wait.js';
import { connectFrom } from './support.js';

afterEach(runCleanups);

const keys = 100_000;
const tableKeys = 1_024;

/** Sends one GET per key in `values`, `batch` at a time pipelined; resolves with the statuses seen. */
async function pipelined(port: number, values: string[], batch: number): Promise<Map<number, number>> {
  const statuses = new Map<number, number>();
  const socket = net.connect({ port, host: '127.0.0.1', noDelay: true });
  onCleanup(() => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  let pending: Buffer = Buffer.alloc(0);
  let answered = 0;
  let closed = false;
  let wake: (() => void) | undefined;
  socket.on('close', () => {
    closed = true;
    wake?.();
  });
  socket.on('data', (data: Buffer) => {
    pending = pending.length === 0 ? data : Buffer.concat([pending, data]);
    for (;;) {
      const result = parseMessage(pending, 'response', { requestMethod: 'GET' });
      if (result.state !== 'done') break;
      pending = pending.subarray(result.consumed);
      statuses.set(result.message.status, (statuses.get(result.message.status) ?? 0) + 1);
      answered += 1;
    }
    wake?.();
  });
  for (let start = 0; start < values.length; start += batch) {
    const part = values.slice(start, start + batch);
    socket.write(part.map((value) => `GET /flood HTTP/1.1\r\nHost: lb.test\r\nx-tenant: ${value}\r\n\r\n`).join(''));
    const target = start + part.length;
    await new Promise<void>((resolve, reject) => {
      const check = () => {
        if (answered >= target) {
          wake = undefined;
          resolve();
        } else if (closed) {
          wake = undefined;
          reject(new Error(`closed after ${answered} responses`));
        }
      };
      wake = check;
      check();
    });
  }
  socket.destroy();
  return statuses;
}

describe('rate limits under a flood of distinct keys', () => {
  it('100,000 keys through the listener keep the table at its fixed size; a steady client is still limited', async () => {
    const backend = await startHttpBackend('b1');
    const lb = await startBalancer({
      workers: 1,
      backends: [backend.address],
      protection: {
        rateLimitKeys: tableKeys,
        rateLimits: [
          { name: 'per-tenant', key: 'header', header: 'x-tenant', rate: 1, burst: 2 },
          { name: 'flood', key: 'path', pathPrefix: '/flood', rate: 0.001, burst: 1 },
        ],
      },
    });
    const connections = 8;
    const perConnection = keys / connections;
    const results = await withTimeout(
      'the 100,000 requests',
      Promise.all(
        Array.from({ length: connections }, (_, c) =>
          pipelined(
            lb.port,
            Array.from({ length: perConnection }, (_, i) => `key-${c}-${i}`),
            100,
          ),
        ),
      ),
      90_000,
    );
    // Every header key was new (a full bucket, a token taken); the path rule then let the
    // first request through and answered 429 to the rest, except when the flood pushed the
    // path rule's own bucket out of the table (documented: a flood of new keys can make an
    // old key forget its debt, one window's oldest at a time): then it starts full again.
    const count = (status: number) => results.reduce((sum, statuses) => sum + (statuses.get(status) ?? 0), 0);
    expect(count(200) + count(429)).toBe(keys);
    expect(count(200)).toBeGreaterThanOrEqual(1);
    expect(count(200)).toBeLessThanOrEqual(50);
    expect(lb.stats().protection!.limitedByRule.slice(0, 2)).toEqual([0, count(429)]);
    const p = lb.stats().protection!;
    // The documented bound: rateLimitKeys slots of 32 bytes, whatever arrived.
    expect(p.rateTableBytes).toBe(tableKeys * 32);
    expect(p.rateTableKeys).toBeLessThanOrEqual(tableKeys);
    expect(p.rateTableKeys).toBeGreaterThan(tableKeys / 2);
    // Most keys were still live (bucket not refilled after 1 s) when pushed out.
    expect(p.rateTableEvictions).toBeGreaterThan(0);
    // A steady client afterwards: its burst of 2, then 429 with Retry-After.
    const steady = await connectFrom(lb.port, '127.0.0.1');
    const statuses: number[] = [];
    for (let i = 0; i < 4; i += 1) statuses.push((await steady.get('/', { 'x-tenant': 'steady' })).status);
    expect(statuses).toEqual([200, 200, 429, 429]);
    expect(lb.stats().protection!.rateTableBytes).toBe(tableKeys * 32);
  }, 120_000);
});
