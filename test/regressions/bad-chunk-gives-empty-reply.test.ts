// Issue 14 (smaller ones): a backend that broke chunked framing gave the client an empty
// reply. The relayed head was still waiting in the proxy's buffer when the bad chunk was
// found, and the connection was closed with it. Now:
//   - nothing sent yet: the client gets a clean 502 (Connection: close);
//   - part of the response already sent: the rest of what was validated (head and body
//     bytes before the fault) is flushed, then the connection closes with a FIN, so the
//     client's framing (no last chunk) shows the truncation;
//   - an HTTP/1.0 client, whose de-chunked body ends with the close, gets a reset: a FIN
//     would pass the truncated body off as complete.
// In every case the backend connection is closed, never pooled.
import { afterEach, describe, expect, it } from 'vitest';
import { runCleanups } from '../helpers/cleanup.js';
import { RawClient } from '../helpers/raw-client.js';
import { type BackendConnection, ScriptedBackend } from '../helpers/scripted-backend.js';
import { buildResponse, printable } from '../helpers/http-message.js';
import { waitUntil } from '../helpers/wait.js';
import { expectErrorThenClose, startEdgeBalancer } from '../edge/support.js';

afterEach(runCleanups);

const CHUNKED_HEAD = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n';

/** A backend answering its first connection with `first`, later ones with a good 200. */
async function rawBackend(first: (conn: BackendConnection, client: () => RawClient) => Promise<void>) {
  let client: RawClient | undefined;
  const backend = await ScriptedBackend.stepwise(async (conn, index) => {
    await conn.readHead();
    if (index === 0) {
      await first(conn, () => client!);
    } else {
      await conn.write(buildResponse(200, 'next', { reason: 'OK' }));
    }
  });
  const lb = await startEdgeBalancer([backend.address]);
  return {
    backend,
    lb,
    connect: async () => {
      client = await RawClient.connect(lb.port);
      return client;
    },
  };
}

async function expectNextRequestOnFreshConnection(port: number, backend: ScriptedBackend): Promise<void> {
  await waitUntil('the proxy to close the first backend connection', () => backend.connections[0]!.peerClosed, {
    timeoutMs: 3_000,
  });
  const next = await RawClient.connect(port);
  await next.write('GET /next HTTP/1.1\r\nHost: h\r\n\r\n');
  const res = await next.readResponse();
  expect(res.status, printable(next.received())).toBe(200);
  expect(res.body.toString()).toBe('next');
  expect(backend.connections.length).toBe(2);
}

describe('a bad chunk from the backend', () => {
  it('before any byte went to the client (head and bad chunk in one read): a clean 502', async () => {
    const backend = await ScriptedBackend.start((_req, ctx) =>
      ctx.index === 0
        ? { bytes: `${CHUNKED_HEAD}4\r\nfine\r\nzz\r\nbroken\r\n0\r\n\r\n` }
        : { bytes: buildResponse(200, 'next', { reason: 'OK' }) },
    );
    const lb = await startEdgeBalancer([backend.address]);
    const client = await RawClient.connect(lb.port);
    await client.write('GET /first HTTP/1.1\r\nHost: h\r\n\r\n');
    const res = await expectErrorThenClose(client, 502);
    expect(res.body.toString()).toBe('Bad Gateway\n');
    expect(client.received().includes('fine'), printable(client.received())).toBe(false);
    await waitUntil('the backend connection to be closed', () => backend.connections[0]?.closed, { timeoutMs: 3_000 });
    const next = await RawClient.connect(lb.port);
    await next.write('GET /next HTTP/1.1\r\nHost: h\r\n\r\n');
    expect((await next.readResponse()).status).toBe(200);
    expect(backend.acceptedCount, backend.describe()).toBe(2);
  });

  it('after the head went out: the chunks validated before the fault are flushed, then a clean close', async () => {
    const { backend, lb, connect } = await rawBackend(async (conn, client) => {
      await conn.write(`${CHUNKED_HEAD}4\r\nfine\r\n`);
      await waitUntil('the client to receive the first chunk', () => client().received().includes('fine'), { timeoutMs: 3_000 });
      // A good chunk and a bad one arrive together: the good one is the client's.
      await conn.write('5\r\nmore!\r\nzz\r\nbroken\r\n0\r\n\r\n');
    });
    const client = await connect();
    await client.write('GET /first HTTP/1.1\r\nHost: h\r\n\r\n');
    expect(await client.waitForServerClose(3_000), printable(client.received())).toBe(true);
    const received = client.received().toString('latin1');
    const body = received.slice(received.indexOf('\r\n\r\n') + 4);
    expect(received.startsWith('HTTP/1.1 200 OK\r\n'), received).toBe(true);
    expect(body, received).toBe('4\r\nfine\r\n5\r\nmore!\r\n');
    expect(client.error, `a reset instead of a FIN:\n${received}`).toBeUndefined();
    // No last chunk: the client can tell the response is truncated.
    await expect(client.readResponse({ timeoutMs: 200 })).rejects.toThrow();
    await expectNextRequestOnFreshConnection(lb.port, backend);
  });

  it('a fault in the middle of a chunk-size line: the bytes before it are flushed, none after', async () => {
    const { backend, lb, connect } = await rawBackend(async (conn, client) => {
      await conn.write(`${CHUNKED_HEAD}4\r\nfine\r\n`);
      await waitUntil('the client to receive the first chunk', () => client().received().includes('fine'), { timeoutMs: 3_000 });
      await conn.write('3\r\nabc\r\n5x\r\nhello\r\n0\r\n\r\n');
    });
    const client = await connect();
    await client.write('GET /first HTTP/1.1\r\nHost: h\r\n\r\n');
    expect(await client.waitForServerClose(3_000), printable(client.received())).toBe(true);
    const received = client.received().toString('latin1');
    expect(received.slice(received.indexOf('\r\n\r\n') + 4), received).toMatch(/^4\r\nfine\r\n3\r\nabc\r\n5?$/);
    expect(received.includes('hello')).toBe(false);
    expect(client.error).toBeUndefined();
    await expectNextRequestOnFreshConnection(lb.port, backend);
  });

  it('an HTTP/1.0 client (body de-chunked, ended by the close) gets a reset, never a FIN that would look complete', async () => {
    const { backend, lb, connect } = await rawBackend(async (conn, client) => {
      await conn.write(`${CHUNKED_HEAD}4\r\nfine\r\n`);
      await waitUntil('the client to receive the first chunk', () => client().received().includes('fine'), { timeoutMs: 3_000 });
      await conn.write('zz\r\nbroken\r\n0\r\n\r\n');
    });
    const client = await connect();
    await client.write('GET /first HTTP/1.0\r\n\r\n');
    expect(await client.waitForServerClose(3_000), printable(client.received())).toBe(true);
    expect(client.error?.message ?? 'a clean FIN', printable(client.received())).toMatch(/ECONNRESET/);
    expect(client.received().includes('broken')).toBe(false);
    await expectNextRequestOnFreshConnection(lb.port, backend);
  });
});

describe('a backend that fails mid-body (Content-Length)', () => {
  it('the bytes that arrived are passed on, then a clean close short of the length', async () => {
    const { backend, lb, connect } = await rawBackend(async (conn, client) => {
      await conn.write('HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n12345');
      await waitUntil('the client to receive the first bytes', () => client().received().includes('12345'), { timeoutMs: 3_000 });
      conn.end('67890');
    });
    const client = await connect();
    await client.write('GET /first HTTP/1.1\r\nHost: h\r\n\r\n');
    expect(await client.waitForServerClose(3_000), printable(client.received())).toBe(true);
    const received = client.received().toString('latin1');
    expect(received.slice(received.indexOf('\r\n\r\n') + 4), received).toBe('1234567890');
    expect(client.error).toBeUndefined();
    await expectNextRequestOnFreshConnection(lb.port, backend);
  });
});
