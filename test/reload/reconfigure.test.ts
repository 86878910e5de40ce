// Balancer.reconfigure and Balancer.rebind, in process against real backends: what a
// reload applies live, and what it refuses without changing anything.
import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';

import type { AccessEvent, BackendRemovedEvent, ListeningEvent } from '../../src/events.js';
import { LbConfigError, LbListenError, LbStateError, createBalancer } from '../../src/index.js';
import { startBalancer } from '../helpers/balancer.js';
import { onCleanup, runCleanups } from '../helpers/cleanup.js';
import { RawClient } from '../helpers/raw-client.js';
import { startHttpBackend } from '../helpers/http-backend.js';
import { waitUntil } from '../helpers/wait.js';
import { freePort } from '../helpers/free-port.js';
import { backendCounts, get, oldPortReleased } from './support.js';

afterEach(runCleanups);

describe('reconfigure: backends by address', () => {
  it('adds, drains and removes, and changes weight and state, in one update', async () => {
    const [a, b, c] = await Promise.all(
      ['a', 'b', 'c'].map((name) => startHttpBackend(name, { delayMs: (req) => (req.url === '/slow' ? 400 : 0) })),
    );
    const lb = await startBalancer({ backends: [a!.address, b!.address], strategy: 'weighted-round-robin', workers: 1 });
    const removed: BackendRemovedEvent[] = [];
    lb.on('backend-removed', (event) => removed.push(event));

    // A slow request in flight on b: removing b lets it finish.
    const agent = new http.Agent({ keepAlive: false });
    onCleanup(() => agent.destroy());
    let slowOnB: Promise<{ status: number; backend: string }> | undefined;
    for (let i = 0; i < 4 && !slowOnB; i += 1) {
      const attempt = get(lb.port, '/slow');
      await waitUntil('the slow request to reach a backend', () => a!.inFlight + b!.inFlight > 0);
      if (b!.inFlight > 0) slowOnB = attempt;
      else await attempt;
    }
    expect(slowOnB).toBeDefined();

    const result = await lb.reconfigure({
      listen: lb.config.listeners[0]!.listen.text,
      workers: 1,
      strategy: 'weighted-round-robin',
      backends: [{ address: a!.address, weight: 3 }, c!.address],
    });
    expect(result).toEqual({
      added: [c!.address],
      removed: [b!.address],
      changed: [`${a!.address} (weight 1 -> 3)`],
      settings: [],
    });
    expect(lb.backends().map((s) => [s.address, s.weight])).toEqual([
      [a!.address, 3],
      [c!.address, 1],
    ]);
    expect(await slowOnB).toMatchObject({ status: 200, backend: 'b' });
    await waitUntil('b removed once drained', () => removed.length === 1);
    expect(removed[0]?.backend.address).toBe(b!.address);
    expect(await backendCounts(lb.port, 8)).toEqual({ a: 6, c: 2 });

    // State: c to maint takes it out; back to ready brings it back.
    const maint = await lb.reconfigure({
      listen: lb.config.listeners[0]!.listen.text,
      workers: 1,
      strategy: 'weighted-round-robin',
      backends: [
        { address: a!.address, weight: 3 },
        { address: c!.address, state: 'maint' },
      ],
    });
    expect(maint.changed).toEqual([`${c!.address} (state ready -> maint)`]);
    expect(await backendCounts(lb.port, 4)).toEqual({ a: 4 });
  });

  it('changes the strategy and every other setting, and lists them', async () => {
    const a = await startHttpBackend('a');
    const lb = await startBalancer({ backends: [a.address], workers: 1 });
    const result = await lb.reconfigure({
      listen: lb.config.listeners[0]!.listen.text,
      workers: 1,
      backends: [a.address],
      strategy: 'least-connections',
      timeouts: { connectMs: 1234 },
      retries: { maxTries: 2 },
      forwarded: { mode: 'none' },
      accessLogSampleRate: 1,
    });
    expect(result.strategy).toEqual({ from: 'round-robin', to: 'least-connections' });
    expect(result.settings.sort()).toEqual(['accessLogSampleRate', 'forwarded.mode', 'retries.maxTries', 'timeouts.connectMs']);
    expect(lb.strategy).toBe('least-connections');
    expect(lb.config.timeouts.connectMs).toBe(1234);
    // The new access-log rate is in force: every request is an 'access' event.
    const events: AccessEvent[] = [];
    lb.on('access', (event) => events.push(event));
    expect((await get(lb.port, '/logged?x=1')).status).toBe(200);
    await waitUntil('an access event', () => events.length > 0);
    expect(events[0]).toMatchObject({
      method: 'GET',
      target: '/logged?x=1',
      status: 200,
      client: '127.0.0.1',
      backend: { address: a.address, id: 0 },
    });
    expect(events[0]!.totalMs).toBeGreaterThanOrEqual(events[0]!.ttfbMs);
    expect(events[0]!.bytes).toBeGreaterThan(0);
  });

  it('refuses workers, mode and backlog changes, and invalid options; nothing changes', async () => {
    const a = await startHttpBackend('a');
    const b = await startHttpBackend('b');
    const lb = await startBalancer({ backends: [a.address], workers: 2 });
    const error = await lb
      .reconfigure({
        listen: lb.config.listeners[0]!.listen.text,
        backends: [a.address, b.address],
        workers: 1,
        mode: 'tcp',
        backlog: 7,
        strategy: 'random',
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LbConfigError);
    expect((error as LbConfigError).issues).toEqual([
      { path: 'workers', message: 'cannot change while running (2 running, got 1); restart lb-native to change it' },
      { path: 'mode', message: "cannot change while running (running in http mode, got 'tcp'); restart lb-native to change it" },
      { path: 'backlog', message: 'cannot change while running (running with 0, got 7); restart lb-native to change it' },
    ]);
    await expect(lb.reconfigure({ backends: [{ address: a.address, weight: 0 }] })).rejects.toThrow(
      'backends[0].weight: expected an integer from 1 to 256, got 0',
    );
    expect(lb.backends().map((s) => s.address)).toEqual([a.address]);
    expect(lb.strategy).toBe('round-robin');
    expect((await get(lb.port)).backend).toBe('a');
  });

  it('leaves alone the backends another source manages', async () => {
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((name) => startHttpBackend(name)));
    const lb = await startBalancer({ backends: [a!.address], workers: 1 });
    await lb.addBackend({ address: b!.address, weight: 7 });
    const result = await lb.reconfigure(
      {
        listen: lb.config.listeners[0]!.listen.text,
        workers: 1,
        backends: [a!.address, c!.address, { address: b!.address, weight: 1 }],
      },
      { managedElsewhere: (address) => address === b!.address },
    );
    expect(result).toMatchObject({ added: [c!.address], removed: [], changed: [] });
    expect(lb.backends().map((s) => [s.address, s.weight])).toEqual([
      [a!.address, 1],
      [b!.address, 7],
      [c!.address, 1],
    ]);
  });

  it('starts, changes and stops health checks as the options say', async () => {
    const flaky = await startHttpBackend('flaky');
    const down = http.createServer((req, res) => {
      res.statusCode = req.url === '/healthz' ? 503 : 200;
      res.setHeader('x-backend', 'sick');
      res.end('sick');
    });
    await new Promise<void>((resolve) => down.listen(0, '127.0.0.1', resolve));
    onCleanup(() => new Promise<void>((resolve) => down.close(() => resolve())));
    const sick = `127.0.0.1:${(down.address() as { port: number }).port}`;
    const lb = await startBalancer({ backends: [flaky.address, sick], workers: 1 });
    expect(lb.backends().map((s) => s.health)).toEqual(['unchecked', 'unchecked']);

    const base = { listen: lb.config.listeners[0]!.listen.text, workers: 1 };
    await lb.reconfigure({
      ...base,
      backends: [flaky.address, sick],
      healthCheck: { path: '/healthz', intervalMs: 20, fall: 1, rise: 1 },
    });
    await waitUntil('the sick backend down', () => lb.backends()[1]?.health === 'down');
    expect(lb.backends()[0]?.health).toBe('up');
    expect(await backendCounts(lb.port, 4)).toEqual({ flaky: 4 });

    // Its own `healthCheck: false` turns its checks off: unchecked, and it takes traffic again.
    const result = await lb.reconfigure({
      ...base,
      backends: [flaky.address, { address: sick, healthCheck: false }],
      healthCheck: { path: '/healthz', intervalMs: 20, fall: 1, rise: 1 },
    });
    expect(result.changed).toEqual([`${sick} (healthCheck)`]);
    expect(lb.backends()[1]?.health).toBe('unchecked');
    expect(await backendCounts(lb.port, 4)).toEqual({ flaky: 2, sick: 2 });
  });

  it('applies to a balancer that is not running, for its next start', async () => {
    const a = await startHttpBackend('a');
    const b = await startHttpBackend('b');
    const lb = createBalancer({ listen: '127.0.0.1:0', backends: [a.address], workers: 1 });
    onCleanup(() => lb.stop());
    const result = await lb.reconfigure({ listen: '127.0.0.1:0', backends: [b.address], workers: 2, mode: 'http' });
    expect(result).toMatchObject({ added: [b.address], removed: [a.address] });
    await lb.start();
    expect(lb.stats().workers).toBe(2);
    expect((await get(lb.port)).backend).toBe('b');
  });
});

describe('moving the listener', () => {
  it('rebind: the new port accepts, the old one is let go, keep-alive connections stay', async () => {
    const a = await startHttpBackend('a');
    const lb = await startBalancer({ backends: [a.address], workers: 2 });
    const oldPort = lb.port;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    onCleanup(() => agent.destroy());
    expect((await get(oldPort, '/', agent)).status).toBe(200);
    const moves: ListeningEvent[] = [];
    lb.on('listening', (event) => moves.push(event));

    const port = await freePort();
    expect(await lb.rebind(`127.0.0.1:${port}`)).toEqual({ address: '127.0.0.1', port });
    expect(moves).toEqual([{ address: '127.0.0.1', port }]);
    expect(lb.port).toBe(port);
    expect(lb.config.listeners[0]!.listen.text).toBe(`127.0.0.1:${port}`);
    expect((await get(port)).status).toBe(200);
    // The connection accepted on the old listener still works.
    expect((await get(oldPort, '/', agent)).status).toBe(200);
    await oldPortReleased(oldPort);
    expect((await get(oldPort, '/', agent)).status).toBe(200);
  });

  it('the old address serves during its grace period, and stop() closes it at once', async () => {
    const a = await startHttpBackend('a');
    const lb = await startBalancer({ backends: [a.address], workers: 2 });
    const oldPort = lb.port;
    await lb.rebind(`127.0.0.1:${await freePort()}`);
    expect((await get(oldPort)).backend).toBe('a');
    await lb.stop();
    await expect(get(oldPort)).rejects.toThrow(/ECONNREFUSED/);
  });

  it('a client that connected to the old address before the move and speaks after it is answered', async () => {
    const a = await startHttpBackend('a');
    const lb = await startBalancer({ backends: [a.address], workers: 2 });
    const oldPort = lb.port;
    // Handshakes done, nothing sent yet: the kernel holds these connections outside the
    // accept queue until their first bytes arrive (deferred accept), so closing the old
    // listener at the move would reset them.
    const early = await Promise.all([0, 1, 2, 3, 4, 5].map(() => RawClient.connect(oldPort)));
    const port = await freePort();
    await lb.rebind(`127.0.0.1:${port}`);
    for (const [i, client] of early.entries()) {
      await client.write(`GET /early/${i} HTTP/1.1\r\nHost: lb.test\r\n\r\n`);
      const response = await client.readResponse();
      expect(response.status, `early client ${i}`).toBe(200);
      expect(response.body.toString(), `early client ${i}`).toMatch(new RegExp(`^a GET /early/${i} `));
    }
    expect(early.map((client) => client.error?.message)).toEqual(early.map(() => undefined));
    await oldPortReleased(oldPort);
    expect((await get(port)).backend).toBe('a');
  });

  it('reconfigure moves it too; an address in use is refused and nothing changes', async () => {
    const a = await startHttpBackend('a');
    const b = await startHttpBackend('b');
    const lb = await startBalancer({ backends: [a.address], workers: 1 });
    const port = await freePort();
    const result = await lb.reconfigure({ listen: `127.0.0.1:${port}`, workers: 1, backends: [a.address] });
    expect(result.listen?.to).toBe(`127.0.0.1:${port}`);
    expect(lb.port).toBe(port);

    const blocker = http.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    onCleanup(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
    const taken = (blocker.address() as { port: number }).port;
    const error = await lb
      .reconfigure({ listen: `127.0.0.1:${taken}`, workers: 1, backends: [b.address] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LbListenError);
    expect((error as LbListenError).message).toBe(`listen 127.0.0.1:${taken}: address in use`);
    expect(lb.port).toBe(port);
    expect(lb.backends().map((s) => s.address)).toEqual([a.address]);
    expect((await get(port)).backend).toBe('a');
  });

  it('rebind needs a running balancer and an address', async () => {
    const lb = createBalancer({ backends: ['127.0.0.1:9'] });
    await expect(lb.rebind('127.0.0.1:0')).rejects.toBeInstanceOf(LbStateError);
    await expect(lb.rebind('nowhere')).rejects.toThrow('listen: missing port; expected host:port, e.g. 127.0.0.1:9001');
  });
});
