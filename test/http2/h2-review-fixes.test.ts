// HTTP/2 regressions found by review after the merges, each pinned by the bug it fixed:
// - h2-stream-to-tls-backend-plaintext: streams wrote and read a TLS backend's raw socket;
// - h2-backend-reset-stalls-stream: a backend reset left a stream waiting for the response timeout;
// - h2c-escapes-per-client-limit: an h2c connection handed off at accept lost its per-client ticket;
// - h2c-preface-after-http1-request: the preface was honoured after an HTTP/1.1 exchange;
// - h2-slow-request-body-untimed: a stream whose request body stopped held its backend forever.
import http from 'node:http';
import http2 from 'node:http2';
import net, { type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';

import { startBalancer } from '../helpers/balancer.js';
import { onCleanup, runCleanups } from '../helpers/cleanup.js';
import { startTlsBackend } from '../helpers/tls-backend.js';
import { useTlsFixtures } from '../helpers/use-tls-fixtures.js';
import { waitUntil } from '../helpers/wait.js';
import { connectH2c, FrameReader, FrameType } from '../helpers/h2-frames.js';

const fixtures = useTlsFixtures();

afterEach(async () => {
  await runCleanups();
});

async function connect(url: string): Promise<http2.ClientHttp2Session> {
  const session = http2.connect(url, url.startsWith('https') ? { ca: fixtures.ca.certPem, servername: 'localhost' } : {});
  await new Promise<void>((resolve, reject) => {
    session.once('connect', () => resolve());
    session.once('error', reject);
  });
  onCleanup(() => session.destroy());
  return session;
}

/** One stream: status and body, or the stream's error (a reset). */
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

describe('HTTP/2 regressions', () => {
  it('h2-stream-to-tls-backend-plaintext: h2 streams reach a TLS backend through TLS, pooled connections shared with HTTP/1', async () => {
    const backend = await startTlsBackend(fixtures.ecdsa, (req, res) => {
      req.resume();
      req.on('end', () => res.end(`tls backend ${req.url}`));
    });
    const lb = await startBalancer({
      listen: '127.0.0.1:0',
      tls: { certificates: [{ cert: fixtures.ecdsa.chainFile, key: fixtures.ecdsa.keyFile }] },
      backends: [{ address: backend.address, tls: { ca: fixtures.ca.certFile } }],
    });
    const session = await connect(`https://localhost:${lb.port}`);
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => get(session, `/s${i}`)));
    expect(answers).toEqual(Array.from({ length: 20 }, (_, i) => ({ status: 200, body: `tls backend /s${i}` })));
    // Again, on the connections the first round pooled.
    expect(await get(session, '/again')).toEqual({ status: 200, body: 'tls backend /again' });
    expect(backend.connections.length).toBeGreaterThan(0);
    expect(lb.stats().backends[0]!.connectErrors).toBe(0);
  });

  it('h2-backend-reset-stalls-stream: a backend that resets mid-body ends its stream at once, not at the response timeout', async () => {
    const backend = net.createServer((socket) => {
      socket.on('error', () => {});
      socket.once('data', () => {
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nfirst bytes');
        setTimeout(() => socket.resetAndDestroy(), 50);
      });
    });
    await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
    onCleanup(() => new Promise<void>((resolve) => backend.close(() => resolve())));
    const lb = await startBalancer({
      listen: '127.0.0.1:0',
      http2c: true,
      backends: [`127.0.0.1:${(backend.address() as AddressInfo).port}`],
      timeouts: { responseMs: 30_000 },
    });
    const session = await connect(`http://127.0.0.1:${lb.port}`);
    const started = Date.now();
    const answer = await get(session, '/cut');
    // The response had begun: the stream is reset (no 502 can replace a head that went out).
    expect(answer).toHaveProperty('error');
    expect(Date.now() - started).toBeLessThan(10_000);
    // The connection serves on.
    expect(lb.stats().http2!.streamsActive).toBe(0);
  });

  it('h2c-escapes-per-client-limit: an h2c connection counts against maxConnectionsPerClient', async () => {
    const lb = await startBalancer({
      listen: '127.0.0.1:0',
      http2c: true,
      workers: 1,
      backends: [await plainBackend()],
      protection: { maxConnectionsPerClient: 1 },
    });
    // The preface comes with the connection, so the hand-off happens during accept.
    const first = await connectH2c(lb.port);
    onCleanup(() => first.destroy());
    const firstFrames = new FrameReader(first);
    await waitUntil('SETTINGS on the first connection', () => firstFrames.frames.some((f) => f.type === FrameType.settings));
    // A second connection from the same address is over the limit: closed, nothing written.
    const second = net.connect(lb.port, '127.0.0.1');
    onCleanup(() => second.destroy());
    const received: Buffer[] = [];
    second.on('data', (chunk: Buffer) => received.push(chunk));
    second.on('error', () => {});
    await new Promise<void>((resolve) => second.once('close', () => resolve()));
    expect(Buffer.concat(received)).toHaveLength(0);
    expect(lb.stats().protection!.connectionsLimited).toBe(1);
  });

  it('h2c-preface-after-http1-request: the preface after an HTTP/1.1 exchange is not taken as h2c', async () => {
    const lb = await startBalancer({ listen: '127.0.0.1:0', http2c: true, backends: [await plainBackend()] });
    const socket = net.connect(lb.port, '127.0.0.1');
    onCleanup(() => socket.destroy());
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (text += chunk));
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write('GET /first HTTP/1.1\r\nHost: x\r\n\r\n');
    await waitUntil('the first response', () => text.includes('\r\n\r\n') && text.includes('plain backend'));
    text = '';
    socket.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
    await new Promise<void>((resolve) => socket.once('close', () => resolve()));
    // An HTTP/1.1 error, not an HTTP/2 SETTINGS frame.
    expect(text).toMatch(/^HTTP\/1\.1 (400|505) /);
  });
});

describe('HTTP/2 request bodies', () => {
  it('h2-slow-request-body-untimed: a body that stops for clientBodyMs gets 408 and frees its backend; a steady one is served', async () => {
    const lb = await startBalancer({
      listen: '127.0.0.1:0',
      http2c: true,
      backends: [await bodyReadingBackend()],
      timeouts: { clientBodyMs: 1000 },
    });
    const session = await connect(`http://127.0.0.1:${lb.port}`);
    // Stream 1: a few bytes, then silence (the body is never ended).
    const stalled = session.request({ ':method': 'POST', ':path': '/stalled', 'content-length': '100' }, { endStream: false });
    stalled.write('only ten!!');
    stalled.on('error', () => {});
    const stalledStatus = new Promise<number>((resolve) => stalled.once('response', (h) => resolve(Number(h[':status']))));
    const started = Date.now();
    // Stream 2, beside it: a body that keeps coming for longer than clientBodyMs, in steps.
    const steady = session.request({ ':method': 'POST', ':path': '/steady', 'content-length': '4' }, { endStream: false });
    let steadyBody = '';
    let steadyStatus = 0;
    steady.on('response', (h) => (steadyStatus = Number(h[':status'])));
    steady.setEncoding('utf8');
    steady.on('data', (chunk: string) => (steadyBody += chunk));
    const steadyDone = new Promise<void>((resolve) => steady.once('close', () => resolve()));
    for (const part of ['a', 'b', 'c']) {
      steady.write(part);
      await new Promise((resolve) => setTimeout(resolve, 600));
    }
    steady.end('d');
    expect(await stalledStatus).toBe(408);
    expect(Date.now() - started).toBeLessThan(6_000);
    stalled.close();
    await steadyDone;
    expect(steadyStatus).toBe(200);
    expect(steadyBody).toBe('read 4 bytes for /steady');
    await waitUntil('the stalled request let go of its backend connection', () => lb.stats().http2!.streamsActive === 0);
  });
});

/** A backend that reads each request body to its end before answering how much it read. */
async function bodyReadingBackend(): Promise<string> {
  const server = http.createServer((req, res) => {
    let length = 0;
    req.on('data', (chunk: Buffer) => (length += chunk.length));
    req.on('end', () => res.end(`read ${length} bytes for ${req.url}`));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onCleanup(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A plain HTTP/1.1 backend answering "plain backend <path>". */
async function plainBackend(): Promise<string> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    let pending = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      pending += chunk;
      let end: number;
      while ((end = pending.indexOf('\r\n\r\n')) >= 0) {
        const path = pending.split(' ')[1] ?? '/';
        pending = pending.slice(end + 4);
        const body = `plain backend ${path}`;
        socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
      }
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onCleanup(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  );
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}
