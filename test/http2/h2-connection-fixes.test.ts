// HTTP/2 connection-level regressions found by review, each pinned by the bug it fixed:
// - h2-grant-to-dying-connection: a slot freed while a connection's streams were cancelled
//   together was granted to a sibling stream, which connected to the backend only to drop it;
// - h2c-goaway-on-tls-only-option: a reload of `http2` (ALPN, TLS only) sent GOAWAY to h2c
//   connections, and one of `http2c` to TLS ones;
// - h2-silent-connection-kept-for-keepalive: a connection that never opened a stream was
//   kept for keepAliveMs, where HTTP/1.1 closes a silent connection after clientHeadMs;
// - h2-408-stream-left-open: a 408 (request body timeout) must end the client's stream and
//   free its concurrent-stream slot;
// - h2-acme-challenge-bypass: h2 streams took /.well-known/acme-challenge to the backends
//   while the balancer answers it for HTTP/1.1 (and h2c was silently off with ACME).
import http2 from 'node:http2';
import net, { type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';

import { startBalancer } from '../helpers/balancer.js';
import { onCleanup, runCleanups } from '../helpers/cleanup.js';
import { useTlsFixtures } from '../helpers/use-tls-fixtures.js';
import { delay, waitUntil } from '../helpers/wait.js';
import { connectH2c, Flags, FrameReader, FrameType, frame, headerBlock, requestFields } from '../helpers/h2-frames.js';

const fixtures = useTlsFixtures({ names: ['localhost'], ips: ['127.0.0.1'] });

afterEach(async () => {
  await runCleanups();
});

function headersFrame(streamId: number, block: Buffer, endStream = true): Buffer {
  return frame(FrameType.headers, Flags.endHeaders | (endStream ? Flags.endStream : 0), streamId, block);
}

interface CountingBackend {
  address: string;
  /** TCP connections accepted so far. */
  connections: number;
  /** Request targets seen, in order. */
  paths: string[];
  /** Answers the /hold requests waiting so far. */
  release(): void;
}

/**
 * An HTTP/1.1 backend that counts its connections and the request targets it reads;
 * `/hold` is never answered (the test ends it by going away), anything else at once.
 */
async function countingBackend(): Promise<CountingBackend> {
  const sockets = new Set<net.Socket>();
  const held: net.Socket[] = [];
  const state: CountingBackend = {
    address: '',
    connections: 0,
    paths: [],
    release: () => {
      for (const socket of held.splice(0)) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nheld');
    },
  };
  const server = net.createServer((socket) => {
    state.connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let pending = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      pending += chunk;
      let end: number;
      while ((end = pending.indexOf('\r\n\r\n')) >= 0) {
        const path = pending.split(' ')[1] ?? '/';
        pending = pending.slice(end + 4);
        state.paths.push(path);
        if (path === '/hold') {
          held.push(socket);
          continue;
        }
        const body = `backend ${path}`;
        socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onCleanup(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  );
  state.address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
}

async function connect(url: string): Promise<http2.ClientHttp2Session> {
  const session = http2.connect(url, url.startsWith('https') ? { ca: fixtures.ca.certPem, servername: 'localhost' } : {});
  session.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    session.once('connect', () => resolve());
    session.once('error', reject);
  });
  onCleanup(() => session.destroy());
  return session;
}

/** One stream: status and body, or the stream's error. */
function get(session: http2.ClientHttp2Session, path: string): Promise<{ status: number; body: string } | { error: string }> {
  return new Promise((resolve) => {
    const stream = session.request({ ':method': 'GET', ':path': path });
    let status = 0;
    let body = '';
    stream.on('response', (h) => (status = Number(h[':status'])));
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => (body += chunk));
    stream.on('end', () => resolve({ status, body }));
    stream.on('error', (error: Error) => resolve({ error: error.message }));
  });
}

describe('HTTP/2 connection regressions', () => {
  it('h2-grant-to-dying-connection: slots freed while a connection goes are passed to other waiters, not to its own streams', async () => {
    const backend = await countingBackend();
    const lb = await startBalancer({
      listen: '127.0.0.1:0',
      http2c: true,
      workers: 1,
      backends: [{ address: backend.address, maxConnections: 1 }],
      queue: { maxPending: 100, timeoutMs: 20_000 },
    });
    const authority = `127.0.0.1:${lb.port}`;
    const socket = await connectH2c(lb.port);
    onCleanup(() => socket.destroy());
    socket.on('error', () => {});
    // Stream 1 holds the backend's only slot; 19 more wait in its queue (enough streams
    // that the connection does not cancel them in the order they came).
    socket.write(headersFrame(1, headerBlock(requestFields(authority, '/hold', 'GET', 'http'))));
    await waitUntil('the held request at the backend', () => backend.paths.length === 1);
    const waiting = Array.from({ length: 19 }, (_, i) => 3 + 2 * i);
    socket.write(
      Buffer.concat(waiting.map((id) => headersFrame(id, headerBlock(requestFields(authority, `/queued-${id}`, 'GET', 'http'))))),
    );
    await waitUntil('19 streams queued', () => lb.stats().backends[0]!.queued === 19);
    // The client goes: every stream is cancelled.
    socket.destroy();
    await waitUntil('the connection gone', () => lb.stats().http2!.streamsActive === 0 && lb.stats().backends[0]!.queued === 0);
    await delay(300);
    // None of the cancelled streams reached the backend, not even its connect.
    expect(backend.paths).toEqual(['/hold']);
    expect(backend.connections).toBe(1);
    expect(lb.stats().backends[0]!.inFlight).toBe(0);
    // The slot was passed on, not leaked: the next client is served at once.
    const session = await connect(`http://127.0.0.1:${lb.port}`);
    expect(await get(session, '/after')).toEqual({ status: 200, body: 'backend /after' });
  }, 20_000);

  it('h2-slot-grant-ends-giving-stream: a slot given back under GOAWAY goes to the waiting stream without crashing the worker', async () => {
    const backend = await countingBackend();
    const lb = await startBalancer({
      listen: '127.0.0.1:0',
      http2c: true,
      workers: 1,
      backends: [{ address: backend.address, maxConnections: 1 }],
    });
    const session = await connect(`http://127.0.0.1:${lb.port}`);
    const first = get(session, '/first');
    const second = get(session, '/second');
    await waitUntil('both streams answered', () => backend.paths.length === 2);
    expect(await first).toEqual({ status: 200, body: 'backend /first' });
    expect(await second).toEqual({ status: 200, body: 'backend /second' });
    // Now one holds the slot and one waits; GOAWAY (a reload of http2c off) must not drop the waiter.
    const held = get(session, '/hold');
    await waitUntil('the held request at the backend', () => backend.paths.length === 3);
    const queued = get(session, '/queued');
    await waitUntil('one stream queued', () => lb.stats().backends[0]!.queued === 1);
    const goaway = new Promise<number>((resolve) => session.once('goaway', (code) => resolve(code)));
    await lb.reconfigure({
      listen: lb.config.listeners[0]!.listen.text,
      workers: 1,
      backends: [{ address: backend.address, maxConnections: 1 }],
      http2c: false,
    });
    expect(await goaway).toBe(0);
    // Streams up to the GOAWAY's last id finish: the held one, then the one it let in.
    backend.release();
    expect(await held).toEqual({ status: 200, body: 'held' });
    expect(await queued).toEqual({ status: 200, body: 'backend /queued' });
  }, 20_000);

  it('h2c-goaway-on-tls-only-option: a reload sends GOAWAY only for the option that governs the connection', async () => {
    const backend = await countingBackend();
    const tls = { certificates: [{ cert: fixtures.ecdsa.chainFile, key: fixtures.ecdsa.keyFile }] };
    const lb = await startBalancer({
      listen: undefined,
      listeners: [{ listen: '127.0.0.1:0' }, { listen: '127.0.0.1:0', tls }],
      http2c: true,
      workers: 1,
      backends: [backend.address],
    });
    const [plain, secure] = lb.listeners.map((listener) => listener.port);
    const h2c = await connect(`http://127.0.0.1:${plain}`);
    const h2 = await connect(`https://localhost:${secure}`);
    const goaways: string[] = [];
    h2c.on('goaway', () => goaways.push('h2c'));
    h2.on('goaway', () => goaways.push('h2'));
    expect(await get(h2c, '/a')).toEqual({ status: 200, body: 'backend /a' });
    expect(await get(h2, '/b')).toEqual({ status: 200, body: 'backend /b' });
    const listeners = [{ listen: '127.0.0.1:0' }, { listen: '127.0.0.1:0', tls }];
    // `http2` (ALPN on TLS listeners) off: the TLS connection is asked to go, not the h2c one.
    await lb.reconfigure({ listeners, http2c: true, http2: false, workers: 1, backends: [backend.address] });
    await waitUntil('GOAWAY on the TLS connection', () => goaways.includes('h2'));
    await delay(1_500); // more than the connection's 1 s tick
    expect(goaways).toEqual(['h2']);
    expect(await get(h2c, '/c')).toEqual({ status: 200, body: 'backend /c' });
    // `http2c` off: now the h2c connection goes.
    await lb.reconfigure({ listeners, http2c: false, http2: false, workers: 1, backends: [backend.address] });
    await waitUntil('GOAWAY on the h2c connection', () => goaways.includes('h2c'));
  }, 20_000);

  it('h2-silent-connection-kept-for-keepalive: a connection that opens no stream goes after clientHeadMs, as on HTTP/1.1', async () => {
    const backend = await countingBackend();
    const lb = await startBalancer({
      listen: '127.0.0.1:0',
      http2c: true,
      workers: 1,
      backends: [backend.address],
      timeouts: { clientHeadMs: 1_000, keepAliveMs: 60_000 },
    });
    // Silent after its preface and SETTINGS.
    const silent = await connectH2c(lb.port);
    onCleanup(() => silent.destroy());
    const silentFrames = new FrameReader(silent);
    // An HTTP/1.1 connection that sends nothing, for comparison.
    const http1 = net.connect(lb.port, '127.0.0.1');
    onCleanup(() => http1.destroy());
    http1.on('error', () => {});
    let http1Closed = false;
    http1.on('close', () => (http1Closed = true));
    // Both are closed long before keepAliveMs (60 s); the h2 one with a GOAWAY first.
    await waitUntil('the silent h2 connection closed', () => silentFrames.closed, { timeoutMs: 10_000 });
    expect(silentFrames.goaway()).toBeDefined();
    await waitUntil('the silent HTTP/1.1 connection closed', () => http1Closed, { timeoutMs: 10_000 });
    // Once a stream was served, the idle limit is keepAliveMs: past clientHeadMs it stays.
    const session = await connect(`http://127.0.0.1:${lb.port}`);
    let goaway = false;
    session.on('goaway', () => (goaway = true));
    expect(await get(session, '/one')).toEqual({ status: 200, body: 'backend /one' });
    await delay(2_500);
    expect(goaway).toBe(false);
    expect(await get(session, '/two')).toEqual({ status: 200, body: 'backend /two' });
  }, 30_000);

  it('h2-408-stream-left-open: a 408 for a stalled body ends the stream and frees its concurrency slot', async () => {
    const backend = await countingBackend();
    const lb = await startBalancer({
      listen: '127.0.0.1:0',
      http2c: true,
      workers: 1,
      backends: [backend.address],
      timeouts: { clientBodyMs: 1_000 },
      http2Limits: { maxConcurrentStreams: 1 },
    });
    const session = await connect(`http://127.0.0.1:${lb.port}`);
    const stalled = session.request({ ':method': 'POST', ':path': '/hold', 'content-length': '100' }, { endStream: false });
    stalled.write('ten bytes!');
    let status = 0;
    let body = '';
    stalled.on('response', (h) => (status = Number(h[':status'])));
    stalled.setEncoding('utf8');
    stalled.on('data', (chunk: string) => (body += chunk));
    stalled.on('error', () => {});
    // The client never ends its request nor closes the stream: the server's reply must.
    const closed = await new Promise<number>((resolve) => stalled.once('close', () => resolve(stalled.rstCode ?? -1)));
    expect(status).toBe(408);
    expect(body.length).toBeGreaterThan(0);
    expect(closed).toBe(http2.constants.NGHTTP2_NO_ERROR);
    // The only concurrent-stream slot is free again: the next stream on the same connection works.
    expect(await get(session, '/next')).toEqual({ status: 200, body: 'backend /next' });
    expect(lb.stats().http2!.streamsActive).toBe(0);
  }, 20_000);

  it('h2-acme-challenge-bypass: h2 and h2c streams get the challenge answer from the balancer, never from a backend', async () => {
    const token = 'LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0';
    const keyAuthorization = `${token}.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI`;
    const backend = await countingBackend();
    const tls = { certificates: [{ cert: fixtures.ecdsa.chainFile, key: fixtures.ecdsa.keyFile }] };
    const lb = await startBalancer({
      listen: undefined,
      listeners: [{ listen: '127.0.0.1:0' }, { listen: '127.0.0.1:0', tls }],
      http2c: true,
      workers: 1,
      backends: [backend.address],
    });
    const [plain, secure] = lb.listeners.map((listener) => listener.port);
    // Connections opened before the responder is on, and after.
    const earlyH2c = await connect(`http://127.0.0.1:${plain}`);
    const earlyH2 = await connect(`https://localhost:${secure}`);
    lb.setAcmeChallenges({ [token]: keyAuthorization });
    const lateH2c = await connect(`http://127.0.0.1:${plain}`);
    const lateH2 = await connect(`https://localhost:${secure}`);
    for (const session of [earlyH2c, earlyH2, lateH2c, lateH2]) {
      expect(await get(session, `/.well-known/acme-challenge/${token}`)).toEqual({ status: 200, body: keyAuthorization });
      const unknown = await get(session, '/.well-known/acme-challenge/unknown-token');
      expect(unknown).toHaveProperty('status', 404);
      // Other paths still go to the backend on the same connection.
      expect(await get(session, '/app')).toEqual({ status: 200, body: 'backend /app' });
    }
    expect(backend.paths.every((path) => !path.startsWith('/.well-known/'))).toBe(true);
    expect(backend.paths).toHaveLength(4);
  }, 20_000);
});
