// Client and backend connections have separate lives: a client's "Connection: close" ends
// the client connection, not the pooled backend connection behind it.
import { afterEach, describe, expect, it } from 'vitest';
import { runCleanups } from '../helpers/cleanup.js';
import { RawClient } from '../helpers/raw-client.js';
import { ScriptedBackend, describeReply } from '../helpers/scripted-backend.js';
import { header, headerHasToken, headerValues, printable } from '../helpers/http-message.js';
import { startBalancer } from '../helpers/balancer.js';
import { waitUntil } from '../helpers/wait.js';

afterEach(runCleanups);

describe('Connection: close from the client', () => {
  it('closes the client connection, keeps the backend connection pooled and reuses it for the next clients', async () => {
    const backend = await ScriptedBackend.start((req) => describeReply('b1', req));
    // One worker, so consecutive clients share one pool.
    const lb = await startBalancer({ backends: [backend.address], workers: 1 });

    for (let i = 0; i < 5; i++) {
      const client = await RawClient.connect(lb.port);
      await client.write(`GET /c/${i} HTTP/1.1\r\nHost: test.local\r\nX-Request-Id: c${i}\r\nConnection: close\r\n\r\n`);
      const res = await client.readResponse();
      expect(res.status, printable(res.raw)).toBe(200);
      expect(res.body.toString()).toBe(`b1 GET /c/${i} id=c${i}`);
      expect(headerHasToken(res, 'connection', 'close'), printable(res.raw)).toBe(true);
      expect(await client.waitForServerClose(5_000), 'client connection closed after the response').toBe(true);
      expect(client.unread().length).toBe(0);
      // Wait for the backend connection to be back in the pool before the next client.
      await waitUntil('backend connection idle in the pool', () => lb.stats().backends[0]!.idleConnections === 1);
    }

    expect(backend.acceptedCount, backend.describe()).toBe(1);
    const conn = backend.connections[0]!;
    expect(conn.closed).toBe(false);
    expect(conn.requests.length).toBe(5);
    for (const req of conn.requests) {
      // "Connection" is hop-by-hop: the client's close is not the backend connection's.
      expect(
        headerValues(req, 'connection').some((v) => /close/i.test(v)),
        printable(req.raw),
      ).toBe(false);
      expect(header(req, 'host')).toBe('test.local');
    }
    const stats = lb.stats().backends[0]!;
    expect(stats.connectionsOpened).toBe(1);
    expect(stats.requests).toBe(5);
  });

  it('does not forward headers named in the client Connection header', async () => {
    const backend = await ScriptedBackend.start((req) => describeReply('b1', req));
    const lb = await startBalancer({ backends: [backend.address] });
    const client = await RawClient.connect(lb.port);
    await client.write(
      'GET /hop HTTP/1.1\r\nHost: test.local\r\nConnection: keep-alive, X-Secret-Hop\r\n' +
        'X-Secret-Hop: 1\r\nKeep-Alive: timeout=5\r\nX-End-To-End: kept\r\n\r\n',
    );
    const res = await client.readResponse();
    expect(res.status).toBe(200);
    const req = backend.requests()[0]!;
    expect(header(req, 'x-secret-hop'), printable(req.raw)).toBeUndefined();
    expect(header(req, 'keep-alive'), printable(req.raw)).toBeUndefined();
    expect(header(req, 'x-end-to-end')).toBe('kept');
  });

  it('a backend "Connection: close" response closes only that backend connection, not the client one', async () => {
    const backend = await ScriptedBackend.start((req, ctx) => ({
      bytes: `HTTP/1.1 200 OK\r\nContent-Length: ${String(ctx.index).length}\r\nConnection: close\r\n\r\n${ctx.index}`,
      close: true,
    }));
    const lb = await startBalancer({ backends: [backend.address] });
    const client = await RawClient.connect(lb.port);
    for (let i = 0; i < 3; i++) {
      await client.write(`GET /bc/${i} HTTP/1.1\r\nHost: test.local\r\n\r\n`);
      const res = await client.readResponse();
      expect(res.status, printable(client.received())).toBe(200);
      expect(res.body.toString()).toBe(String(i));
    }
    // Each request needed a fresh backend connection; the client's stayed open.
    expect(backend.acceptedCount).toBe(3);
    expect(client.serverClosed).toBe(false);
  });
});
