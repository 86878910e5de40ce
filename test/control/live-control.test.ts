// Live control of a running balancer: adding and removing backends, weights, states and
// the strategy, each published to every worker; draining that lets in-flight requests
// finish; stable ids; and the errors of each call.
import { afterEach, describe, expect, it } from 'vitest';

import { type BackendStatus, LbConfigError, LbResolveError, createBalancer } from '../../src/index.js';
import { startBalancer } from '../helpers/balancer.js';
import { onCleanup, runCleanups } from '../helpers/cleanup.js';
import { startHttpBackend } from '../helpers/http-backend.js';
import { waitUntil, withTimeout } from '../helpers/wait.js';
import { backendOf, countBackends, keepAliveAgent, request } from './support.js';

afterEach(runCleanups);

/** Backends whose `/slow` requests take `slowMs`; everything else is answered at once. */
async function backends(names: string[], slowMs = 600) {
  return Promise.all(names.map((name) => startHttpBackend(name, { delayMs: (req) => (req.url === '/slow' ? slowMs : 0) })));
}

function configError(fn: () => unknown): LbConfigError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(LbConfigError);
    return error as LbConfigError;
  }
  throw new Error('expected an LbConfigError');
}

describe('backends() and stable ids', () => {
  it('lists id, address, weight, state and health; ids are never reused', async () => {
    const [a, b, c, d] = await backends(['a', 'b', 'c', 'd']);
    const lb = await startBalancer({ backends: [a!.address, { address: b!.address, weight: 5, state: 'maint' }] });
    expect(lb.backends()).toEqual<BackendStatus[]>([
      { id: 0, address: a!.address, host: '127.0.0.1', port: a!.port, weight: 1, state: 'ready', health: 'unchecked' },
      { id: 1, address: b!.address, host: '127.0.0.1', port: b!.port, weight: 5, state: 'maint', health: 'unchecked' },
    ]);
    const added = await lb.addBackend({ address: c!.address, weight: 2 });
    expect(added).toMatchObject({ id: 2, address: c!.address, weight: 2, state: 'ready' });
    await lb.removeBackend(1);
    const again = await lb.addBackend(b!.address);
    expect(again.id).toBe(3);
    expect((await lb.addBackend(d!.address)).id).toBe(4);
    expect(lb.backends().map((s) => [s.id, s.address])).toEqual([
      [0, a!.address],
      [2, c!.address],
      [3, b!.address],
      [4, d!.address],
    ]);
    // Stats list the same backends, in the same order, with their counters.
    const counts = await countBackends(lb.port, 40, { concurrency: 4 });
    expect(new Set(counts.keys())).toEqual(new Set(['a', 'b', 'c', 'd']));
    const stats = lb.stats().backends;
    expect(stats.map((s) => s.id)).toEqual([0, 2, 3, 4]);
    expect(stats.reduce((n, s) => n + s.requests, 0)).toBe(40);
    expect(stats[0]).toMatchObject({ ejections: 0, ejectedWorkers: 0, health: 'unchecked' });
  });

  it('changes made before start, and while stopped, are used by the next start', async () => {
    const [a, b, c] = await backends(['a', 'b', 'c']);
    const lb = createBalancer({ listen: '127.0.0.1:0', workers: 1, backends: [a!.address, b!.address] });
    onCleanup(() => lb.stop());
    await lb.addBackend(c!.address);
    const removed: number[] = [];
    lb.on('backend-removed', ({ backend }) => removed.push(backend.id));
    expect((await lb.removeBackend(a!.address)).id).toBe(0);
    expect(removed).toEqual([0]);
    lb.setStrategy('uri-hash');
    await lb.start();
    const counts = await countBackends(lb.port, 30, { concurrency: 2 });
    expect(counts.has('a')).toBe(false);
    expect(lb.strategy).toBe('uri-hash');
    await lb.stop();
    lb.setWeight(c!.address, 7);
    lb.setStrategy('round-robin');
    await lb.start();
    expect(lb.backends().map((s) => [s.address, s.weight])).toEqual([
      [b!.address, 1],
      [c!.address, 7],
    ]);
    const after = await countBackends(lb.port, 40, { concurrency: 1 });
    expect(after.get('c')).toBe(35);
  });
});

describe('addBackend, setWeight, setStrategy, setBackendState', () => {
  it('a backend added while running takes traffic at once', async () => {
    const [a, b] = await backends(['a', 'b']);
    const lb = await startBalancer({ backends: [a!.address] });
    expect(new Set((await countBackends(lb.port, 10)).keys())).toEqual(new Set(['a']));
    await lb.addBackend(b!.address);
    const counts = await countBackends(lb.port, 40, { concurrency: 4 });
    // Each of the 2 workers alternates on its own: within one request per worker of even.
    expect(counts.get('b')).toBeGreaterThanOrEqual(18);
    expect(counts.get('b')).toBeLessThanOrEqual(22);
  });

  it('setWeight shifts the shares at once', async () => {
    const [a, b] = await backends(['a', 'b']);
    const lb = await startBalancer({ backends: [a!.address, b!.address] });
    expect(lb.setWeight(1, 4)).toMatchObject({ id: 1, weight: 4 });
    const counts = await countBackends(lb.port, 400, { concurrency: 4 });
    expect(counts.get('b')).toBeGreaterThanOrEqual(316);
    expect(counts.get('b')).toBeLessThanOrEqual(324);
  });

  it('setStrategy switches every worker to the new strategy', async () => {
    const [a, b, c] = await backends(['a', 'b', 'c']);
    const lb = await startBalancer({ backends: [a!.address, b!.address, c!.address] });
    const agent = keepAliveAgent(2);
    const spread = new Set<string>();
    for (let i = 0; i < 6; i += 1) spread.add(backendOf(await request(lb.port, '/same', { agent })));
    expect(spread.size).toBe(3);
    lb.setStrategy('uri-hash');
    const sticky = new Set<string>();
    for (let i = 0; i < 12; i += 1) sticky.add(backendOf(await request(lb.port, '/same', { agent })));
    expect(sticky.size).toBe(1);
  });

  it('maint takes a backend out at once, ready puts it back', async () => {
    const [a, b] = await backends(['a', 'b']);
    const lb = await startBalancer({ backends: [a!.address, b!.address] });
    expect(lb.setBackendState(b!.address, 'maint')).toMatchObject({ state: 'maint' });
    expect(new Set((await countBackends(lb.port, 20, { concurrency: 4 })).keys())).toEqual(new Set(['a']));
    lb.setBackendState(b!.address, 'ready');
    expect((await countBackends(lb.port, 20, { concurrency: 4 })).get('b')).toBeGreaterThanOrEqual(8);
  });

  it('errors name what was wrong and change nothing', async () => {
    const [a, b] = await backends(['a', 'b']);
    const lb = await startBalancer({ backends: [a!.address, b!.address] });
    const before = lb.backends();
    expect(configError(() => lb.setWeight(0, 0)).message).toBe('weight: expected an integer from 1 to 256, got 0');
    expect(configError(() => lb.setWeight(9, 2)).message).toBe(
      `backend: no backend id 9; expected the id or address of one of: #0 ${a!.address}, #1 ${b!.address}`,
    );
    expect(configError(() => lb.setBackendState('127.0.0.1:1', 'ready')).message).toMatch(
      /^backend: no backend '127\.0\.0\.1:1'; /,
    );
    expect(configError(() => lb.setBackendState(0, 'down' as never)).message).toBe(
      "state: expected one of ready, drain, maint, got 'down'",
    );
    expect(configError(() => lb.setStrategy('fastest' as never)).message).toMatch(
      /^strategy: expected one of round-robin, .*, got 'fastest'$/,
    );
    await expect(lb.addBackend(a!.address)).rejects.toThrow(`address: same address as backend #0 (${a!.address})`);
    await expect(lb.addBackend({ address: '127.0.0.1:70000' })).rejects.toThrow('address: port must be 1-65535, got 70000');
    await expect(lb.addBackend({ address: '127.0.0.1:9', publicUrl: 'http://x.example' })).rejects.toThrow(
      "publicUrl: only applies in redirect mode; mode is 'http'",
    );
    await expect(lb.addBackend('no-such-host.invalid:80')).rejects.toBeInstanceOf(LbResolveError);
    await lb.removeBackend(0);
    await expect(lb.removeBackend(1)).rejects.toThrow(
      `backend: cannot remove ${b!.address}, the only backend; add another first`,
    );
    await expect(lb.removeBackend(0)).rejects.toThrow('backend: no backend id 0');
    expect(lb.backends()).toEqual(before.slice(1));
  });
});

describe('draining', () => {
  it('setBackendState drain: the in-flight slow request finishes with 200, no new request arrives, backend-drained follows', async () => {
    const [a, b] = await backends(['a', 'b']);
    const lb = await startBalancer({ backends: [a!.address, { address: b!.address, state: 'maint' }] });
    // What the backend had in flight when each event came: causality, not timing.
    const drained: Array<{ id: number; state: string; inFlight: number }> = [];
    lb.on('backend-drained', ({ backend, state }) => drained.push({ id: backend.id, state, inFlight: a!.inFlight }));

    const slow = request(lb.port, '/slow');
    await waitUntil('the slow request to reach a', () => a!.inFlight === 1);
    lb.setBackendState(b!.address, 'ready');
    lb.setBackendState(a!.address, 'drain');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(drained.filter((d) => d.id === 0)).toEqual([]);
    const requestsOfA = a!.requests;
    const during = await countBackends(lb.port, 30, { concurrency: 3 });
    expect([...during]).toEqual([['b', 30]]);
    const slowReply = await slow;
    expect(slowReply.status).toBe(200);
    expect(backendOf(slowReply)).toBe('a');
    await waitUntil('backend-drained for a', () => drained.find((d) => d.id === 0), { timeoutMs: 5_000 });
    // b, configured in maint, was announced drained when the workers started.
    expect(drained.map(({ id, state }) => ({ id, state }))).toEqual([
      { id: 1, state: 'maint' },
      { id: 0, state: 'drain' },
    ]);
    expect(drained[1]!.inFlight).toBe(0);
    expect(a!.requests).toBe(requestsOfA + 1);
    // drain -> maint is the same drain: not announced again.
    lb.setBackendState(a!.address, 'maint');
    await countBackends(lb.port, 10);
    expect(drained).toHaveLength(2);
  });

  it('removeBackend: in-flight finishes with 200, nothing new arrives; resolves and emits backend-removed after', async () => {
    const [a, b] = await backends(['a', 'b']);
    const lb = await startBalancer({ backends: [a!.address, { address: b!.address, state: 'maint' }] });
    const removed: Array<{ id: number; inFlight: number }> = [];
    lb.on('backend-removed', ({ backend }) => removed.push({ id: backend.id, inFlight: a!.inFlight }));
    const slow = request(lb.port, '/slow');
    await waitUntil('the slow request to reach a', () => a!.inFlight === 1);
    lb.setBackendState(b!.address, 'ready');
    let resolved = false;
    const removal = lb.removeBackend(a!.address).then((status) => {
      resolved = true;
      return status;
    });
    expect(lb.backends().map((s) => s.address)).toEqual([b!.address]);
    const during = await countBackends(lb.port, 30, { concurrency: 3 });
    expect([...during]).toEqual([['b', 30]]);
    expect(resolved).toBe(false);
    expect(removed).toEqual([]);
    const slowReply = await slow;
    expect([slowReply.status, backendOf(slowReply)]).toEqual([200, 'a']);
    const status = await withTimeout('removeBackend to resolve', removal, 5_000);
    expect(status).toMatchObject({ id: 0, address: a!.address });
    expect(removed).toEqual([{ id: 0, inFlight: 0 }]);
    expect(a!.requests).toBe(1);
  });

  it('removeBackend of an idle backend resolves within moments; stop() resolves one still waiting', async () => {
    const [a, b] = await backends(['a', 'b'], 5_000);
    const lb = await startBalancer({ backends: [a!.address, b!.address], workers: 2 });
    await countBackends(lb.port, 8);
    await withTimeout('removing an idle backend', lb.removeBackend(b!.address), 2_000);

    await lb.addBackend(b!.address);
    const slow = request(lb.port, '/slow').catch(() => undefined);
    await waitUntil('a slow request in flight', () => a!.inFlight + b!.inFlight === 1);
    const busy = a!.inFlight === 1 ? a! : b!;
    let settled = false;
    const removal = lb.removeBackend(busy.address).then(() => (settled = true));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(settled).toBe(false);
    await lb.stop({ deadlineMs: 100 });
    await withTimeout('removeBackend after stop', removal, 2_000);
    await slow;
  });
});
