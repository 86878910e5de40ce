// Several listeners on one balancer: a plain one and a TLS one side by side, each worker
// accepting on both; each connection keeps its listener's TLS and redirect settings.
// Real sockets, node:https and raw TCP; certificates made at test time. Also: the
// listener a certificate is installed into live (Balancer.installCertificate, what ACME
// uses), which closes connections while it has none, and reconfigure's rules for
// listeners (move one, refuse adding one).
import { X509Certificate } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

import { createBalancer } from '../../src/index.js';
import { LbConfigError } from '../../src/errors.js';
import { onCleanup, runCleanups } from '../helpers/cleanup.js';
import { listenOnLoopback } from '../helpers/loopback-server.js';
import type { FixtureCertificate } from '../helpers/tls-fixtures.js';
import { useTlsFixtures } from '../helpers/use-tls-fixtures.js';
import { waitUntil, withTimeout } from '../helpers/wait.js';

const fixtures = useTlsFixtures({ names: ['localhost', 'example.test'], ips: ['127.0.0.1'] });
let second: FixtureCertificate;

beforeAll(async () => {
  second = await fixtures.issue({ names: ['localhost', 'example.test'], ips: ['127.0.0.1'], fileName: 'second' });
}, 60_000);

afterEach(async () => {
  await runCleanups();
});

/** A backend answering with the protocol the balancer said the client used. */
async function startBackend(): Promise<number> {
  const server = http.createServer((req, res) => {
    const subject = req.headers['x-client-subject'];
    res.end(JSON.stringify({ proto: req.headers['x-forwarded-proto'], path: req.url, ...(subject ? { subject } : {}) }));
  });
  server.keepAliveTimeout = 30_000;
  return listenOnLoopback(server);
}

async function start(options: Parameters<typeof createBalancer>[0]) {
  const lb = createBalancer({ workers: 2, ...options });
  onCleanup(() => withTimeout('lb.stop in cleanup', lb.stop({ deadlineMs: 1_000 }), 10_000));
  await lb.start();
  return lb;
}

function get(url: string, agent?: https.Agent): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const options = url.startsWith('https') ? { agent, ca: fixtures.ca.certPem, servername: 'localhost' } : {};
    const req = (url.startsWith('https') ? https : http).get(url, options, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
  });
}

/** The serial of the certificate the TLS listener on `port` presents, or the error of the attempt. */
function servedSerial(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', rejectUnauthorized: false }, () => {
      const serial = socket.getPeerX509Certificate()?.serialNumber ?? '';
      socket.end();
      resolve(serial);
    });
    socket.on('error', reject);
    socket.setTimeout(5_000, () => socket.destroy(new Error('no handshake within 5 s')));
  });
}

const serialOf = (c: FixtureCertificate) => new X509Certificate(c.certPem).serialNumber;

describe('listeners', () => {
  it('runs a plain and a TLS listener side by side, each with its own port, and says which proto to the backend', async () => {
    const backend = await startBackend();
    const lb = await start({
      listeners: [
        { listen: '127.0.0.1:0' },
        { listen: '127.0.0.1:0', tls: { certificates: [{ cert: fixtures.ecdsa.chainFile, key: fixtures.ecdsa.keyFile }] } },
      ],
      backends: [`127.0.0.1:${backend}`],
    });
    const [plain, secure] = lb.listeners;
    expect(plain).toMatchObject({ address: '127.0.0.1', tls: false });
    expect(secure).toMatchObject({ address: '127.0.0.1', tls: true });
    expect(plain!.port).not.toBe(secure!.port);
    expect(lb.port).toBe(plain!.port);
    expect(secure!.url).toBe(`https://127.0.0.1:${secure!.port}/`);

    // Enough requests that both workers take connections on both listeners.
    const agent = new https.Agent({ keepAlive: false });
    onCleanup(() => agent.destroy());
    for (let i = 0; i < 6; i++) {
      const [overPlain, overTls] = await Promise.all([get(`${plain!.url}p${i}`), get(`${secure!.url}s${i}`, agent)]);
      expect(JSON.parse(overPlain.body)).toEqual({ proto: 'http', path: `/p${i}` });
      expect(JSON.parse(overTls.body)).toEqual({ proto: 'https', path: `/s${i}` });
    }
    expect(await servedSerial(secure!.port)).toBe(serialOf(fixtures.ecdsa));
    // A plain request on the TLS port: the short 400, not a proxied request.
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(secure!.port, '127.0.0.1', () => socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
      let received = '';
      socket.on('data', (d) => (received += d.toString('latin1')));
      socket.on('close', () => resolve(received));
      socket.on('error', reject);
    });
    expect(raw).toMatch(/^HTTP\/1\.1 400 /);
  });

  it('redirects on the plain listener (httpsRedirect: true) and adds HSTS on the TLS one only', async () => {
    const backend = await startBackend();
    const lb = await start({
      listeners: [
        { listen: '127.0.0.1:0', httpsRedirect: true },
        {
          listen: '127.0.0.1:0',
          tls: {
            certificates: [{ cert: fixtures.ecdsa.chainFile, key: fixtures.ecdsa.keyFile }],
            hsts: { maxAgeSeconds: 600 },
          },
        },
      ],
      backends: [`127.0.0.1:${backend}`],
    });
    const [plain, secure] = lb.listeners;
    const redirected = await get(`${plain!.url}some/path?q=1`);
    expect(redirected.status).toBe(308);
    expect(redirected.headers.location).toBe('https://127.0.0.1/some/path?q=1');
    const secured = await get(`${secure!.url}x`, new https.Agent());
    expect(secured.status).toBe(200);
    expect(secured.headers['strict-transport-security']).toBe('max-age=600');
  });

  it('installs a certificate live into the listener that serves ACME certificates: closed before, new connections get each new one, open ones keep theirs', async () => {
    const backend = await startBackend();
    const lb = await start({
      listeners: [{ listen: '127.0.0.1:0' }, { listen: '127.0.0.1:0', tls: { acmeCertificate: true } }],
      backends: [`127.0.0.1:${backend}`],
    });
    const secure = lb.listeners[1]!;
    // No certificate yet: the listener is bound, and closes what it accepts.
    await expect(servedSerial(secure.port)).rejects.toThrow(/socket disconnected|ECONNRESET|closed/i);
    expect((await get(`${lb.listeners[0]!.url}plain`)).status).toBe(200);

    expect(lb.installCertificate({ certPem: fixtures.ecdsa.chainPem, keyPem: fixtures.ecdsa.keyPem })).toBe(1);
    await waitUntil('the first certificate served', async () => (await servedSerial(secure.port).catch(() => '')) !== '');
    expect(await servedSerial(secure.port)).toBe(serialOf(fixtures.ecdsa));

    // A keep-alive connection opened now goes on with its session after the swap.
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    onCleanup(() => agent.destroy());
    const before = await get(`${secure.url}one`, agent);
    expect(JSON.parse(before.body)).toEqual({ proto: 'https', path: '/one' });
    lb.installCertificate({ certPem: second.chainPem, keyPem: second.keyPem });
    await waitUntil('the new certificate served', async () => (await servedSerial(secure.port)) === serialOf(second));
    const kept = await new Promise<{ reused: boolean; serial: string }>((resolve, reject) => {
      const req = https.get(`${secure.url}two`, { agent, ca: fixtures.ca.certPem, servername: 'localhost' }, (res) => {
        const serial = (res.socket as tls.TLSSocket).getPeerX509Certificate()?.serialNumber ?? '';
        res.resume();
        res.on('end', () => resolve({ reused: req.reusedSocket, serial }));
      });
      req.on('error', reject);
    });
    expect(kept).toEqual({ reused: true, serial: serialOf(fixtures.ecdsa) });

    // A key that does not belong to the certificate is refused; the one in service stays.
    expect(() => lb.installCertificate({ certPem: second.chainPem, keyPem: fixtures.ecdsa.keyPem })).toThrow(LbConfigError);
    expect(await servedSerial(secure.port)).toBe(serialOf(second));
  });

  it('moves one listener on reconfigure and leaves the other where it is; refuses adding a listener while running', async () => {
    const backend = await startBackend();
    const certificates = [{ cert: fixtures.ecdsa.chainFile, key: fixtures.ecdsa.keyFile }];
    const options = {
      workers: 2,
      backends: [`127.0.0.1:${backend}`],
      listeners: [{ listen: '127.0.0.1:0' }, { listen: '127.0.0.1:0', tls: { certificates } }],
    };
    const lb = await start(options);
    const [plain, secure] = lb.listeners;
    const spare = await new Promise<number>((resolve) => {
      const probe = net.createServer().listen(0, '127.0.0.1', () => {
        const port = (probe.address() as net.AddressInfo).port;
        probe.close(() => resolve(port));
      });
    });
    const result = await lb.reconfigure({
      ...options,
      listeners: [{ listen: '127.0.0.1:0' }, { listen: `127.0.0.1:${spare}`, tls: { certificates } }],
    });
    expect(result.listeners).toEqual([{ index: 1, from: `127.0.0.1:${secure!.port}`, to: `127.0.0.1:${spare}` }]);
    expect(result.listen).toBeUndefined();
    expect(lb.listeners.map((l) => l.port)).toEqual([plain!.port, spare]);
    expect(JSON.parse((await get(`https://127.0.0.1:${spare}/moved`, new https.Agent())).body)).toEqual({
      proto: 'https',
      path: '/moved',
    });

    const refused = lb.reconfigure({ ...options, listeners: [...options.listeners, { listen: '127.0.0.1:0' }] });
    await expect(refused).rejects.toThrow(LbConfigError);
    await expect(refused).rejects.toThrow('listeners: cannot add or remove listeners while running (2 running, got 3)');
    expect(lb.listeners.map((l) => l.port)).toEqual([plain!.port, spare]);
  });

  it('mtls-subject-header-forged-on-plain-listener: the verified-subject header is dropped on a plain listener too', async () => {
    const backend = await startBackend();
    const client = await fixtures.issue({ commonName: 'client one', clientAuth: true, fileName: 'listeners-client' });
    const lb = await start({
      listeners: [
        { listen: '127.0.0.1:0' },
        {
          listen: '127.0.0.1:0',
          tls: {
            certificates: [{ cert: fixtures.ecdsa.chainFile, key: fixtures.ecdsa.keyFile }],
            clientCertificates: { ca: fixtures.ca.certFile, verify: 'required', subjectHeader: 'X-Client-Subject' },
          },
        },
      ],
      backends: [`127.0.0.1:${backend}`],
    });
    const [plain, secure] = lb.listeners;
    const forged = await new Promise<string>((resolve, reject) => {
      http
        .get(`${plain!.url}forged`, { headers: { 'x-client-subject': 'CN=admin' } }, (res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => (body += chunk.toString()));
          res.on('end', () => resolve(body));
        })
        .on('error', reject);
    });
    expect(JSON.parse(forged)).toEqual({ proto: 'http', path: '/forged' });
    const verified = await new Promise<string>((resolve, reject) => {
      https
        .get(
          `${secure!.url}verified`,
          { ca: fixtures.ca.certPem, servername: 'localhost', cert: client.certPem, key: client.keyPem, agent: false },
          (res) => {
            let body = '';
            res.on('data', (chunk: Buffer) => (body += chunk.toString()));
            res.on('end', () => resolve(body));
          },
        )
        .on('error', reject);
    });
    expect(JSON.parse(verified)).toMatchObject({ proto: 'https', subject: expect.stringContaining('client one') });
    expect(() =>
      createBalancer({
        listeners: [
          { listen: '127.0.0.1:0', tls: { acmeCertificate: true, clientCertificates: { ca: 'a.pem', subjectHeader: 'x-a' } } },
          { listen: '127.0.0.1:0', tls: { acmeCertificate: true, clientCertificates: { ca: 'a.pem', subjectHeader: 'x-b' } } },
        ],
        backends: ['127.0.0.1:1'],
      }),
    ).toThrow("listeners[1].tls.clientCertificates.subjectHeader: expected the same header as listeners[0] ('x-a')");
  });

  it('refuses listeners beside the one-listener form, naming the fields', () => {
    expect(() =>
      createBalancer({
        listen: '127.0.0.1:0',
        httpsRedirect: true,
        listeners: [{ listen: '127.0.0.1:0' }],
        backends: ['127.0.0.1:1'],
      }),
    ).toThrow(
      'listeners: give either listeners or the one-listener form (listen, tls, httpsRedirect), not both; found listen, httpsRedirect beside listeners',
    );
    expect(() =>
      createBalancer({ listeners: [{ listen: '127.0.0.1:9000' }, { listen: '127.0.0.1:9000' }], backends: ['127.0.0.1:1'] }),
    ).toThrow('listeners[1].listen: same address as listeners[0] (127.0.0.1:9000)');
    expect(() =>
      createBalancer({
        listeners: [{ listen: '127.0.0.1:0', tls: { acmeCertificate: true }, httpsRedirect: true }],
        backends: ['127.0.0.1:1'],
      }),
    ).toThrow('listeners[0].httpsRedirect: only applies to a plain listener; this one has tls (it is HTTPS already)');
    expect(() => createBalancer({ listeners: [{ listen: '127.0.0.1:0', tls: {} }], backends: ['127.0.0.1:1'] })).toThrow(
      'listeners[0].tls.certificates: expected at least one certificate (or acmeCertificate: true)',
    );
    expect(() => createBalancer({ listeners: [], backends: ['127.0.0.1:1'] })).toThrow(
      'listeners: expected at least one listener',
    );
  });
});
