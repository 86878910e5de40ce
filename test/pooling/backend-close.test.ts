// Pooled backend connections that the backend closes while they sit idle must be dropped
// from the pool, and the next request must still succeed on a fresh connection.
import { afterEach, describe, expect, it } from 'vitest';
import { runCleanups } from '../helpers/cleanup.js';
import { RawClient } from '../helpers/raw-client.js';
import { ScriptedBackend, describeReply } from '../helpers/scripted-backend.js';
import { printable } from '../helpers/http-message.js';
import { startBalancer } from '../helpers/balancer.js';
import { waitUntil } from '../helpers/wait.js';
import { startHttpBackend } from '../helpers/http-backend.js';

afterEach(runCleanups);

const get = (path: string, id: string): string => `GET ${path} HTTP/1.1\r\nHost: test.local\r\nX-Request-Id: ${id}\r\n\r\n`;

describe('backend closes pooled connections', () => {
  it('a backend that closes each keep-alive connection shortly after its response: every next request gets 200', async () => {
    // A keep-alive response (no Connection: close), then the backend closes the idle
    // connection 30 ms later: the proxy has pooled it by then.
    const backend = await ScriptedBackend.start((req) => ({ ...describeReply('b1', req), close: true, closeDelayMs: 30 }));
    const lb = await startBalancer({ backends: [backend.address], workers: 1 });
    const client = await RawClient.connect(lb.port);

    for (let i = 0; i < 5; i++) {
      await client.write(get(`/r/${i}`, `r${i}`));
      const res = await client.readResponse();
      expect(res.status, printable(client.received())).toBe(200);
      expect(res.body.toString()).toBe(`b1 GET /r/${i} id=r${i}`);
      // The backend has closed (FIN) this connection before the next request is sent.
      await waitUntil(`backend connection ${i} ended`, () => backend.connections[i]?.ended === true);
    }
    expect(backend.acceptedCount).toBe(5);
    // Each backend connection carried exactly one request: none was written to a closed one.
    expect(backend.connections.map((c) => c.requests.length)).toEqual([1, 1, 1, 1, 1]);
    await waitUntil('the pool to drop the closed connection', () => lb.stats().backends[0]!.idleConnections === 0);
  });

  it('the pool notices an idle close on its own (idleConnections falls back to 0)', async () => {
    const backend = await ScriptedBackend.start((req) => ({ ...describeReply('b1', req), close: true, closeDelayMs: 50 }));
    const lb = await startBalancer({ backends: [backend.address], workers: 1 });
    const client = await RawClient.connect(lb.port);
    await client.write(get('/once', 'once'));
    expect((await client.readResponse()).status).toBe(200);
    await waitUntil('backend closed its side', () => backend.connections[0]?.ended === true);
    await waitUntil('idleConnections back to 0', () => lb.stats().backends[0]!.idleConnections === 0);
    // The proxy closed its side of the dead connection too (no half-open socket left).
    await waitUntil('proxy closed its side of the backend connection', () => backend.connections[0]?.closed === true);
    expect(lb.stats().backends[0]!.activeConnections).toBe(0);
  });

  it('node:http backend with a short keepAliveTimeout: requests spaced past it all succeed', async () => {
    // node closes idle connections after keepAliveTimeout; the proxy's backendIdleMs is
    // longer here on purpose, so the close happens while the connection sits in the pool.
    const backend = await startHttpBackend('n1', { keepAliveTimeoutMs: 100 });
    const lb = await startBalancer({
      backends: [backend.address],
      workers: 1,
      timeouts: { backendIdleMs: 10_000 },
    });
    const client = await RawClient.connect(lb.port);
    for (let i = 0; i < 3; i++) {
      await client.write(get(`/n/${i}`, `n${i}`));
      const res = await client.readResponse();
      expect(res.status, printable(client.received())).toBe(200);
      expect(res.body.toString()).toBe(`n1 GET /n/${i} id=n${i}`);
      const opened = backend.connections;
      // Wait until node has closed the idle backend connection (its socket count drops).
      await waitUntil('node closed the idle connection', async () => {
        const count = await new Promise<number>((resolve) => backend.server.getConnections((_, n) => resolve(n)));
        return count === 0;
      });
      expect(backend.connections).toBe(opened);
    }
    expect(backend.connections).toBe(3);
  });
});
