// TLS towards backends, end to end: real node:https backends with certificates made by
// openssl at test time, a balancer in front (plain HTTP clients). Verification on by
// default (against the test CA, or failing against another CA: 502, counted), off, SNI as
// configured, sessions resumed (counted by the balancer and seen by the backend), pooled
// connections the backend closes after a lull, large bodies both ways, and health checks
// over TLS with the same verify settings.
import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

import type { BackendErrorEvent } from '../../src/events.js';
import { LbConfigError } from '../../src/errors.js';
import { startBalancer } from '../helpers/balancer.js';
import { onCleanup, runCleanups } from '../helpers/cleanup.js';
import { listenOnLoopback } from '../helpers/loopback-server.js';
import { startTlsBackend, type TlsBackend } from '../helpers/tls-backend.js';
import type { FixtureCa, FixtureCertificate } from '../helpers/tls-fixtures.js';
import { useTlsFixtures } from '../helpers/use-tls-fixtures.js';
import { waitUntil } from '../helpers/wait.js';

const fixtures = useTlsFixtures({ names: ['localhost', 'backend.test'], ips: ['127.0.0.1'] });
let otherCa: FixtureCa;
let otherLeaf: FixtureCertificate;

beforeAll(async () => {
  otherCa = await fixtures.makeCa('Other Test CA');
  otherLeaf = await fixtures.issue({ issuer: otherCa, names: ['backend.test'], ips: ['127.0.0.1'], fileName: 'other' });
}, 60_000);

afterEach(async () => {
  await runCleanups();
});

/** A TLS backend that answers with its name, or for POST /echo echoes the body back. */
function startNamedTlsBackend(
  name: string,
  options: { cert?: FixtureCertificate; keepAliveTimeoutMs?: number; close?: boolean } = {},
): Promise<TlsBackend> {
  const answer: http.RequestListener = (req, res) => {
    if (options.close) res.setHeader('connection', 'close');
    if (req.method === 'POST' && req.url === '/echo') {
      res.setHeader('content-type', 'application/octet-stream');
      req.pipe(res);
      return;
    }
    req.resume();
    req.on('end', () => res.end(`${name} ${req.headers['x-forwarded-proto'] ?? ''}`));
  };
  return startTlsBackend(options.cert ?? fixtures.ecdsa, answer, { keepAliveTimeoutMs: options.keepAliveTimeoutMs });
}

interface Answer {
  status: number;
  body: Buffer;
}

/** One plain HTTP request to the balancer on a fresh connection. */
function request(port: number, path = '/', body?: Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: body ? 'POST' : 'GET',
        agent: false,
        headers: body ? { 'content-length': body.length } : {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('TLS towards backends', () => {
  it('proxies to TLS backends verified against the configured CA, each answer from the backend it reached', async () => {
    const a = await startNamedTlsBackend('a');
    const b = await startNamedTlsBackend('b');
    const lb = await startBalancer({
      workers: 1,
      backends: [
        { address: `127.0.0.1:${a.port}`, tls: { ca: fixtures.ca.certFile } },
        { address: `127.0.0.1:${b.port}`, tls: { ca: fixtures.ca.certFile } },
      ],
    });
    const answers: string[] = [];
    for (let i = 0; i < 6; i += 1) {
      const answer = await request(lb.port);
      expect(answer.status).toBe(200);
      answers.push(answer.body.toString());
    }
    // Round robin: both answered, alternately; the backend saw a plain-HTTP client's request.
    expect(answers.filter((text) => text === 'a http').length).toBe(3);
    expect(answers.filter((text) => text === 'b http').length).toBe(3);
    const stats = lb.stats().backends;
    for (const backend of stats) {
      expect(backend.tlsHandshakeFailures).toBe(0);
      expect(backend.tlsHandshakesFull + backend.tlsHandshakesResumed).toBeGreaterThanOrEqual(1);
      expect(backend.responses2xx).toBe(3);
    }
    // Pooled: far fewer TLS connections than requests.
    expect(a.connections.length + b.connections.length).toBeLessThan(6);
  });

  it("carries 400 requests, 20 at a time over keep-alive clients, on 2 workers: each answer is its own request's", async () => {
    const backend = await startNamedTlsBackend('busy');
    backend.server.removeAllListeners('request');
    backend.server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      req.resume();
      req.on('end', () => res.end(`answer to ${req.url}`));
    });
    const lb = await startBalancer({
      workers: 2,
      backends: [{ address: `127.0.0.1:${backend.port}`, tls: { ca: fixtures.ca.certFile } }],
    });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 20 });
    onCleanup(() => agent.destroy());
    const one = (i: number) =>
      new Promise<string>((resolve, reject) => {
        http
          .get({ host: '127.0.0.1', port: lb.port, path: `/r${i}`, agent }, (res) => {
            let body = '';
            res.on('data', (chunk: Buffer) => (body += chunk.toString()));
            res.on('end', () => resolve(`${res.statusCode} ${body}`));
          })
          .on('error', reject);
      });
    const answers = await Promise.all(Array.from({ length: 400 }, (_, i) => one(i)));
    answers.forEach((answer, i) => expect(answer).toBe(`200 answer to /r${i}`));
    const stats = lb.stats().backends[0]!;
    expect(stats.tlsHandshakeFailures).toBe(0);
    expect(stats.backendErrors).toBe(0);
    // Pooled: at most one TLS connection per request in flight per worker.
    expect(backend.connections.length).toBeLessThanOrEqual(40);
    expect(stats.tlsHandshakesFull + stats.tlsHandshakesResumed).toBe(backend.connections.length);
  });

  it('answers 502 and counts the failure when the backend certificate is not from the configured CA', async () => {
    const wrong = await startNamedTlsBackend('wrong', { cert: otherLeaf });
    const lb = await startBalancer({
      workers: 1,
      retries: { maxTries: 1 },
      backends: [{ address: `127.0.0.1:${wrong.port}`, tls: { ca: fixtures.ca.certFile } }],
    });
    const errors: BackendErrorEvent[] = [];
    lb.on('backend-error', (event) => errors.push(event));
    const answer = await request(lb.port);
    expect(answer.status).toBe(502);
    const stats = lb.stats().backends[0]!;
    expect(stats.tlsHandshakeFailures).toBe(1);
    expect(stats.connectErrors).toBe(1);
    expect(stats.tlsHandshakesFull).toBe(0);
    expect(stats.requests).toBe(0);
    await waitUntil('a backend-error event', () => errors.length > 0);
    expect(errors[0]!.message).toMatch(/^TLS handshake with 127\.0\.0\.1:\d+ failed: unable to get local issuer certificate/);
    expect(errors[0]!.code).toBe('EPROTO');
    // The backend never got a request over a connection it could not prove.
    expect(wrong.connections.length).toBe(0);
  });

  it('refuses a certificate that does not name the backend (verify on, default name is the IP address)', async () => {
    const unnamed = await fixtures.issue({ names: ['elsewhere.test'], fileName: 'unnamed' });
    const backend = await startNamedTlsBackend('unnamed', { cert: unnamed });
    const lb = await startBalancer({
      workers: 1,
      retries: { maxTries: 1 },
      backends: [{ address: `127.0.0.1:${backend.port}`, tls: { ca: fixtures.ca.certFile } }],
    });
    expect((await request(lb.port)).status).toBe(502);
    expect(lb.stats().backends[0]!.tlsHandshakeFailures).toBe(1);
  });

  it('a reconfiguration that changes the CA takes effect for new connections; one that does not keeps the sessions', async () => {
    const backend = await startNamedTlsBackend('switched', { close: true });
    const address = `127.0.0.1:${backend.port}`;
    const options = { listen: '127.0.0.1:0', workers: 1, retries: { maxTries: 1 } } as const;
    const lb = await startBalancer({ ...options, backends: [{ address, tls: { ca: otherCa.certFile } }] });
    expect((await request(lb.port)).status).toBe(502);
    await lb.reconfigure({
      ...options,
      listen: `127.0.0.1:${lb.port}`,
      backends: [{ address, tls: { ca: fixtures.ca.certFile } }],
    });
    expect((await request(lb.port)).status).toBe(200);
    // A weight change: the same client context, so the kept session is still offered.
    await lb.reconfigure({
      ...options,
      listen: `127.0.0.1:${lb.port}`,
      backends: [{ address, weight: 2, tls: { ca: fixtures.ca.certFile } }],
    });
    await waitUntil('the closed connection', () => lb.stats().backends[0]!.activeConnections === 0);
    expect((await request(lb.port)).status).toBe(200);
    const stats = lb.stats().backends[0]!;
    expect(stats.tlsHandshakeFailures).toBe(1);
    expect(stats.tlsHandshakesFull).toBe(1);
    expect(stats.tlsHandshakesResumed).toBe(1);
    expect(backend.connections.map((c) => c.reused)).toEqual([false, true]);
  });

  // Regression (tls-change-skipped-by-in-flight-connection): a connection opened before a
  // reload that changes the CA was pooled (and its session kept) when its response ended,
  // so the next request went out without being verified against the new CA.
  it('a connection in flight across a CA change is neither pooled nor resumed afterwards', async () => {
    let slowArrived = false;
    const { address } = await startTlsBackend(fixtures.ecdsa, (req, res) => {
      req.resume();
      if (req.url === '/slow') slowArrived = true;
      setTimeout(() => res.end(`answer ${req.url}`), req.url === '/slow' ? 600 : 0);
    });
    const options = { listen: '127.0.0.1:0', workers: 1, retries: { maxTries: 1 } } as const;
    const lb = await startBalancer({ ...options, backends: [{ address, tls: { ca: fixtures.ca.certFile } }] });
    expect((await request(lb.port)).status).toBe(200);
    const slow = request(lb.port, '/slow');
    // At the backend itself, not only counted on it: the connection has passed its check.
    await waitUntil('the slow request at the backend', () => slowArrived);
    await lb.reconfigure({
      ...options,
      listen: `127.0.0.1:${lb.port}`,
      backends: [{ address, tls: { ca: otherCa.certFile } }],
    });
    expect(await slow).toMatchObject({ status: 200 });
    // The backend's certificate is not from the new CA: a new connection must fail its check.
    expect((await request(lb.port)).status).toBe(502);
    expect(lb.stats().backends[0]!.tlsHandshakeFailures).toBe(1);
  });

  it('with verify off takes a certificate from any CA', async () => {
    const wrong = await startNamedTlsBackend('unverified', { cert: otherLeaf });
    const lb = await startBalancer({
      workers: 1,
      backends: [{ address: `127.0.0.1:${wrong.port}`, tls: { verify: false } }],
    });
    const answer = await request(lb.port);
    expect(answer.status).toBe(200);
    expect(answer.body.toString()).toBe('unverified http');
    expect(lb.stats().backends[0]!.tlsHandshakeFailures).toBe(0);
  });

  it('sends the configured SNI and verifies the certificate against it; no SNI for an IP address', async () => {
    const named = await startNamedTlsBackend('named');
    const byIp = await startNamedTlsBackend('by-ip');
    const lb = await startBalancer({
      workers: 1,
      strategy: 'round-robin',
      backends: [
        { address: `127.0.0.1:${named.port}`, tls: { ca: fixtures.ca.certFile, sni: 'backend.test' } },
        { address: `127.0.0.1:${byIp.port}`, tls: { ca: fixtures.ca.certFile } },
      ],
    });
    for (let i = 0; i < 2; i += 1) expect((await request(lb.port)).status).toBe(200);
    expect(named.connections.map((c) => c.servername)).toEqual(['backend.test']);
    expect(byIp.connections.map((c) => c.servername)).toEqual([false]);

    // A name the certificate does not carry: refused, whatever SNI the backend accepts.
    const mismatch = await startBalancer({
      workers: 1,
      retries: { maxTries: 1 },
      backends: [{ address: `127.0.0.1:${named.port}`, tls: { ca: fixtures.ca.certFile, sni: 'other.test' } }],
    });
    expect((await request(mismatch.port)).status).toBe(502);
    expect(mismatch.stats().backends[0]!.tlsHandshakeFailures).toBe(1);
  });

  it('resumes the last session for new connections: counted by the balancer, seen by the backend', async () => {
    // The backend closes after every response, so every request needs a new TLS connection.
    const backend = await startNamedTlsBackend('closing', { close: true });
    const lb = await startBalancer({
      workers: 1,
      backends: [{ address: `127.0.0.1:${backend.port}`, tls: { ca: fixtures.ca.certFile } }],
    });
    for (let i = 0; i < 5; i += 1) {
      const answer = await request(lb.port);
      expect(answer.status).toBe(200);
      // The next request must find the connection gone, not race its close.
      await waitUntil('the closed connection', () => lb.stats().backends[0]!.activeConnections === 0);
    }
    const stats = lb.stats().backends[0]!;
    expect(stats.tlsHandshakesFull).toBe(1);
    expect(stats.tlsHandshakesResumed).toBe(4);
    expect(backend.connections.map((c) => c.reused)).toEqual([false, true, true, true, true]);
  });

  it('drops pooled TLS connections the backend closed after a lull, and the next request succeeds on a resumed one', async () => {
    // The backend's keep-alive timeout (300 ms) is shorter than the pool's idle timeout
    // and every other timeout in play: the backend sends close_notify while pooled.
    const backend = await startNamedTlsBackend('lull', { keepAliveTimeoutMs: 300 });
    const lb = await startBalancer({
      workers: 1,
      timeouts: { backendIdleMs: 20_000 },
      backends: [{ address: `127.0.0.1:${backend.port}`, tls: { ca: fixtures.ca.certFile } }],
    });
    expect((await request(lb.port)).status).toBe(200);
    await waitUntil('the connection pooled', () => lb.stats().backends[0]!.idleConnections === 1);
    // The backend closes it; the pool notices and drops it.
    await waitUntil('the pooled connection dropped', () => lb.stats().backends[0]!.idleConnections === 0, { timeoutMs: 5_000 });
    await new Promise((resolve) => setTimeout(resolve, 500));
    const answer = await request(lb.port);
    expect(answer.status).toBe(200);
    expect(answer.body.toString()).toBe('lull http');
    const stats = lb.stats().backends[0]!;
    expect(stats.connectionsOpened).toBe(2);
    expect(stats.backendErrors).toBe(0);
    expect(stats.retries).toBe(0);
    expect(stats.tlsHandshakesResumed).toBe(1);
    expect(backend.connections.map((c) => c.reused)).toEqual([false, true]);
  });

  it('carries large bodies both ways through a TLS backend intact (copied, never spliced)', async () => {
    const backend = await startNamedTlsBackend('echo');
    const lb = await startBalancer({
      workers: 1,
      backends: [{ address: `127.0.0.1:${backend.port}`, tls: { ca: fixtures.ca.certFile } }],
    });
    const body = randomBytes(8 * 1024 * 1024 + 13);
    const answer = await request(lb.port, '/echo', body);
    expect(answer.status).toBe(200);
    expect(answer.body.length).toBe(body.length);
    expect(sha256(answer.body)).toBe(sha256(body));
    const stats = lb.stats();
    expect(stats.bodiesSpliced).toBe(0);
    expect(stats.bodyBytesSpliced).toBe(0);
    expect(stats.bodiesCopied).toBeGreaterThanOrEqual(2);
  });

  it('relays a WebSocket upgrade to a TLS backend both ways', async () => {
    const backend = await startNamedTlsBackend('ws');
    backend.server.on('upgrade', (_req, socket: TLSSocket) => {
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
      socket.on('data', (data) => socket.write(data)); // echo
    });
    const lb = await startBalancer({
      workers: 1,
      backends: [{ address: `127.0.0.1:${backend.port}`, tls: { ca: fixtures.ca.certFile } }],
    });
    const socket = net.connect({ host: '127.0.0.1', port: lb.port });
    onCleanup(() => socket.destroy());
    let received = '';
    socket.on('data', (data: Buffer) => (received += data.toString()));
    socket.write('GET /ws HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
    await waitUntil('the 101', () => received.includes('\r\n\r\n'));
    expect(received).toMatch(/^HTTP\/1\.1 101 Switching Protocols\r\n/);
    const head = received.slice(0, received.indexOf('\r\n\r\n') + 4);
    const big = 'w'.repeat(200_000);
    socket.write(`ping-${big}`);
    await waitUntil('the echo', () => received.length >= head.length + big.length + 5);
    expect(received.slice(head.length)).toBe(`ping-${big}`);
  });

  it('a backend that accepts TCP but never finishes the handshake fails the connect after connectMs (counted, 502)', async () => {
    // A TCP server that reads the ClientHello and says nothing.
    const silent = net.createServer((socket) => socket.resume());
    const port = await listenOnLoopback(silent);
    const lb = await startBalancer({
      workers: 1,
      retries: { maxTries: 1 },
      timeouts: { connectMs: 300 },
      backends: [{ address: `127.0.0.1:${port}`, tls: true }],
    });
    const started = Date.now();
    const answer = await request(lb.port);
    expect(answer.status).toBe(502);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    const stats = lb.stats().backends[0]!;
    expect(stats.connectErrors).toBe(1);
    expect(stats.tlsHandshakesFull + stats.tlsHandshakesResumed).toBe(0);
  });

  it('health checks speak TLS with the backend verify settings', async () => {
    const good = await startNamedTlsBackend('good');
    const wrong = await startNamedTlsBackend('wrong', { cert: otherLeaf });
    const lb = await startBalancer({
      workers: 1,
      healthCheck: { type: 'http', path: '/', intervalMs: 100, timeoutMs: 1_000, rise: 1, fall: 1 },
      backends: [
        { address: `127.0.0.1:${good.port}`, tls: { ca: fixtures.ca.certFile, sni: 'backend.test' } },
        { address: `127.0.0.1:${wrong.port}`, tls: { ca: fixtures.ca.certFile } },
      ],
    });
    await waitUntil('the wrong-CA backend down', () => lb.backends()[1]!.health === 'down', { timeoutMs: 5_000 });
    expect(lb.backends()[1]!.healthReason).toMatch(/TLS connect/);
    // Checks reached the good backend over TLS with its SNI, and it stays up.
    await waitUntil('two checks on the good backend', () => good.connections.length >= 2);
    expect(lb.backends()[0]!.health).toBe('up');
    expect(good.connections.every((c) => c.servername === 'backend.test')).toBe(true);
    for (let i = 0; i < 3; i += 1) expect((await request(lb.port)).body.toString()).toBe('good http');
  });

  it('refuses a CA file that cannot be read or holds no certificate, naming the field', async () => {
    const backend = await startNamedTlsBackend('any');
    const missing = join(fixtures.dir, 'no-such-ca.pem');
    await expect(startBalancer({ backends: [{ address: `127.0.0.1:${backend.port}`, tls: { ca: missing } }] })).rejects.toThrow(
      new RegExp(`backends\\[0\\]\\.tls\\.ca: ${missing.replace(/[.]/g, '\\.')}: cannot be read \\(ENOENT\\)`),
    );
    const notPem = join(fixtures.dir, 'not-a-ca.pem');
    await writeFile(notPem, 'hello\n');
    const error = await startBalancer({ backends: [{ address: `127.0.0.1:${backend.port}`, tls: { ca: notPem } }] }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(LbConfigError);
    expect((error as LbConfigError).message).toContain('backends[0].tls.ca');
    expect((error as LbConfigError).message).toContain('expected PEM CA certificates');
    await expect(startBalancer({ mode: 'tcp', backends: [{ address: `127.0.0.1:${backend.port}`, tls: true }] })).rejects.toThrow(
      /backends\[0\]\.tls: does not apply in tcp mode/,
    );
    await expect(
      startBalancer({ backends: [{ address: `127.0.0.1:${backend.port}`, tls: { sni: 'bad name!' } }] }),
    ).rejects.toThrow(/backends\[0\]\.tls\.sni: expected a host name or an IP address, got 'bad name!'/);
  });
});
