// A backend dies under steady load: its listener closes and its connections are destroyed
// mid-flight. The data path retries idempotent requests that failed before any response
// byte on another backend, and refused connects likewise, so clients should see no more
// failures than the requests that were in flight on it (observed: none, see below).
// Passive health (outlier detection) then ejects it in every worker.
import { afterEach, describe, expect, it } from 'vitest';

import type { BackendEjectedEvent } from '../../src/index.js';
import { startBalancer } from '../helpers/balancer.js';
import { runCleanups } from '../helpers/cleanup.js';
import { type HttpBackend, startHttpBackend } from '../helpers/http-backend.js';
import { waitUntil } from '../helpers/wait.js';
import { keepAliveAgent, request } from './support.js';

afterEach(runCleanups);

interface LoadResult {
  ok: number;
  failures: string[];
  byBackend: Map<string, number>;
}

/** GETs `concurrency` at a time until `until` resolves; every outcome is recorded. */
async function steadyLoad(port: number, concurrency: number, until: Promise<unknown>): Promise<LoadResult> {
  const agent = keepAliveAgent(concurrency);
  const result: LoadResult = { ok: 0, failures: [], byBackend: new Map() };
  let done = false;
  void until.then(() => (done = true));
  let n = 0;
  const loop = async () => {
    while (!done) {
      const i = n++;
      try {
        const reply = await request(port, `/load/${i}`, { agent, timeoutMs: 5_000 });
        if (reply.status === 200) {
          result.ok += 1;
          const name = String(reply.headers['x-backend']);
          result.byBackend.set(name, (result.byBackend.get(name) ?? 0) + 1);
        } else {
          result.failures.push(`#${i}: status ${reply.status}`);
        }
      } catch (error) {
        result.failures.push(`#${i}: ${(error as Error).message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  return result;
}

async function killDuringLoad(victimDelayMs: number) {
  const a = await startHttpBackend('a');
  const b = await startHttpBackend('b', { delayMs: () => victimDelayMs });
  const c = await startHttpBackend('c');
  const lb = await startBalancer({
    workers: 2,
    backends: [a.address, b.address, c.address],
    outlierDetection: { consecutiveFailures: 3, baseEjectionMs: 60_000 },
  });
  const ejected: BackendEjectedEvent[] = [];
  lb.on('backend-ejected', (event) => ejected.push(event));
  let stopLoad!: () => void;
  const loadDone = new Promise<void>((resolve) => (stopLoad = resolve));
  const load = steadyLoad(lb.port, 8, loadDone);
  await waitUntil('b to serve some of the load', () => b.requests > 20);
  if (victimDelayMs > 0) await waitUntil('requests in flight on b', () => b.inFlight > 0, { intervalMs: 1 });
  const inFlightAtKill = b.inFlight;
  await closeAbruptly(b);
  // Keep the load on for a while after the kill.
  const servedAtKill = a.requests + c.requests;
  await waitUntil('300 more requests after the kill', () => a.requests + c.requests > servedAtKill + 300, { timeoutMs: 10_000 });
  stopLoad();
  return { result: await load, inFlightAtKill, lb, ejected, b };
}

/** Closes the listener and destroys every connection at once, requests in flight included. */
async function closeAbruptly(backend: HttpBackend): Promise<void> {
  await backend.close();
}

describe('killing a backend under steady GET load', () => {
  it('a fast backend: no request fails; the dead one is ejected by every worker', async () => {
    const { result, inFlightAtKill, lb, ejected } = await killDuringLoad(0);
    expect(result.failures, `in flight on b at the kill: ${inFlightAtKill}`).toEqual([]);
    expect(result.ok).toBeGreaterThan(300);
    // Passive health: each worker ejects b on its own.
    await waitUntil('b ejected by both workers', () => new Set(ejected.map((e) => e.worker)).size === 2, { timeoutMs: 5_000 });
    for (const event of ejected) {
      expect(event.backend).toMatchObject({ id: 1 });
      expect(event.ejectionMs).toBe(60_000);
      expect(event.reason).not.toBe('');
    }
    const stats = lb.stats().backends[1];
    expect(stats?.ejections).toBeGreaterThanOrEqual(2);
    expect(stats?.ejectedWorkers).toBe(2);
  });

  it('a slow backend with requests in flight: failures stay within what was in flight on it', async () => {
    const { result, inFlightAtKill, lb } = await killDuringLoad(30);
    expect(inFlightAtKill).toBeGreaterThan(0);
    expect(result.failures.length, result.failures.join('\n')).toBeLessThanOrEqual(inFlightAtKill);
    // Observed with the current data path: in-flight GETs are retried on another backend.
    expect(result.failures, `in flight on b at the kill: ${inFlightAtKill}`).toEqual([]);
    const victim = lb.stats().backends[1];
    expect(victim?.retries, JSON.stringify(victim)).toBeGreaterThan(0);
  });
});
