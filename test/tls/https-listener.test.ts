// A TLS listener end to end with real clients (node:https and node:tls, curl, openssl
// s_client) and certificates made at test time: requests with bodies and keep-alive over
// TLS, SNI choice, RSA beside ECDSA, old protocol versions refused, plain HTTP on the TLS
// port, clients that stay silent or stop mid-ClientHello, forwarded headers, WebSocket
// upgrades, and certificate reloads (good and bad) under open connections.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { join } from 'node:path';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

import { LbConfigError } from '../../src/errors.js';
import { startBalancer } from '../helpers/balancer.js';
import { onCleanup, runCleanups } from '../helpers/cleanup.js';
import { listenOnLoopback } from '../helpers/loopback-server.js';
import { externalProgramEnv } from '../helpers/external-env.js';
import { waitUntil } from '../helpers/wait.js';
import type { FixtureCertificate } from '../helpers/tls-fixtures.js';
import { useTlsFixtures } from '../helpers/use-tls-fixtures.js';

const run = promisify(execFile);

const fixtures = useTlsFixtures({ names: ['localhost', 'example.test'], ips: ['127.0.0.1'] });
let wildcard: FixtureCertificate;
let fallback: FixtureCertificate;
let replacement: FixtureCertificate;
let clientCert: FixtureCertificate;

beforeAll(async () => {
  wildcard = await fixtures.issue({ names: ['*.wild.test'], fileName: 'wildcard' });
  fallback = await fixtures.issue({ names: ['default.test'], fileName: 'fallback' });
  clientCert = await fixtures.issue({ commonName: 'client one', clientAuth: true, fileName: 'client' });
  replacement = await fixtures.issue({ names: ['localhost', 'example.test'], ips: ['127.0.0.1'], fileName: 'replacement' });
}, 60_000);

afterEach(async () => {
  await runCleanups();
});

/** A backend that answers with what it saw: method, body size and hash, forwarded headers. WebSocket upgrades echo. */
async function startEchoBackend(): Promise<{ port: number }> {
  const server = http.createServer((req, res) => {
    const hash = createHash('sha256');
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      hash.update(chunk);
    });
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          method: req.method,
          size,
          sha256: hash.digest('hex'),
          proto: req.headers['x-forwarded-proto'],
          forwarded: req.headers.forwarded,
          subject: req.headers['x-client-subject'],
        }),
      );
    });
  });
  server.on('upgrade', (req, socket) => {
    socket.write(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        `X-Seen-Proto: ${String(req.headers['x-forwarded-proto'])}\r\n\r\n`,
    );
    socket.on('data', (data) => socket.write(data)); // echo
  });
  return { port: await listenOnLoopback(server) };
}

async function startTlsBalancer(certificates: ReadonlyArray<{ cert: string; key: string }>, extra: Record<string, unknown> = {}) {
  const backend = await startEchoBackend();
  return startBalancer({
    backends: [`127.0.0.1:${backend.port}`],
    tls: { certificates: certificates.map((c) => ({ ...c })) },
    ...extra,
  });
}

const pair = (c: FixtureCertificate) => ({ cert: c.chainFile, key: c.keyFile });

interface Answer {
  status: number;
  body: string;
  reused: boolean;
}

function request(port: number, agent: https.Agent, method: string, body?: Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, method, path: '/echo', agent, servername: 'localhost' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), reused: req.reusedSocket }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Handshakes with `servername` and returns the certificate the balancer presented. */
function peerCertificate(
  port: number,
  options: tls.ConnectionOptions = {},
): Promise<{ names: string; keyType: string; fingerprint: string }> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect(
      { host: '127.0.0.1', port, ca: fixtures.ca.certPem, rejectUnauthorized: false, ...options },
      () => {
        const cert = socket.getPeerX509Certificate();
        socket.end();
        if (!cert) {
          reject(new Error('no peer certificate'));
          return;
        }
        resolve({
          names: cert.subjectAltName ?? '',
          keyType: cert.publicKey.asymmetricKeyType ?? '',
          fingerprint: cert.fingerprint256,
        });
      },
    );
    socket.on('error', reject);
  });
}

/** Connects with plain TCP, writes `bytes` (if any) and resolves with what came back once the balancer closed. */
function rawExchange(port: number, bytes?: Buffer | string): Promise<{ received: string; closedBy: 'end' | 'reset' }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      if (bytes !== undefined) socket.write(bytes);
    });
    let received = '';
    let closedBy: 'end' | 'reset' = 'end';
    socket.on('data', (data) => (received += data.toString('latin1')));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNRESET') closedBy = 'reset';
      else reject(error);
    });
    socket.on('close', () => resolve({ received, closedBy }));
    socket.setTimeout(10_000, () => {
      socket.destroy();
      reject(new Error('the balancer did not close the connection'));
    });
  });
}

describe('HTTPS listener', () => {
  it('carries GET and POST with bodies over keep-alive TLS connections, and says https to the backend', async () => {
    const lb = await startTlsBalancer([pair(fixtures.ecdsa)], { workers: 1 });
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca: fixtures.ca.certPem });
    onCleanup(() => agent.destroy());
    const body = Buffer.alloc(300_000, 'abcdefghij');
    const get = await request(lb.port, agent, 'GET');
    const post = await request(lb.port, agent, 'POST', body);
    const again = await request(lb.port, agent, 'PUT', Buffer.from('small'));
    expect(get.status).toBe(200);
    expect(JSON.parse(get.body)).toMatchObject({ method: 'GET', size: 0, proto: 'https' });
    expect(JSON.parse(post.body)).toMatchObject({
      method: 'POST',
      size: body.length,
      sha256: createHash('sha256').update(body).digest('hex'),
      proto: 'https',
    });
    expect(JSON.parse(again.body)).toMatchObject({ method: 'PUT', size: 5 });
    expect([post.reused, again.reused]).toEqual([true, true]);
  });

  it("says proto=https in RFC 7239's Forwarded header", async () => {
    const lb = await startTlsBalancer([pair(fixtures.ecdsa)], { forwarded: { mode: 'forwarded' } });
    const agent = new https.Agent({ ca: fixtures.ca.certPem });
    onCleanup(() => agent.destroy());
    const answer = await request(lb.port, agent, 'GET');
    expect(JSON.parse(answer.body).forwarded).toMatch(/proto=https/);
  });

  it('serves curl --cacert (a POST with a body) and openssl s_client, certificate verified', async () => {
    const lb = await startTlsBalancer([pair(fixtures.rsa)]);
    const curl = await run(
      'curl',
      [
        '-sS',
        '--cacert',
        fixtures.ca.certFile,
        '--resolve',
        `localhost:${lb.port}:127.0.0.1`,
        '--data-binary',
        'hello',
        `https://localhost:${lb.port}/x`,
      ],
      { env: externalProgramEnv() },
    );
    expect(JSON.parse(curl.stdout)).toMatchObject({ method: 'POST', size: 5, proto: 'https' });

    const sClient = execFile(
      'openssl',
      [
        's_client',
        '-connect',
        `127.0.0.1:${lb.port}`,
        '-servername',
        'localhost',
        '-CAfile',
        fixtures.ca.certFile,
        '-verify_return_error',
        '-quiet',
      ],
      { env: externalProgramEnv(), timeout: 10_000 },
    );
    let out = '';
    sClient.stdout?.on('data', (data: Buffer) => (out += data.toString()));
    sClient.stdin?.write('GET /s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    const code = await new Promise<number | null>((resolve) => sClient.on('close', resolve));
    expect(out).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(out).toContain('"proto":"https"');
    expect(code).toBe(0);
  });

  it('picks the certificate by SNI: exact name, wildcard, and the default for unknown or no names', async () => {
    const lb = await startTlsBalancer([pair(fallback), pair(fixtures.ecdsa), pair(wildcard)]);
    expect((await peerCertificate(lb.port, { servername: 'example.test' })).names).toContain('DNS:example.test');
    expect((await peerCertificate(lb.port, { servername: 'a.wild.test' })).names).toBe('DNS:*.wild.test');
    expect((await peerCertificate(lb.port, { servername: 'a.b.wild.test' })).names).toBe('DNS:default.test');
    expect((await peerCertificate(lb.port, { servername: 'unknown.test' })).names).toBe('DNS:default.test');
    expect((await peerCertificate(lb.port, {})).names).toBe('DNS:default.test');
  });

  it('holds RSA and ECDSA certificates side by side: the client’s signature algorithms choose', async () => {
    const lb = await startTlsBalancer([pair(fixtures.rsa), pair(fixtures.ecdsa)]);
    const ecdsa = await peerCertificate(lb.port, { servername: 'localhost', sigalgs: 'ecdsa_secp256r1_sha256' });
    const rsa = await peerCertificate(lb.port, { servername: 'localhost', sigalgs: 'rsa_pss_rsae_sha256:rsa_pkcs1_sha256' });
    expect(ecdsa.keyType).toBe('ec');
    expect(rsa.keyType).toBe('rsa');
  });

  it('refuses TLS 1.1 (curl gets a protocol version alert)', async () => {
    const lb = await startTlsBalancer([pair(fixtures.ecdsa)]);
    const refused = await run('curl', ['-sS', '--tlsv1.0', '--tls-max', '1.1', '-k', `https://127.0.0.1:${lb.port}/`], {
      env: externalProgramEnv(),
    }).then(
      () => undefined,
      (error: { stderr?: string }) => error.stderr ?? '',
    );
    expect(refused).toMatch(/alert protocol version|unsupported protocol|no protocols available/i);
  });

  it('answers plain HTTP on the TLS port with a short 400 and closes', async () => {
    const lb = await startTlsBalancer([pair(fixtures.ecdsa)]);
    const { received } = await rawExchange(lb.port, 'GET / HTTP/1.1\r\nHost: localhost\r\n\r\n');
    expect(received).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(received).toContain('Connection: close\r\n');
    expect(received).toContain('This port speaks HTTPS');
  });

  it('closes a silent client and one that sends half a ClientHello at the handshake timeout, then serves others', async () => {
    const lb = await startTlsBalancer([pair(fixtures.ecdsa)], { timeouts: { clientHeadMs: 300 } });
    const halfHello = Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]);
    const [silent, half, garbage] = await Promise.all([
      rawExchange(lb.port),
      rawExchange(lb.port, halfHello),
      rawExchange(lb.port, Buffer.from([0, 1, 2, 3, 4, 5, 6, 7])),
    ]);
    expect(silent.received).toBe('');
    expect(half.received).toBe('');
    expect(garbage.received).toBe('');
    const agent = new https.Agent({ ca: fixtures.ca.certPem });
    onCleanup(() => agent.destroy());
    expect((await request(lb.port, agent, 'GET')).status).toBe(200);
  });

  it('upgrades to a WebSocket over TLS and relays both ways', async () => {
    const lb = await startTlsBalancer([pair(fixtures.ecdsa)]);
    const socket = tls.connect({ host: '127.0.0.1', port: lb.port, servername: 'localhost', ca: fixtures.ca.certPem });
    onCleanup(() => socket.destroy());
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', resolve);
      socket.once('error', reject);
    });
    let received = '';
    socket.on('data', (data: Buffer) => (received += data.toString()));
    socket.write('GET /ws HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
    await waitUntil('the 101', () => received.includes('\r\n\r\n'));
    expect(received).toMatch(/^HTTP\/1\.1 101 Switching Protocols\r\n/);
    expect(received).toContain('X-Seen-Proto: https');
    const head = received.slice(0, received.indexOf('\r\n\r\n') + 4);
    const big = 'w'.repeat(100_000);
    socket.write(`ping-${big}`);
    await waitUntil('the echo', () => received.length >= head.length + big.length + 5);
    expect(received.slice(head.length)).toBe(`ping-${big}`);
  });
});

describe('HTTPS listener: certificate reloads', () => {
  /** Certificate files of our own, so that a test can overwrite them. */
  async function ownFiles(name: string, from: FixtureCertificate): Promise<{ cert: string; key: string }> {
    const files = { cert: join(fixtures.dir, `${name}.chain.pem`), key: join(fixtures.dir, `${name}.key.pem`) };
    await copyFile(from.chainFile, files.cert);
    await copyFile(from.keyFile, files.key);
    return files;
  }

  it('new handshakes get the new certificate; an open connection keeps working', async () => {
    const files = await ownFiles('reload-good', fixtures.ecdsa);
    const lb = await startTlsBalancer([files], { workers: 2 });
    const before = await peerCertificate(lb.port, { servername: 'localhost' });
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca: fixtures.ca.certPem });
    onCleanup(() => agent.destroy());
    expect((await request(lb.port, agent, 'GET')).status).toBe(200);

    await copyFile(replacement.chainFile, files.cert);
    await copyFile(replacement.keyFile, files.key);
    await lb.reloadCertificates();
    const after = await peerCertificate(lb.port, { servername: 'localhost' });
    expect(after.fingerprint).not.toBe(before.fingerprint);
    expect(after.fingerprint).toBe((await peerCertificate(lb.port, { servername: 'localhost' })).fingerprint);
    const open = await request(lb.port, agent, 'POST', Buffer.from('still here'));
    expect(open).toMatchObject({ status: 200, reused: true });
  });

  it('reloads during a stream of requests on new and kept-alive connections without a failure', async () => {
    const files = await ownFiles('reload-stream', fixtures.ecdsa);
    const lb = await startTlsBalancer([files], { workers: 2 });
    const keepAlive = new https.Agent({ keepAlive: true, maxSockets: 4, ca: fixtures.ca.certPem });
    const fresh = new https.Agent({ keepAlive: false, ca: fixtures.ca.certPem });
    onCleanup(() => {
      keepAlive.destroy();
      fresh.destroy();
    });
    let stop = false;
    const statuses: number[] = [];
    const failures: unknown[] = [];
    const stream = async (agent: https.Agent) => {
      while (!stop) {
        await request(lb.port, agent, 'POST', Buffer.from('x'.repeat(1000))).then(
          (answer) => statuses.push(answer.status),
          (error: unknown) => failures.push(error),
        );
      }
    };
    const streams = [stream(keepAlive), stream(keepAlive), stream(fresh), stream(fresh)];
    for (let i = 0; i < 6; i += 1) {
      const next = i % 2 === 0 ? replacement : fixtures.ecdsa;
      await copyFile(next.chainFile, files.cert);
      await copyFile(next.keyFile, files.key);
      await lb.reloadCertificates();
      await waitUntil('requests after the reload', () => statuses.length > (i + 1) * 10);
    }
    stop = true;
    await Promise.all(streams);
    expect(failures).toEqual([]);
    expect(statuses.every((status) => status === 200)).toBe(true);
  });

  it('reloads by itself when the files change', async () => {
    const files = await ownFiles('reload-watch', fixtures.ecdsa);
    const lb = await startTlsBalancer([files]);
    const before = await peerCertificate(lb.port, { servername: 'localhost' });
    await copyFile(replacement.keyFile, files.key);
    await copyFile(replacement.chainFile, files.cert);
    await waitUntil(
      'a handshake with the new certificate',
      async () => (await peerCertificate(lb.port, { servername: 'localhost' })).fingerprint !== before.fingerprint,
      { timeoutMs: 5_000, intervalMs: 100 },
    );
  });

  it('a bad new file keeps the old certificate and says why (rejection and error event)', async () => {
    const files = await ownFiles('reload-bad', fixtures.ecdsa);
    const lb = await startTlsBalancer([files]);
    const errors: Error[] = [];
    lb.on('error', (error) => errors.push(error));
    const before = await peerCertificate(lb.port, { servername: 'localhost' });
    await writeFile(files.cert, 'not a certificate\n');
    const refused = await lb.reloadCertificates().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(LbConfigError);
    expect(String((refused as Error).message)).toContain(`${files.cert}: expected a PEM certificate`);
    await waitUntil('the error event', () => errors.length > 0);
    expect(errors[0]!.message).toContain(files.cert);
    expect((await peerCertificate(lb.port, { servername: 'localhost' })).fingerprint).toBe(before.fingerprint);

    // A key of another certificate: refused the same way.
    await copyFile(fixtures.ecdsa.chainFile, files.cert);
    await copyFile(replacement.keyFile, files.key);
    await expect(lb.reloadCertificates()).rejects.toThrow(/expected the private key of/);
    expect((await peerCertificate(lb.port, { servername: 'localhost' })).fingerprint).toBe(before.fingerprint);
  });
});

describe('HTTPS listener: HSTS, and plain listeners that redirect to HTTPS', () => {
  it('adds Strict-Transport-Security to relayed responses over TLS', async () => {
    const lb = await startTlsBalancer([pair(fixtures.ecdsa)]);
    await lb.reconfigure({
      listen: '127.0.0.1:0',
      backends: lb.backends().map((b) => b.address),
      workers: 2,
      tls: { certificates: [pair(fixtures.ecdsa)], hsts: { maxAgeSeconds: 600, includeSubDomains: true } },
    });
    const headers = await new Promise<http.IncomingHttpHeaders>((resolve, reject) => {
      https
        .get({ host: '127.0.0.1', port: lb.port, path: '/', servername: 'localhost', ca: fixtures.ca.certPem }, (res) => {
          res.resume();
          resolve(res.headers);
        })
        .on('error', reject);
    });
    expect(headers['strict-transport-security']).toBe('max-age=600; includeSubDomains');
  });

  it('--redirect-https: a plain listener answers 308 to the same host and path over HTTPS, keeping the connection', async () => {
    const backend = await startEchoBackend();
    const lb = await startBalancer({ backends: [`127.0.0.1:${backend.port}`], httpsRedirect: {} });
    const socket = net.connect(lb.port, '127.0.0.1');
    onCleanup(() => socket.destroy());
    let received = '';
    socket.on('data', (data) => (received += data.toString('latin1')));
    socket.write('GET /a/b?c=d HTTP/1.1\r\nHost: example.test:8080\r\n\r\n');
    await waitUntil('the first redirect', () => received.includes('\r\n\r\n'));
    expect(received).toMatch(/^HTTP\/1\.1 308 Permanent Redirect\r\n/);
    expect(received).toContain('Location: https://example.test/a/b?c=d\r\n');
    received = '';
    socket.write('GET / HTTP/1.1\r\nHost: [::1]\r\n\r\n');
    await waitUntil('the second redirect', () => received.includes('\r\n\r\n'));
    expect(received).toContain('Location: https://[::1]/\r\n');

    await lb.reconfigure({
      listen: '127.0.0.1:0',
      backends: [`127.0.0.1:${backend.port}`],
      workers: 2,
      httpsRedirect: { status: 301, port: 8443 },
    });
    const moved = await rawExchange(lb.port, 'GET /x HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\n\r\n');
    expect(moved.received).toMatch(/^HTTP\/1\.1 301 Moved Permanently\r\n/);
    expect(moved.received).toContain('Location: https://example.test:8443/x\r\n');
    const bad = await rawExchange(lb.port, 'GET /x HTTP/1.1\r\nHost: evil.test/path\r\n\r\n');
    expect(bad.received).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
  });

  it('refuses httpsRedirect on a TLS listener and --hsts without a certificate', async () => {
    await expect(
      startBalancer({ backends: ['127.0.0.1:9'], httpsRedirect: {}, tls: { certificates: [pair(fixtures.ecdsa)] } }),
    ).rejects.toThrow(/httpsRedirect: only applies to a plain listener/);
  });
});

describe('HTTPS listener: client certificates (mTLS)', () => {
  function get(port: number, options: https.RequestOptions): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      https
        .get(
          { host: '127.0.0.1', port, path: '/', servername: 'localhost', ca: fixtures.ca.certPem, agent: false, ...options },
          (res) => {
            let body = '';
            res.on('data', (chunk: Buffer) => (body += chunk.toString()));
            res.on('end', () => resolve(JSON.parse(body) as Record<string, unknown>));
          },
        )
        .on('error', reject);
    });
  }
  const forged = { 'x-client-subject': 'CN=admin' };

  it('required: the verified subject reaches the backend in the configured header; no certificate, no handshake', async () => {
    const lb = await startTlsBalancer([pair(fixtures.ecdsa)], {
      tls: {
        certificates: [pair(fixtures.ecdsa)],
        clientCertificates: { ca: fixtures.ca.certFile, verify: 'required', subjectHeader: 'X-Client-Subject' },
      },
    });
    const seen = await get(lb.port, { cert: clientCert.certPem, key: clientCert.keyPem, headers: forged });
    expect(seen.subject).toBe('CN=client one');
    await expect(get(lb.port, {})).rejects.toThrow();
  });

  it('optional: a client without a certificate is served, and its own copy of the header is dropped', async () => {
    const lb = await startTlsBalancer([pair(fixtures.ecdsa)], {
      tls: {
        certificates: [pair(fixtures.ecdsa)],
        clientCertificates: { ca: fixtures.ca.certFile, verify: 'optional', subjectHeader: 'X-Client-Subject' },
      },
    });
    const anonymous = await get(lb.port, { headers: forged });
    expect(anonymous.subject).toBeUndefined();
    const known = await get(lb.port, { cert: clientCert.certPem, key: clientCert.keyPem });
    expect(known.subject).toBe('CN=client one');
  });
});

describe('HTTPS listener: configuration', () => {
  it('refuses files that cannot be used at start, naming the file and what was expected', async () => {
    const missing = join(fixtures.dir, 'no-such-file.pem');
    const backend = await startEchoBackend();
    await expect(
      startBalancer({
        backends: [`127.0.0.1:${backend.port}`],
        tls: { certificates: [{ cert: missing, key: fixtures.ecdsa.keyFile }] },
      }),
    ).rejects.toThrow(`tls.certificates[0].cert: ${missing}: cannot be read (ENOENT)`);
    await expect(
      startBalancer({
        backends: [`127.0.0.1:${backend.port}`],
        tls: { certificates: [{ cert: fixtures.ecdsa.chainFile, key: fixtures.ecdsa.chainFile }] },
      }),
    ).rejects.toThrow(`${fixtures.ecdsa.chainFile}: expected a PEM private key`);
  });

  it('refuses tls in tcp mode', async () => {
    await expect(
      startBalancer({ mode: 'tcp', backends: ['127.0.0.1:9'], tls: { certificates: [pair(fixtures.ecdsa)] } }),
    ).rejects.toThrow(/tls: does not apply in tcp mode/);
  });
});
