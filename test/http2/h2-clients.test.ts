// HTTP/2 to clients with real clients (node:http2, curl, nghttp): over TLS when ALPN picks
// h2, and h2c with prior knowledge on a plain listener that still speaks HTTP/1.1. Every
// stream is one HTTP/1.1 exchange with a backend: unique ids come back from their own
// backend response, bodies cross both ways hash-checked with a slow reader, trailers are
// carried, a reset stream cancels only its own backend exchange, and a stop sends GOAWAY
// while streams in flight finish.
import { execFile } from 'node:child_process';
import http from 'node:http';
import http2 from 'node:http2';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';

import { renderPrometheus } from '../../src/admin/prometheus.js';
import { startBalancer } from '../helpers/balancer.js';
import { runCleanups } from '../helpers/cleanup.js';
import { externalProgramEnv } from '../helpers/external-env.js';
import { useTlsFixtures } from '../helpers/use-tls-fixtures.js';
import { waitUntil } from '../helpers/wait.js';
import { patternBytes, sha256, startH2Backend } from './h2-backend.js';

const run = promisify(execFile);

const fixtures = useTlsFixtures();

afterEach(async () => {
  await runCleanups();
});

function tlsOption() {
  return { certificates: [{ cert: fixtures.ecdsa.chainFile, key: fixtures.ecdsa.keyFile }] };
}

async function connect(url: string): Promise<http2.ClientHttp2Session> {
  const session = http2.connect(url, url.startsWith('https') ? { ca: fixtures.ca.certPem, servername: 'localhost' } : {});
  await new Promise<void>((resolve, reject) => {
    session.once('connect', () => resolve());
    session.once('error', reject);
  });
  return session;
}

interface Answer {
  status: number;
  headers: http2.IncomingHttpHeaders;
  body: Buffer;
  trailers: http2.IncomingHttpHeaders;
}

function request(
  session: http2.ClientHttp2Session,
  headers: http2.OutgoingHttpHeaders,
  body?: Buffer,
  options: { slowReadMs?: number } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const stream = session.request(headers, { endStream: body === undefined });
    const chunks: Buffer[] = [];
    let status = 0;
    let responseHeaders: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    stream.on('response', (h) => {
      status = Number(h[':status']);
      responseHeaders = h;
    });
    stream.on('trailers', (t) => {
      trailers = t;
    });
    stream.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      if (options.slowReadMs) {
        stream.pause();
        setTimeout(() => stream.resume(), options.slowReadMs);
      }
    });
    stream.on('end', () => resolve({ status, headers: responseHeaders, body: Buffer.concat(chunks), trailers }));
    stream.on('error', reject);
    if (body !== undefined) stream.end(body);
  });
}

describe('HTTP/2 over TLS (ALPN h2)', () => {
  it('offers h2 then http/1.1, and only http/1.1 with http2: false', async () => {
    const backend = await startH2Backend();
    const lb = await startBalancer({ backends: [`127.0.0.1:${backend.port}`], tls: tlsOption() });
    const off = await startBalancer({ backends: [`127.0.0.1:${backend.port}`], tls: tlsOption(), http2: false });
    const alpn = async (port: number, offered: string[]) => {
      const socket = tls.connect({
        host: '127.0.0.1',
        port,
        ca: fixtures.ca.certPem,
        servername: 'localhost',
        ALPNProtocols: offered,
      });
      await new Promise<void>((resolve, reject) => {
        socket.once('secureConnect', () => resolve());
        socket.once('error', reject);
      });
      const chosen = socket.alpnProtocol;
      socket.destroy();
      return chosen;
    };
    expect(await alpn(lb.port, ['h2', 'http/1.1'])).toBe('h2');
    expect(await alpn(lb.port, ['http/1.1', 'h2'])).toBe('h2');
    expect(await alpn(lb.port, ['http/1.1'])).toBe('http/1.1');
    expect(await alpn(off.port, ['h2', 'http/1.1'])).toBe('http/1.1');
  });

  it('answers 1,000 concurrent streams over 20 connections, each from its own backend response', async () => {
    const backends = await Promise.all([startH2Backend(), startH2Backend()]);
    const lb = await startBalancer({ backends: backends.map((b) => `127.0.0.1:${b.port}`), tls: tlsOption() });
    const sessions = await Promise.all(Array.from({ length: 20 }, () => connect(`https://localhost:${lb.port}`)));
    try {
      const answers = await Promise.all(
        Array.from({ length: 1000 }, async (_, i) => {
          const id = `req-${i}-${Math.random().toString(36).slice(2)}`;
          const answer = await request(sessions[i % 20]!, { ':path': `/echo/${i}`, 'x-test-id': id });
          return { id, i, answer };
        }),
      );
      for (const { id, i, answer } of answers) {
        expect(answer.status).toBe(200);
        expect(answer.headers['x-echo-id']).toBe(id);
        const echoed = JSON.parse(answer.body.toString()) as { id: string; path: string; proto: string; host: string };
        expect(echoed.id).toBe(id);
        expect(echoed.path).toBe(`/echo/${i}`);
        expect(echoed.proto).toBe('https');
        expect(echoed.host).toBe(`localhost:${lb.port}`);
      }
      expect(backends[0]!.seen.size + backends[1]!.seen.size).toBe(1000);
      expect(backends[0]!.seen.size).toBeGreaterThan(0);
      expect(backends[1]!.seen.size).toBeGreaterThan(0);
      const stats = lb.stats();
      expect(stats.requests).toBe(1000);
      expect(stats.http2).toMatchObject({ connections: 20, requests: 1000 });
      await waitUntil('every stream closed', () => lb.stats().http2?.streamsActive === 0);
      const metrics = renderPrometheus(lb.stats());
      expect(metrics).toContain('lb_requests_by_protocol_total{protocol="h1"} 0');
      expect(metrics).toContain('lb_requests_by_protocol_total{protocol="h2"} 1000');
      expect(metrics).toContain('lb_h2_streams_active 0');
    } finally {
      for (const session of sessions) session.close();
    }
  }, 60_000);

  it('carries large bodies both ways, hash-checked, with a slow reader', async () => {
    const backend = await startH2Backend();
    const lb = await startBalancer({ backends: [`127.0.0.1:${backend.port}`], tls: tlsOption() });
    const session = await connect(`https://localhost:${lb.port}`);
    try {
      const upload = patternBytes(3 * 1024 * 1024 + 17);
      const [up, down, fast] = await Promise.all([
        request(session, { ':method': 'POST', ':path': '/upload', 'x-test-id': 'up' }, upload),
        request(session, { ':path': `/download?size=${2 * 1024 * 1024 + 5}`, 'x-test-id': 'down' }, undefined, {
          slowReadMs: 5,
        }),
        request(session, { ':path': '/beside', 'x-test-id': 'beside' }),
      ]);
      const echoed = JSON.parse(up.body.toString()) as { size: number; sha256: string; transferEncoding?: string };
      expect(echoed.size).toBe(upload.length);
      expect(echoed.sha256).toBe(sha256(upload));
      expect(echoed.transferEncoding).toBe('chunked');
      expect(down.status).toBe(200);
      expect(down.body.length).toBe(2 * 1024 * 1024 + 5);
      expect(sha256(down.body)).toBe(sha256(patternBytes(2 * 1024 * 1024 + 5)));
      expect(fast.status).toBe(200);

      const sized = patternBytes(200_000);
      const withLength = await request(
        session,
        { ':method': 'PUT', ':path': '/sized', 'x-test-id': 'sized', 'content-length': String(sized.length) },
        sized,
      );
      const sizedEcho = JSON.parse(withLength.body.toString()) as { size: number; sha256: string };
      expect(sizedEcho).toMatchObject({ size: sized.length, sha256: sha256(sized) });
    } finally {
      session.close();
    }
  }, 60_000);

  it('carries trailers both ways', async () => {
    const backend = await startH2Backend();
    const lb = await startBalancer({ backends: [`127.0.0.1:${backend.port}`], tls: tlsOption() });
    const session = await connect(`https://localhost:${lb.port}`);
    try {
      const answer = await request(session, { ':path': '/chunked-trailers', 'x-test-id': 't1' });
      expect(answer.body.toString()).toBe('part one;part two');
      expect(answer.trailers['x-checksum']).toBe('abc123');

      const echoed = await new Promise<{ trailers: Record<string, string> }>((resolve, reject) => {
        const stream = session.request(
          { ':method': 'POST', ':path': '/upload', 'x-test-id': 't2', te: 'trailers' },
          { waitForTrailers: true },
        );
        stream.on('wantTrailers', () => stream.sendTrailers({ 'x-request-sum': 'def456' }));
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString()) as { trailers: Record<string, string> }));
        stream.on('error', reject);
        stream.end('with trailers');
      });
      expect(echoed.trailers['x-request-sum']).toBe('def456');
    } finally {
      session.close();
    }
  });

  it('cancels the backend exchange of a stream the client resets, and serves the others', async () => {
    const backend = await startH2Backend();
    const lb = await startBalancer({ backends: [`127.0.0.1:${backend.port}`], tls: tlsOption() });
    const session = await connect(`https://localhost:${lb.port}`);
    try {
      const reset = session.request({ ':path': '/slow', 'x-test-id': 'reset-me' });
      const kept = request(session, { ':path': '/slow', 'x-test-id': 'keep-me' });
      await new Promise<void>((resolve) => reset.once('data', () => resolve()));
      reset.close(http2.constants.NGHTTP2_CANCEL);
      await waitUntil('the backend sees its exchange cut', () => backend.cut.has('reset-me'));
      const answer = await kept;
      expect(answer.status).toBe(200);
      expect(answer.body.toString().split('\n').filter(Boolean)).toHaveLength(20);
      expect(backend.completed.has('keep-me')).toBe(true);
      expect(backend.completed.has('reset-me')).toBe(false);
      expect(lb.stats().http2).toMatchObject({ resetsByClient: 1, exchangesCancelled: 1 });
      expect(renderPrometheus(lb.stats())).toContain('lb_h2_stream_resets_total{reason="client"} 1');
    } finally {
      session.close();
    }
  }, 20_000);

  it('sends GOAWAY on stop and lets streams in flight finish', async () => {
    const backend = await startH2Backend();
    const lb = await startBalancer({ backends: [`127.0.0.1:${backend.port}`], tls: tlsOption() });
    const session = await connect(`https://localhost:${lb.port}`);
    const goaway = new Promise<number>((resolve) => session.once('goaway', (code) => resolve(code)));
    const inFlight = Array.from({ length: 5 }, (_, i) => request(session, { ':path': '/slow', 'x-test-id': `drain-${i}` }));
    await waitUntil('the backend has every stream', () => backend.seen.size === 5);
    const stopped = lb.stop({ deadlineMs: 10_000 });
    expect(await goaway).toBe(0);
    const answers = await Promise.all(inFlight);
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect(answer.body.toString().split('\n').filter(Boolean)).toHaveLength(20);
    }
    await stopped;
    session.destroy();
  }, 20_000);

  it('serves curl --http2 and nghttp', async () => {
    const backend = await startH2Backend();
    const lb = await startBalancer({ backends: [`127.0.0.1:${backend.port}`], tls: tlsOption() });
    const env = externalProgramEnv();
    const curl = await run(
      'curl',
      [
        '-sS',
        '--http2',
        '--cacert',
        fixtures.ca.certFile,
        '-H',
        'x-test-id: curl-1',
        '-w',
        '\n%{http_version}',
        `https://localhost:${lb.port}/curl`,
      ],
      { env, timeout: 10_000 },
    );
    const [curlBody, curlVersion] = curl.stdout.split('\n');
    expect(curlVersion).toBe('2');
    expect(JSON.parse(curlBody!)).toMatchObject({ id: 'curl-1', path: '/curl', proto: 'https' });

    const nghttp = await run(
      'nghttp',
      ['-n', '-s', '-H', 'x-test-id: nghttp-1', '-m', '10', `https://127.0.0.1:${lb.port}/nghttp`],
      { env, timeout: 10_000 },
    );
    expect(nghttp.stdout).toMatch(/200/);
    expect(backend.seen.get('nghttp-1')?.path).toBe('/nghttp');
  }, 20_000);
});

describe('h2c with prior knowledge', () => {
  it('speaks HTTP/2 and HTTP/1.1 on the same plain port when http2c is on', async () => {
    const backend = await startH2Backend();
    const lb = await startBalancer({ backends: [`127.0.0.1:${backend.port}`], http2c: true });
    const session = await connect(`http://127.0.0.1:${lb.port}`);
    try {
      const answer = await request(session, { ':path': '/h2c', 'x-test-id': 'h2c-1' });
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.body.toString())).toMatchObject({ id: 'h2c-1', proto: 'http' });
    } finally {
      session.close();
    }
    const h1 = await new Promise<string>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port: lb.port, path: '/h1', headers: { 'x-test-id': 'h1-1' } }, (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve(text));
        })
        .on('error', reject);
    });
    expect(JSON.parse(h1)).toMatchObject({ id: 'h1-1', path: '/h1' });

    const env = externalProgramEnv();
    const curl = await run(
      'curl',
      ['-sS', '--http2-prior-knowledge', '-H', 'x-test-id: curl-h2c', '-w', '\n%{http_version}', `http://127.0.0.1:${lb.port}/c`],
      { env, timeout: 10_000 },
    );
    const [body, version] = curl.stdout.split('\n');
    expect(version).toBe('2');
    expect(JSON.parse(body!)).toMatchObject({ id: 'curl-h2c' });
    const nghttp = await run('nghttp', ['-n', '-s', '-H', 'x-test-id: nghttp-h2c', `http://127.0.0.1:${lb.port}/n`], {
      env,
      timeout: 10_000,
    });
    expect(nghttp.stdout).toMatch(/200/);
    expect(backend.seen.get('nghttp-h2c')?.path).toBe('/n');
  }, 20_000);

  it('sends GOAWAY on a reload that changes the listener, with zero failed streams', async () => {
    const backend = await startH2Backend();
    const lb = await startBalancer({ backends: [`127.0.0.1:${backend.port}`], http2c: true, workers: 1 });
    const session = await connect(`http://127.0.0.1:${lb.port}`);
    const goaway = new Promise<number>((resolve) => session.once('goaway', (code) => resolve(code)));
    const inFlight = Array.from({ length: 8 }, (_, i) => request(session, { ':path': '/slow', 'x-test-id': `reload-${i}` }));
    await waitUntil('the backend has every stream', () => backend.seen.size === 8);
    // One that turns h2c off asks the client to reconnect (over HTTP/1.1 now).
    await lb.reconfigure({
      listen: lb.config.listeners[0]!.listen.text,
      workers: 1,
      backends: [`127.0.0.1:${backend.port}`],
      http2c: false,
    });
    expect(await goaway).toBe(0);
    const answers = await Promise.all(inFlight);
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect(answer.body.toString().split('\n').filter(Boolean)).toHaveLength(20);
    }
    session.destroy();
    await lb.reconfigure({
      listen: lb.config.listeners[0]!.listen.text,
      workers: 1,
      backends: [`127.0.0.1:${backend.port}`],
      http2c: true,
    });
    const again = await connect(`http://127.0.0.1:${lb.port}`);
    try {
      const answer = await request(again, { ':path': '/after-reload', 'x-test-id': 'after-reload' });
      expect(answer.status).toBe(200);
      // A reload that leaves the listener as it was (backends, timeouts, and `http2`, which
      // is ALPN on TLS listeners) keeps the connection.
      let goawaySeen = false;
      again.on('goaway', () => (goawaySeen = true));
      await lb.reconfigure({
        listen: lb.config.listeners[0]!.listen.text,
        workers: 1,
        backends: [`127.0.0.1:${backend.port}`],
        http2c: true,
        http2: false,
        timeouts: { responseMs: 30_000 },
      });
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(goawaySeen).toBe(false);
      expect((await request(again, { ':path': '/still', 'x-test-id': 'still' })).status).toBe(200);
    } finally {
      again.close();
    }
  }, 20_000);

  it('leaves a plain listener HTTP/1.1-only by default (the preface is a bad request)', async () => {
    const backend = await startH2Backend();
    const lb = await startBalancer({ backends: [`127.0.0.1:${backend.port}`] });
    const env = externalProgramEnv();
    const curl = await run(
      'curl',
      ['-s', '--http2-prior-knowledge', '-o', '/dev/null', '-w', '%{http_code}', `http://127.0.0.1:${lb.port}/`],
      {
        env,
        timeout: 10_000,
      },
    ).catch((error: { stdout: string }) => ({ stdout: error.stdout }));
    expect(curl.stdout).not.toBe('200');
    expect(backend.seen.size).toBe(0);
  });
});
