// HTTP/2 with several listeners: each h2 connection follows its own listener. Over TLS it
// gets that listener's HSTS; a reload that changes one listener's certificate sends
// GOAWAY to that listener's HTTP/2 connections only; h2c prior knowledge is taken on a
// plain listener but not on one that redirects to HTTPS. Real sockets, node:http2 and a
// node:http backend; certificates made at test time.
import { X509Certificate } from 'node:crypto';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

import { createBalancer } from '../../src/index.js';
import { onCleanup, runCleanups } from '../helpers/cleanup.js';
import type { FixtureCertificate } from '../helpers/tls-fixtures.js';
import { useTlsFixtures } from '../helpers/use-tls-fixtures.js';
import { withTimeout } from '../helpers/wait.js';

const fixtures = useTlsFixtures();
let second: FixtureCertificate;

beforeAll(async () => {
  second = await fixtures.issue({ names: ['localhost'], ips: ['127.0.0.1'], fileName: 'second' });
}, 60_000);

afterEach(async () => {
  await runCleanups();
});

async function startBackend(): Promise<number> {
  const server = http.createServer((req, res) => res.end(`${req.headers['x-forwarded-proto']} ${req.url}`));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onCleanup(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return (server.address() as net.AddressInfo).port;
}

async function start(options: Parameters<typeof createBalancer>[0]) {
  const lb = createBalancer(options);
  onCleanup(() => withTimeout('lb.stop in cleanup', lb.stop({ deadlineMs: 1_000 }), 10_000));
  await lb.start();
  return lb;
}

async function connect(url: string): Promise<http2.ClientHttp2Session> {
  const session = http2.connect(url, url.startsWith('https') ? { ca: fixtures.ca.certPem, servername: 'localhost' } : {});
  onCleanup(() => void session.destroy());
  await new Promise<void>((resolve, reject) => {
    session.once('connect', () => resolve());
    session.once('error', reject);
  });
  return session;
}

function request(
  session: http2.ClientHttp2Session,
  path: string,
): Promise<{ status: number; headers: http2.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':path': path });
    let headers: http2.IncomingHttpHeaders = {};
    let body = '';
    stream.setEncoding('utf8');
    stream.on('response', (h) => (headers = h));
    stream.on('data', (chunk: string) => (body += chunk));
    stream.on('end', () => resolve({ status: Number(headers[':status']), headers, body }));
    stream.on('error', reject);
  });
}

/** Sends the h2c preface on a raw socket and returns what came back before the close (or 2 s). */
function sendPreface(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'));
    let answer = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
    socket.setTimeout(2_000, () => socket.destroy());
  });
}

describe('HTTP/2 with several listeners', () => {
  it("gives each h2 connection its own listener's HSTS, and a reload that changes one listener's certificate sends GOAWAY only to that listener's connections", async () => {
    const backendPort = await startBackend();
    const options = (secondCertificate: FixtureCertificate) => ({
      workers: 1,
      backends: [`127.0.0.1:${backendPort}`],
      listeners: [
        {
          listen: '127.0.0.1:0',
          tls: {
            certificates: [{ cert: fixtures.ecdsa.chainFile, key: fixtures.ecdsa.keyFile }],
            hsts: { maxAgeSeconds: 600 },
          },
        },
        { listen: '127.0.0.1:0', tls: { certificates: [{ cert: secondCertificate.chainFile, key: secondCertificate.keyFile }] } },
      ],
    });
    const lb = await start(options(fixtures.rsa));
    const [kept, changed] = lb.listeners;
    const keptSession = await connect(`https://localhost:${kept!.port}`);
    const changedSession = await connect(`https://localhost:${changed!.port}`);

    const withHsts = await request(keptSession, '/a');
    expect(withHsts.status).toBe(200);
    expect(withHsts.body).toBe('https /a');
    expect(withHsts.headers['strict-transport-security']).toBe('max-age=600');
    const withoutHsts = await request(changedSession, '/b');
    expect(withoutHsts.status).toBe(200);
    expect(withoutHsts.headers['strict-transport-security']).toBeUndefined();

    let keptGoaway = false;
    keptSession.on('goaway', () => (keptGoaway = true));
    const changedGoaway = new Promise<number>((resolve) => changedSession.once('goaway', (code) => resolve(code)));
    await lb.reconfigure(options(second));
    expect(await withTimeout('GOAWAY on the changed listener', changedGoaway, 10_000)).toBe(0);
    // The connection checks its listener every second: give it two more, then it still serves.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(keptGoaway).toBe(false);
    const after = await request(keptSession, '/after');
    expect(after.status).toBe(200);
    expect(after.headers['strict-transport-security']).toBe('max-age=600');
    // A new connection to the changed listener speaks HTTP/2 with the new certificate.
    const again = await connect(`https://localhost:${changed!.port}`);
    const socket = again.socket as unknown as { getPeerX509Certificate(): { serialNumber: string } | undefined };
    expect(socket.getPeerX509Certificate()?.serialNumber).toBe(new X509Certificate(second.certPem).serialNumber);
    expect((await request(again, '/again')).status).toBe(200);
  }, 30_000);

  it('takes h2c on a plain listener, not on the one that redirects to HTTPS', async () => {
    const backendPort = await startBackend();
    const lb = await start({
      workers: 1,
      backends: [`127.0.0.1:${backendPort}`],
      http2c: true,
      listeners: [{ listen: '127.0.0.1:0', httpsRedirect: true }, { listen: '127.0.0.1:0' }],
    });
    const [redirecting, plain] = lb.listeners;
    const session = await connect(`http://127.0.0.1:${plain!.port}`);
    const answer = await request(session, '/h2c');
    expect(answer.status).toBe(200);
    expect(answer.body).toBe('http /h2c');
    // The redirecting listener reads the preface as an HTTP/1.1 request: not an h2 SETTINGS frame.
    const reply = await sendPreface(redirecting!.port);
    expect(reply.startsWith('HTTP/1.1 ')).toBe(true);
  }, 20_000);
});
