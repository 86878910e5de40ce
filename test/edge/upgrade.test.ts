// Upgrade (WebSocket), handshake done by hand on raw sockets: the backend gets
// Connection: upgrade and Upgrade: websocket; after its 101 the bytes flow both ways
// untouched, half-close is passed on, an idle tunnel is closed after tunnelIdleMs, and a
// 101 nobody asked for is a 502.
import { createHash, randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { runCleanups } from '../helpers/cleanup.js';
import { RawClient } from '../helpers/raw-client.js';
import { header, headerHasToken, printable } from '../helpers/http-message.js';
import { type BackendConnection, ScriptedBackend } from '../helpers/scripted-backend.js';
import { waitUntil } from '../helpers/wait.js';
import { expectErrorThenClose, headLines, linesNamed, startEdgeBalancer } from './support.js';

afterEach(runCleanups);

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const acceptFor = (key: string): string =>
  createHash('sha1')
    .update(key + WS_GUID)
    .digest('base64');

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const UPGRADE_REQUEST =
  'GET /chat HTTP/1.1\r\n' +
  'Host: h\r\n' +
  'Connection: Upgrade\r\n' +
  'Upgrade: websocket\r\n' +
  `Sec-WebSocket-Key: ${KEY}\r\n` +
  'Sec-WebSocket-Version: 13\r\n' +
  '\r\n';

const response101 = (key: string): string =>
  'HTTP/1.1 101 Switching Protocols\r\n' +
  'Upgrade: websocket\r\n' +
  'Connection: Upgrade\r\n' +
  `Sec-WebSocket-Accept: ${acceptFor(key)}\r\n` +
  '\r\n';

// Bytes that look like HTTP framing, plus bytes that are not UTF-8.
const TRICKY_UP = Buffer.concat([
  Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
  Buffer.from([0x00, 0xff, 0xfe, 0x80, 0xc3, 0x28, 0x0d, 0x0a, 0x0d, 0x0a]),
  randomBytes(1024),
]);
const TRICKY_DOWN = Buffer.concat([
  Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'),
  Buffer.from([0xf5, 0x00, 0x0d, 0x0d, 0x0a, 0x81, 0x7e]),
  randomBytes(1024),
]);

/** Bytes `client` received after the first `from`, once at least `n` of them are there. */
async function clientBytesAfter(client: RawClient, from: number, n: number, timeoutMs = 5_000): Promise<Buffer> {
  await waitUntil(`${n} tunnel bytes at the client`, () => client.received().length - from >= n, { timeoutMs });
  return client.received().subarray(from);
}

/**
 * Does the handshake through the balancer: returns the client (with the 101 read), the
 * offset in its received bytes where the tunnel starts, and the backend connection (with
 * the upgrade head read).
 */
async function handshake(options: Parameters<typeof startEdgeBalancer>[1] = {}) {
  let backendConn: BackendConnection | undefined;
  let upgradeHead: Buffer | undefined;
  const backend = await ScriptedBackend.stepwise(async (conn) => {
    upgradeHead = await conn.readHead();
    const key = linesNamed(upgradeHead, 'sec-websocket-key')[0]?.split(': ')[1] ?? '';
    await conn.write(response101(key));
    backendConn = conn;
  });
  const lb = await startEdgeBalancer([backend.address], options);
  const client = await RawClient.connect(lb.port);
  await client.write(UPGRADE_REQUEST);
  const res = await client.readResponse({ timeoutMs: 5_000 });
  await waitUntil('the backend to finish its side of the handshake', () => backendConn);
  const tunnelStart = client.received().length - client.unread().length;
  return { backend, lb, client, res, tunnelStart, conn: backendConn!, upgradeHead: upgradeHead! };
}

describe('WebSocket upgrade', () => {
  it('the backend gets Connection: upgrade and Upgrade: websocket; the client gets the 101 with the accept key', async () => {
    const { res, upgradeHead, client } = await handshake();
    expect(headLines(upgradeHead)[0]).toBe('GET /chat HTTP/1.1');
    expect(
      linesNamed(upgradeHead, 'connection').map((l) => l.toLowerCase()),
      printable(upgradeHead),
    ).toEqual(['connection: upgrade']);
    expect(linesNamed(upgradeHead, 'upgrade'), printable(upgradeHead)).toEqual(['Upgrade: websocket']);
    expect(linesNamed(upgradeHead, 'sec-websocket-key')).toEqual([`Sec-WebSocket-Key: ${KEY}`]);
    expect(linesNamed(upgradeHead, 'sec-websocket-version')).toEqual(['Sec-WebSocket-Version: 13']);

    expect(res.status, printable(client.received())).toBe(101);
    expect(headerHasToken(res, 'connection', 'upgrade'), printable(res.raw)).toBe(true);
    expect(header(res, 'upgrade')).toBe('websocket');
    expect(header(res, 'sec-websocket-accept')).toBe(acceptFor(KEY));
    expect(client.unread().length).toBe(0);
  });

  it('after the 101, bytes flow both ways untouched (HTTP-looking and non-UTF-8 bytes, and a large burst)', async () => {
    const { client, tunnelStart, conn } = await handshake();
    const upstreamStart = conn.unread().length; // nothing should be pending after the head
    expect(upstreamStart).toBe(0);

    await client.write(TRICKY_UP);
    expect((await conn.readBytes(TRICKY_UP.length)).equals(TRICKY_UP)).toBe(true);

    await conn.write(TRICKY_DOWN);
    const down = await clientBytesAfter(client, tunnelStart, TRICKY_DOWN.length);
    expect(down.equals(TRICKY_DOWN), printable(down, 200)).toBe(true);

    // A burst bigger than the proxy's buffers, both ways at once.
    const bigUp = randomBytes(512 * 1024);
    const bigDown = randomBytes(512 * 1024);
    const [gotUp] = await Promise.all([conn.readBytes(bigUp.length, 10_000), client.write(bigUp), conn.write(bigDown)]);
    expect(gotUp.equals(bigUp)).toBe(true);
    const all = await clientBytesAfter(client, tunnelStart, TRICKY_DOWN.length + bigDown.length, 10_000);
    expect(all.equals(Buffer.concat([TRICKY_DOWN, bigDown]))).toBe(true);
    expect(conn.unread().length).toBe(0);
  });

  it('bytes the backend sends right behind its 101 are delivered as tunnel data', async () => {
    const backend = await ScriptedBackend.stepwise(async (conn) => {
      await conn.readHead();
      await conn.write(Buffer.concat([Buffer.from(response101(KEY)), TRICKY_DOWN]));
    });
    const lb = await startEdgeBalancer([backend.address]);
    const client = await RawClient.connect(lb.port);
    await client.write(UPGRADE_REQUEST);
    const res = await client.readResponse({ timeoutMs: 5_000 });
    expect(res.status).toBe(101);
    const start = client.received().length - client.unread().length;
    const down = await clientBytesAfter(client, start, TRICKY_DOWN.length);
    expect(down.equals(TRICKY_DOWN)).toBe(true);
  });

  it("half-close: the client's FIN reaches the backend, which can still send a final message the client receives", async () => {
    const { client, tunnelStart, conn } = await handshake();
    await client.write('last words from the client');
    expect((await conn.readBytes('last words from the client'.length)).toString()).toBe('last words from the client');
    client.end();
    expect(await conn.waitForEnd(5_000), 'the backend never saw the client FIN').toBe(true);
    await conn.write('goodbye from the backend');
    const down = await clientBytesAfter(client, tunnelStart, 'goodbye from the backend'.length);
    expect(down.toString()).toBe('goodbye from the backend');
    conn.end();
    expect(await client.waitForServerClose(5_000), 'the client never saw the backend FIN').toBe(true);
    expect(client.error).toBeUndefined();
  });

  it("the backend's last bytes and its FIN sent together: the client gets the bytes, then the FIN", async () => {
    const { client, tunnelStart, conn } = await handshake();
    conn.end('server done');
    const down = await clientBytesAfter(client, tunnelStart, 'server done'.length);
    expect(down.toString()).toBe('server done');
    expect(await client.waitForServerClose(5_000), 'the client never saw the backend FIN').toBe(true);
    // RawClient's socket does not allow half-open, so Node then ends our side: the
    // backend sees the end of the stream.
    expect(await conn.waitForEnd(5_000), 'the backend never saw the end of the stream').toBe(true);
  });

  it("the client's last bytes and its FIN sent together: the backend gets both and can still answer", async () => {
    const { client, tunnelStart, conn } = await handshake();
    client.socket.end(Buffer.from('last words'));
    expect((await conn.readBytes('last words'.length)).toString()).toBe('last words');
    expect(await conn.waitForEnd(5_000), 'the backend never saw the client FIN').toBe(true);
    conn.end('reply after FIN');
    const down = await clientBytesAfter(client, tunnelStart, 'reply after FIN'.length);
    expect(down.toString()).toBe('reply after FIN');
    expect(await client.waitForServerClose(5_000), 'the client never saw the backend FIN').toBe(true);
  });

  it('an idle tunnel is closed after tunnelIdleMs, on both sides', async () => {
    const { client, tunnelStart, conn } = await handshake({ timeouts: { tunnelIdleMs: 400 } });
    await client.write('ping');
    expect((await conn.readBytes(4)).toString()).toBe('ping');
    expect(await client.waitForServerClose(5_000), 'idle tunnel never closed (client side)').toBe(true);
    expect(await conn.waitForEnd(5_000), 'idle tunnel never closed (backend side)').toBe(true);
    expect(client.received().length).toBe(tunnelStart);
  });

  it('502 for a 101 the client did not ask for; the backend connection is closed', async () => {
    const backend = await ScriptedBackend.stepwise(async (conn) => {
      await conn.readHead();
      await conn.write(response101(KEY) + 'tunnel bytes that must not leak');
    });
    const lb = await startEdgeBalancer([backend.address]);
    const client = await RawClient.connect(lb.port);
    await client.write('GET /plain HTTP/1.1\r\nHost: h\r\n\r\n');
    await expectErrorThenClose(client, 502);
    expect(client.received().includes('tunnel bytes'), printable(client.received())).toBe(false);
    expect(await backend.connections[0]!.waitForEnd(3_000), 'backend connection left open').toBe(true);
  });

  it('a declined upgrade (the backend answers 200) is an ordinary response on a connection that stays HTTP', async () => {
    const backend = await ScriptedBackend.stepwise(async (conn) => {
      await conn.readHead();
      await conn.write('HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\ndeclined');
      await conn.readHead();
      await conn.write('HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnext');
    });
    const lb = await startEdgeBalancer([backend.address]);
    const client = await RawClient.connect(lb.port);
    await client.write(UPGRADE_REQUEST);
    const res = await client.readResponse({ timeoutMs: 5_000 });
    expect(res.status, printable(client.received())).toBe(200);
    expect(res.body.toString()).toBe('declined');
    expect(header(res, 'upgrade')).toBeUndefined();
    await client.write('GET /next HTTP/1.1\r\nHost: h\r\n\r\n');
    expect((await client.readResponse({ timeoutMs: 5_000 })).body.toString(), printable(client.received())).toBe('next');
  });
});
