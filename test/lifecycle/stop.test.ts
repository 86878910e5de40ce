// stop(): graceful for in-flight requests, refuses new connections, idempotent, and a
// stopped balancer can be started again.
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { onCleanup, runCleanups } from '../helpers/cleanup.js';
import { RawClient } from '../helpers/raw-client.js';
import { startHttpBackend } from '../helpers/http-backend.js';
import { printable } from '../helpers/http-message.js';
import { startBalancer } from '../helpers/balancer.js';
import { ScriptedBackend, describeReply, type Reply } from '../helpers/scripted-backend.js';
import { waitUntil, withTimeout } from '../helpers/wait.js';

afterEach(runCleanups);

/** Resolves 'refused' or 'connected' for one connection attempt to 127.0.0.1:`port`. */
function tryConnect(port: number): Promise<'refused' | 'connected' | string> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      socket.destroy();
      resolve(err.code === 'ECONNREFUSED' ? 'refused' : String(err.code));
    });
  });
}

const get = (path: string): string => `GET ${path} HTTP/1.1\r\nHost: test.local\r\nX-Request-Id: ${path}\r\n\r\n`;

describe('stop()', () => {
  it('lets a slow in-flight request finish with 200 while new connections are refused', async () => {
    // The backend holds its answer until the test has seen new connections refused, so the
    // order does not depend on how fast a loaded machine runs.
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const backend = await ScriptedBackend.start(async (req): Promise<Reply> => {
      await released;
      return describeReply('slow', req);
    });
    onCleanup(() => release());
    const lb = await startBalancer({ backends: [backend.address] });
    const port = lb.port;
    const client = await RawClient.connect(port);
    await client.write(get('/slow'));
    await waitUntil('the slow request to reach the backend', () => backend.requests().length === 1);

    const stopping = lb.stop();
    let stopped = false;
    void stopping.then(() => (stopped = true));
    // Stopping closes the listeners at once: a new connection is refused while the slow
    // request is still being answered.
    await waitUntil('new connections refused', async () => (await tryConnect(port)) === 'refused');
    expect(stopped, 'stop() waits for the request in flight').toBe(false);
    release();

    const res = await client.readResponse();
    expect(res.status, printable(res.raw)).toBe(200);
    expect(res.body.toString()).toBe('slow GET /slow id=/slow');
    await stopping;
    expect(lb.state).toBe('stopped');
    // The client connection does not outlive the balancer.
    expect(await client.waitForServerClose(5_000)).toBe(true);
    expect(await tryConnect(port)).toBe('refused');
  });

  it('closes idle keep-alive client connections', async () => {
    const backend = await startHttpBackend('b');
    const lb = await startBalancer({ backends: [backend.address] });
    const client = await RawClient.connect(lb.port);
    await client.write(get('/idle'));
    expect((await client.readResponse()).status).toBe(200);
    await lb.stop();
    expect(await client.waitForServerClose(5_000)).toBe(true);
  });

  it('is idempotent: twice in a row, and twice at once', async () => {
    const backend = await startHttpBackend('b');
    const lb = await startBalancer({ backends: [backend.address] });
    const [first, second] = [lb.stop(), lb.stop()];
    expect(second).toBe(first);
    await Promise.all([first, second]);
    await lb.stop();
    expect(lb.state).toBe('stopped');
    // The final counters of the run stay readable.
    expect(lb.stats().requests).toBe(0);
  });

  it('a stopped balancer starts again and serves', async () => {
    const backend = await startHttpBackend('b');
    const lb = await startBalancer({ backends: [backend.address] });
    for (let round = 0; round < 3; round++) {
      const client = await RawClient.connect(lb.port);
      await client.write(get(`/round/${round}`));
      const res = await client.readResponse();
      expect(res.status).toBe(200);
      expect(res.body.toString()).toBe(`b GET /round/${round} id=/round/${round}`);
      client.destroy();
      const port = lb.port;
      await lb.stop();
      expect(await tryConnect(port)).toBe('refused');
      await lb.start();
      expect(lb.state).toBe('running');
    }
    // Counters start over with each run.
    expect(lb.stats().requests).toBe(0);
  });

  for (const [what, reply] of [
    ['never answers', undefined],
    ['sent half a response head', 'HTTP/1.1 200 OK\r\nContent-Le'],
    ['sent half a response body', 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc'],
  ] as const) {
    it(`stop({ deadlineMs: 300 }) finishes while the backend ${what}, and closes the client`, async () => {
      const backend = await ScriptedBackend.start(() => (reply === undefined ? new Promise<Reply>(() => {}) : { bytes: reply }));
      const lb = await startBalancer({ backends: [backend.address] });
      const client = await RawClient.connect(lb.port);
      await client.write(get('/stuck'));
      await backend.waitForRequests(1);
      await backend.waitForQuiet();
      // The deadline is 300 ms; 8 s is the bound on waiting for it (not a speed check).
      await withTimeout('stop() past its 300 ms deadline', lb.stop({ deadlineMs: 300 }), 8_000);
      expect(lb.state).toBe('stopped');
      expect(await client.waitForServerClose(5_000)).toBe(true);
    });
  }

  it('stop() with deadlineMs 0 closes a slow in-flight exchange at once instead of waiting', async () => {
    const backend = await startHttpBackend('slow', { delayMs: () => 3_000 });
    const lb = await startBalancer({ backends: [backend.address] });
    const client = await RawClient.connect(lb.port);
    await client.write(get('/very-slow'));
    await waitUntil('the request to reach the backend', () => backend.inFlight === 1);
    await lb.stop({ deadlineMs: 0 });
    // The stop did not wait for the 3 s answer: the request is still pending at the backend.
    expect(backend.inFlight).toBe(1);
    expect(await client.waitForServerClose(5_000)).toBe(true);
  });
});
