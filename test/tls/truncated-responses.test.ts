// Regressions: how a response that cannot complete ends for the client, over TLS above
// all, where a clean-looking end hides a truncation.
// - issue 17 review: a close-delimited body cut by a backend reset ended with
//   close_notify (TLS) or a FIN (plain), after waiting out the response timeout, so the
//   client took the cut body for the whole one. Now: at once, and a reset.
// - issue 17 review: a response cut while OpenSSL held a half-sent record (a client not
//   reading) dropped the rest of that record, so the client got a broken TLS stream
//   instead of a short, well-formed one.
import net from 'node:net';
import tls from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';

import { startBalancer } from '../helpers/balancer.js';
import { runCleanups } from '../helpers/cleanup.js';
import { listenOnLoopback } from '../helpers/loopback-server.js';
import { useTlsFixtures } from '../helpers/use-tls-fixtures.js';

const fixtures = useTlsFixtures();

afterEach(async () => {
  await runCleanups();
});

/** A raw backend: `answer` runs with each connection once its request head arrived. */
async function startRawBackend(answer: (socket: net.Socket) => void): Promise<number> {
  const server = net.createServer((socket) => {
    socket.on('error', () => undefined);
    let head = '';
    socket.on('data', (data) => {
      if (head.includes('\r\n\r\n')) return;
      head += data.toString('latin1');
      if (head.includes('\r\n\r\n')) answer(socket);
    });
  });
  return listenOnLoopback(server);
}

interface Ending {
  received: Buffer;
  how: 'end' | 'error';
  code: string | undefined;
}

/** Sends one GET over `socket` (TLS or plain) and resolves with what came back and how the stream ended. */
function collect(socket: net.Socket, connectEvent: string, pauseMs = 0): Promise<Ending> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let how: Ending['how'] = 'end';
    let code: string | undefined;
    socket.once(connectEvent, () => {
      socket.write('GET /cut HTTP/1.1\r\nHost: localhost\r\n\r\n');
      if (pauseMs > 0) {
        socket.pause();
        setTimeout(() => socket.resume(), pauseMs);
      }
    });
    socket.on('data', (data: Buffer) => chunks.push(data));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      how = 'error';
      code = error.code;
    });
    socket.on('close', () => resolve({ received: Buffer.concat(chunks), how, code }));
    socket.setTimeout(10_000, () => {
      socket.destroy();
      reject(new Error('the balancer did not end the response within 10 s'));
    });
  });
}

const tlsOptions = () => ({ certificates: [{ cert: fixtures.ecdsa.chainFile, key: fixtures.ecdsa.keyFile }] });

describe('truncated responses', () => {
  for (const transport of ['tls', 'plain'] as const) {
    it(`close-delimited body cut by a backend reset ends with a reset at once (${transport} client)`, async () => {
      const port = await startRawBackend((socket) => {
        socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nfirst part of the body;');
        setTimeout(() => socket.resetAndDestroy(), 200);
      });
      const lb = await startBalancer({
        backends: [`127.0.0.1:${port}`],
        workers: 1,
        timeouts: { responseMs: 60_000 }, // the old way waited for this
        ...(transport === 'tls' ? { tls: tlsOptions() } : {}),
      });
      const socket =
        transport === 'tls'
          ? tls.connect({ host: '127.0.0.1', port: lb.port, servername: 'localhost', ca: fixtures.ca.certPem })
          : net.connect(lb.port, '127.0.0.1');
      const ending = await collect(socket, transport === 'tls' ? 'secureConnect' : 'connect');
      expect(ending.received.toString('latin1')).toContain('first part of the body;');
      expect(ending).toMatchObject({ how: 'error', code: 'ECONNRESET' });
    });
  }

  it('a response cut while a TLS record is half sent finishes that record: a short body, never a broken stream', async () => {
    const total = 64 * 1024 * 1024;
    const port = await startRawBackend((socket) => {
      socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${total}\r\n\r\n`);
      socket.write(Buffer.alloc(8 * 1024 * 1024, 'x')); // then silence: the response timeout cuts it
    });
    const lb = await startBalancer({
      backends: [`127.0.0.1:${port}`],
      workers: 1,
      timeouts: { responseMs: 500 },
      tls: tlsOptions(),
    });
    // A relay between the client and the balancer keeps every byte the balancer sends and
    // stops reading them for 2 s once the request went out: the balancer's writes block
    // mid-record, then the response timeout fires with the rest of that record still in
    // OpenSSL.
    const fromBalancer: Buffer[] = [];
    const relay = net.createServer((client) => {
      const upstream = net.connect(lb.port, '127.0.0.1');
      client.on('data', (data: Buffer) => upstream.write(data));
      upstream.on('data', (data: Buffer) => {
        fromBalancer.push(data);
        client.write(data);
      });
      // Shortly after the handshake (the request follows at once), well before 8 MiB
      // could drain.
      setTimeout(() => {
        upstream.pause();
        setTimeout(() => upstream.resume(), 2_000);
      }, 300);
      upstream.on('end', () => client.end());
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
    });
    const relayPort = await listenOnLoopback(relay);
    const socket = tls.connect({ host: '127.0.0.1', port: relayPort, servername: 'localhost', ca: fixtures.ca.certPem });
    const ending = await collect(socket, 'secureConnect');
    const text = ending.received.toString('latin1');
    expect(text.startsWith('HTTP/1.1 200 OK\r\n')).toBe(true);
    const body = ending.received.length - (text.indexOf('\r\n\r\n') + 4);
    expect(body).toBeGreaterThan(0);
    expect(body).toBeLessThan(total); // short by Content-Length: the client can tell
    // The balancer's bytes are whole TLS records, the last one included: no half record.
    const wire = Buffer.concat(fromBalancer);
    let at = 0;
    while (at + 5 <= wire.length) at += 5 + wire.readUInt16BE(at + 3);
    expect(at).toBe(wire.length);
  });
});
