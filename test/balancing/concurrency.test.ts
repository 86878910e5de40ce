// The central property of a proxy: under many concurrent clients, every client gets its
// own response and nobody else's. 2 backends, 2 workers, unique ids in path and header.
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { runCleanups } from '../helpers/cleanup.js';
import { RawClient } from '../helpers/raw-client.js';
import { startHttpBackend } from '../helpers/http-backend.js';
import { header, printable, type HttpMessage } from '../helpers/http-message.js';
import { startBalancer } from '../helpers/balancer.js';
import { waitUntil } from '../helpers/wait.js';

afterEach(runCleanups);

/** A few ms of backend delay that varies per id, so responses finish out of order. */
const jitter = (id: string): number => id.charCodeAt(id.length - 1) % 12;

const idOf = (url: string | undefined): string => /\/id\/([^/?]+)/.exec(url ?? '')?.[1] ?? '';

async function twoBackends() {
  const a = await startHttpBackend('a', { delayMs: (req) => jitter(idOf(req.url)) });
  const b = await startHttpBackend('b', { delayMs: (req) => jitter(idOf(req.url)) });
  return { a, b };
}

/** Checks one response against the id its client sent; returns a description of any mismatch. */
function mismatch(id: string, res: HttpMessage): string | undefined {
  const backend = header(res, 'x-backend');
  const expected = `${backend} GET /id/${id} id=${id}`;
  if (res.status !== 200) return `${id}: status ${res.status}: ${printable(res.raw, 300)}`;
  if (backend !== 'a' && backend !== 'b') return `${id}: X-Backend ${backend}`;
  if (header(res, 'x-request-id') !== id) return `${id}: got X-Request-Id ${header(res, 'x-request-id')}`;
  if (res.body.toString() !== expected) return `${id}: got body ${JSON.stringify(res.body.toString())}`;
  return undefined;
}

const request = (id: string, extra = ''): string =>
  `GET /id/${id} HTTP/1.1\r\nHost: test.local\r\nX-Request-Id: ${id}\r\n${extra}\r\n`;

describe('many concurrent clients', () => {
  it('1,200 concurrent clients each get exactly their own response', { timeout: 60_000 }, async () => {
    const { a, b } = await twoBackends();
    const lb = await startBalancer({ backends: [a.address, b.address], workers: 2 });
    const N = 1_200;
    const run = randomBytes(3).toString('hex');

    const outcomes = await Promise.all(
      Array.from({ length: N }, async (_, i) => {
        const id = `${run}-${i}`;
        try {
          const client = await RawClient.connect(lb.port, { timeoutMs: 20_000 });
          await client.write(request(id));
          const res = await client.readResponse({ timeoutMs: 30_000 });
          client.destroy();
          return mismatch(id, res);
        } catch (err) {
          return `${id}: ${(err as Error).message.slice(0, 400)}`;
        }
      }),
    );
    const failures = outcomes.filter((o): o is string => o !== undefined);
    expect(failures.length, failures.slice(0, 5).join('\n')).toBe(0);
    expect(a.requests + b.requests).toBe(N);
    expect(a.requests).toBeGreaterThan(0);
    expect(b.requests).toBeGreaterThan(0);
    // Each id reached a backend exactly once.
    const seen = [...a.ids, ...b.ids].sort();
    expect(new Set(seen).size).toBe(N);
    // The exchanges really overlapped at the backends.
    expect(a.peakInFlight + b.peakInFlight).toBeGreaterThan(10);

    // Counters are summed from the workers; wait for the last increments to land.
    await waitUntil('2xx counter to reach N', () => lb.stats().responses2xx >= N);
    const stats = lb.stats();
    expect(stats.requests).toBe(N);
    expect(stats.responses2xx).toBe(N);
    expect(stats.backends.reduce((n, s) => n + s.requests, 0)).toBe(N);
  });

  it(
    '300 concurrent keep-alive clients, 5 sequential requests each, all answered in order with their own ids',
    { timeout: 60_000 },
    async () => {
      const { a, b } = await twoBackends();
      const lb = await startBalancer({ backends: [a.address, b.address], workers: 2 });
      const CLIENTS = 300;
      const PER_CLIENT = 5;
      const run = randomBytes(3).toString('hex');

      const outcomes = await Promise.all(
        Array.from({ length: CLIENTS }, async (_, c) => {
          const problems: string[] = [];
          try {
            const client = await RawClient.connect(lb.port, { timeoutMs: 20_000 });
            for (let k = 0; k < PER_CLIENT; k++) {
              const id = `${run}-${c}-${k}`;
              await client.write(request(id));
              const res = await client.readResponse({ timeoutMs: 30_000 });
              const bad = mismatch(id, res);
              if (bad) problems.push(bad);
              if (client.serverClosed) problems.push(`${id}: connection closed after a keep-alive response`);
            }
            client.destroy();
          } catch (err) {
            problems.push(`client ${c}: ${(err as Error).message.slice(0, 400)}`);
          }
          return problems;
        }),
      );
      const failures = outcomes.flat();
      expect(failures.length, failures.slice(0, 5).join('\n')).toBe(0);
      expect(a.requests + b.requests).toBe(CLIENTS * PER_CLIENT);
      // Pooling: backend connections are reused, far fewer than requests.
      expect(a.connections + b.connections).toBeLessThan(CLIENTS * PER_CLIENT);
    },
  );

  it('100 concurrent clients each pipelining 5 requests in one write get 5 responses in order', { timeout: 60_000 }, async () => {
    const { a, b } = await twoBackends();
    const lb = await startBalancer({ backends: [a.address, b.address], workers: 2 });
    const CLIENTS = 100;
    const PER_CLIENT = 5;
    const run = randomBytes(3).toString('hex');

    const outcomes = await Promise.all(
      Array.from({ length: CLIENTS }, async (_, c) => {
        const problems: string[] = [];
        try {
          const client = await RawClient.connect(lb.port, { timeoutMs: 20_000 });
          const ids = Array.from({ length: PER_CLIENT }, (_, k) => `${run}-${c}-${k}`);
          await client.write(ids.map((id) => request(id)).join(''));
          for (const id of ids) {
            const bad = mismatch(id, await client.readResponse({ timeoutMs: 30_000 }));
            if (bad) problems.push(bad);
          }
          client.destroy();
        } catch (err) {
          problems.push(`client ${c}: ${(err as Error).message.slice(0, 400)}`);
        }
        return problems;
      }),
    );
    const failures = outcomes.flat();
    expect(failures.length, failures.slice(0, 5).join('\n')).toBe(0);
    expect(a.requests + b.requests).toBe(CLIENTS * PER_CLIENT);
  });
});
