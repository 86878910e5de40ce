// Large bodies through each of the two paths a body can take: copied through user-space
// buffers, or (Content-Length bodies of at least bodies.spliceMinBytes between two plain
// sockets) moved by splice(2) through a pipe. Every test runs both ways; the stats
// counters say which path the bodies took, and hashes say the bytes arrived whole.
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startBalancer, type Balancer } from '../helpers/balancer.js';
import { onCleanup, runCleanups } from '../helpers/cleanup.js';
import { buildResponse, header, printable } from '../helpers/http-message.js';
import { RawClient } from '../helpers/raw-client.js';
import { ScriptedBackend, bodyPattern, echoReply, streamReply } from '../helpers/scripted-backend.js';
import { delay, waitUntil, withTimeout } from '../helpers/wait.js';

afterEach(runCleanups);

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const MiB = 1024 * 1024;

/** The first `n` bytes of a streamed body (bodyPattern repeated). */
function patternBytes(n: number): Buffer {
  const out = Buffer.alloc(n);
  for (let at = 0; at < n; at += bodyPattern.length) bodyPattern.copy(out, at, 0, Math.min(bodyPattern.length, n - at));
  return out;
}

const PATHS = [
  { path: 'splice', bodies: { spliceMinBytes: 65_536 } },
  { path: 'copy', bodies: { spliceMinBytes: 0 } },
] as const;

function start(
  bodies: { spliceMinBytes: number; maxPipes?: number },
  backend: ScriptedBackend,
  extra: Record<string, unknown> = {},
): Promise<Balancer> {
  // One worker: every exchange of a test shares one worker's pipe pool and counters.
  return startBalancer({ backends: [backend.address], workers: 1, bodies, ...extra });
}

/** The counters that name the path, as the balancer reports them now. */
function paths(lb: Balancer): { copied: number; spliced: number; splicedBytes: number } {
  const s = lb.stats();
  return { copied: s.bodiesCopied, spliced: s.bodiesSpliced, splicedBytes: s.bodyBytesSpliced };
}

for (const { path, bodies } of PATHS) {
  describe(`bodies by ${path}`, () => {
    it('delivers a 1 MiB Content-Length response whole, twice on one connection, and counts its path', async () => {
      const body = randomBytes(MiB);
      const backend = await ScriptedBackend.start(() => ({ bytes: buildResponse(200, body, { reason: 'OK' }) }));
      const lb = await start(bodies, backend);
      const client = await RawClient.connect(lb.port);
      for (let round = 0; round < 2; round++) {
        await client.write(`GET /big/${round} HTTP/1.1\r\nHost: test.local\r\n\r\n`);
        const res = await client.readResponse({ timeoutMs: 20_000 });
        expect(res.status, printable(res.raw, 300)).toBe(200);
        expect(sha256(res.body)).toBe(sha256(body));
        expect(client.unread().length).toBe(0);
      }
      // The pooled backend connection carried both: nothing of one body leaked into the next.
      expect(backend.acceptedCount).toBe(1);
      const counted = paths(lb);
      if (path === 'splice') {
        expect(counted.spliced).toBe(2);
        // All but what came in the first reads with the head (a 64 KiB block) went by splice.
        expect(counted.splicedBytes).toBeGreaterThan(2 * (MiB - 2 * 65_536));
        expect(counted.copied).toBe(0);
      } else {
        expect(counted).toEqual({ copied: 2, spliced: 0, splicedBytes: 0 });
      }
    });

    it('forwards a 1 MiB Content-Length upload whole (the backend echoes it) and counts both bodies', async () => {
      const backend = await ScriptedBackend.start(echoReply);
      const lb = await start(bodies, backend);
      const body = randomBytes(MiB);
      const client = await RawClient.connect(lb.port);
      await client.write(`POST /up HTTP/1.1\r\nHost: test.local\r\nX-Request-Id: up\r\nContent-Length: ${body.length}\r\n\r\n`);
      // The body follows in pieces, so most of it arrives after the head was forwarded.
      for (let at = 0; at < body.length; at += 200_000) await client.write(body.subarray(at, at + 200_000));
      const res = await client.readResponse({ method: 'POST', timeoutMs: 20_000 });
      expect(res.status, printable(res.raw, 300)).toBe(200);
      expect(header(res, 'x-request-id')).toBe('up');
      expect(sha256(backend.requests()[0]!.body)).toBe(sha256(body));
      expect(sha256(res.body)).toBe(sha256(body));
      const counted = paths(lb);
      if (path === 'splice') {
        expect(counted.spliced).toBe(2);
        expect(counted.copied).toBe(0);
      } else {
        expect(counted).toEqual({ copied: 2, spliced: 0, splicedBytes: 0 });
      }
    });

    it('keeps chunked bodies on the copy path, whole', async () => {
      const body = randomBytes(MiB + 3);
      const backend = await ScriptedBackend.start(() => ({
        bytes: buildResponse(200, body, { reason: 'OK', framing: 'chunked', chunkSize: 100_000 }),
      }));
      const lb = await start(bodies, backend);
      const client = await RawClient.connect(lb.port);
      await client.write('GET /chunked HTTP/1.1\r\nHost: test.local\r\n\r\n');
      const res = await client.readResponse({ timeoutMs: 20_000 });
      expect(sha256(res.body)).toBe(sha256(body));
      expect(paths(lb)).toEqual({ copied: 1, spliced: 0, splicedBytes: 0 });
    });

    it('delivers a response cut at every boundary that matters (head, first read, splice threshold, last byte)', async () => {
      const size = 3 * 65_536 + 17;
      const body = randomBytes(size);
      const wire = buildResponse(200, body, { reason: 'OK' });
      const headEnd = wire.indexOf('\r\n\r\n') + 4;
      const cuts = [
        headEnd - 2, // inside the head's final CRLF CRLF
        headEnd, // the head alone
        headEnd + 1, // one body byte
        headEnd + 16_384, // a buffer's worth
        headEnd + 65_535, // one short of the splice threshold
        headEnd + 65_537, // just past it
        headEnd + 2 * 65_536, // a pipe's capacity further
        wire.length - 1, // all but the last byte
      ];
      const pieces: Buffer[] = [];
      for (let i = 0, from = 0; i <= cuts.length; i++) {
        const to = i < cuts.length ? cuts[i]! : wire.length;
        pieces.push(wire.subarray(from, to));
        from = to;
      }
      const backend = await ScriptedBackend.start(() => ({ pieces, pauseMs: 15 }));
      const lb = await start(bodies, backend);
      const client = await RawClient.connect(lb.port);
      for (let round = 0; round < 2; round++) {
        await client.write(`GET /cut/${round} HTTP/1.1\r\nHost: test.local\r\n\r\n`);
        const res = await client.readResponse({ timeoutMs: 20_000 });
        expect(res.status, printable(res.raw, 300)).toBe(200);
        expect(res.body.length).toBe(size);
        expect(sha256(res.body)).toBe(sha256(body));
      }
      expect(backend.acceptedCount).toBe(1);
    });

    it('forwards an upload cut at every boundary, with a pipelined request right after its last byte', async () => {
      const backend = await ScriptedBackend.start(echoReply);
      const lb = await start(bodies, backend);
      const body = randomBytes(3 * 65_536 + 5);
      const head = Buffer.from(
        `PUT /cut HTTP/1.1\r\nHost: test.local\r\nX-Request-Id: big\r\nContent-Length: ${body.length}\r\n\r\n`,
      );
      const next = Buffer.from(
        'POST /after HTTP/1.1\r\nHost: test.local\r\nX-Request-Id: small\r\nContent-Length: 5\r\n\r\nhello',
      );
      const wire = Buffer.concat([head, body, next]);
      const cuts = [
        head.length - 1,
        head.length,
        head.length + 1,
        head.length + 65_535,
        head.length + 65_537,
        head.length + body.length - 1,
      ];
      const pieces: Buffer[] = [];
      for (let i = 0, from = 0; i <= cuts.length; i++) {
        const to = i < cuts.length ? cuts[i]! : wire.length;
        pieces.push(wire.subarray(from, to));
        from = to;
      }
      const client = await RawClient.connect(lb.port);
      await client.writePieces(pieces, 15);
      const [big, small] = await client.readResponses(['PUT', 'POST'], 20_000);
      expect(sha256(big!.body)).toBe(sha256(body));
      expect(header(small!, 'x-request-id')).toBe('small');
      expect(small!.body.toString()).toBe('hello');
      const seen = backend.requests();
      expect(seen.length).toBe(2);
      expect(sha256(seen[0]!.body)).toBe(sha256(body));
      expect(seen[1]!.body.toString()).toBe('hello');
    });

    it('streams to a client that reads slowly, and the bytes still arrive whole', async () => {
      // More than the kernel's socket buffers on the way can hold (loopback autotuning
      // lets them grow to several MiB each).
      const total = 48 * MiB;
      const backend = await ScriptedBackend.start((request) => streamReply('b', request, { total, framing: 'content-length' }));
      const lb = await start(bodies, backend);
      // A plain socket, hashing as it reads: 48 MiB is too much to collect and parse.
      const socket = net.connect({ host: '127.0.0.1', port: lb.port });
      onCleanup(() => socket.destroy());
      await once(socket, 'connect');
      socket.pause();
      socket.write('GET /slow HTTP/1.1\r\nHost: test.local\r\n\r\n');
      // The client reads nothing for a while: the backend must be held back (backpressure
      // through the proxy), not the body buffered without bound.
      await delay(400);
      const heldAt = backend.connections[0]!.streamed;
      expect(heldAt).toBeGreaterThan(0);
      expect(heldAt).toBeLessThan(total);
      const hash = createHash('sha256');
      let head = Buffer.alloc(0);
      let bodyBytes = -1;
      const done = new Promise<void>((resolve, reject) => {
        socket.on('data', (data: Buffer) => {
          if (bodyBytes < 0) {
            head = Buffer.concat([head, data]);
            const end = head.indexOf('\r\n\r\n');
            if (end < 0) return;
            data = head.subarray(end + 4);
            bodyBytes = 0;
          }
          hash.update(data);
          bodyBytes += data.length;
          if (bodyBytes >= total) resolve();
        });
        socket.on('close', () => reject(new Error(`closed after ${bodyBytes} body bytes`)));
      });
      socket.resume();
      await withTimeout('the slow download', done, 60_000);
      expect(bodyBytes).toBe(total);
      const expected = createHash('sha256');
      for (let at = 0; at < total; at += bodyPattern.length) expected.update(bodyPattern);
      expect(hash.digest('hex')).toBe(expected.digest('hex'));
    }, 90_000);

    it('uploads to a backend that reads slowly, and the bytes still arrive whole', async () => {
      const body = randomBytes(2 * MiB);
      const received: Buffer[] = [];
      const backend = await ScriptedBackend.stepwise(async (connection) => {
        const head = (await connection.readHead()).toString('latin1');
        expect(head.toLowerCase()).toContain(`content-length: ${body.length}`);
        let got = 0;
        while (got < body.length) {
          const n = Math.min(256 * 1024, body.length - got);
          received.push(await connection.readBytes(n, 10_000));
          got += n;
          await delay(40);
        }
        await connection.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      });
      const lb = await start(bodies, backend);
      const client = await RawClient.connect(lb.port);
      await client.write(
        Buffer.concat([Buffer.from(`POST /slow HTTP/1.1\r\nHost: test.local\r\nContent-Length: ${body.length}\r\n\r\n`), body]),
      );
      const res = await client.readResponse({ method: 'POST', timeoutMs: 30_000 });
      expect(res.status, printable(res.raw, 300)).toBe(200);
      expect(sha256(Buffer.concat(received))).toBe(sha256(body));
    });

    it('passes on the bytes a backend sent before closing mid-body, then closes the client', async () => {
      const total = MiB;
      const failAfter = 300_000;
      const backend = await ScriptedBackend.start((request, { index }) =>
        index === 0
          ? { ...streamReply('b', request, { total, framing: 'content-length', failAfter }), close: true, faulted: true }
          : { bytes: buildResponse(200, 'fine', { reason: 'OK' }) },
      );
      const lb = await start(bodies, backend);
      const client = await RawClient.connect(lb.port);
      await client.write('GET /cut-short HTTP/1.1\r\nHost: test.local\r\n\r\n');
      expect(await client.waitForServerClose(10_000)).toBe(true);
      const raw = client.received();
      const got = raw.subarray(raw.indexOf('\r\n\r\n') + 4);
      // Every byte the backend sent, and not one more: the truncation shows against the
      // Content-Length.
      expect(got.length).toBe(failAfter);
      expect(got.equals(patternBytes(failAfter))).toBe(true);
      // The broken connection was not pooled: the next request gets a fresh one, and an answer.
      const again = await RawClient.connect(lb.port);
      await again.write('GET /next HTTP/1.1\r\nHost: test.local\r\n\r\n');
      const res = await again.readResponse({ timeoutMs: 10_000 });
      expect(res.body.toString()).toBe('fine');
      expect(backend.acceptedCount).toBe(2);
    });

    it('closes the backend connection when a client aborts mid-upload, and keeps serving', async () => {
      const backend = await ScriptedBackend.start(echoReply);
      const lb = await start(bodies, backend);
      const client = await RawClient.connect(lb.port);
      await client.write(`POST /abort HTTP/1.1\r\nHost: test.local\r\nContent-Length: ${MiB}\r\n\r\n`);
      await client.write(randomBytes(300_000));
      await waitUntil('body bytes at the backend', () => (backend.connections[0]?.received().length ?? 0) > 200_000, {
        timeoutMs: 10_000,
      });
      client.destroy();
      // The half-sent request can never complete: its backend connection is closed, not pooled.
      expect(await backend.connections[0]!.waitForEnd(10_000)).toBe(true);
      const again = await RawClient.connect(lb.port);
      await again.write('POST /next HTTP/1.1\r\nHost: test.local\r\nContent-Length: 2\r\n\r\nhi');
      const res = await again.readResponse({ method: 'POST', timeoutMs: 10_000 });
      expect(res.body.toString()).toBe('hi');
      expect(backend.acceptedCount).toBe(2);
    });
  });
}

describe('the pipe bound', () => {
  it('copies a large Content-Length body when the worker has no pipe to spare (bodies.maxPipes)', async () => {
    const body = randomBytes(MiB);
    const backend = await ScriptedBackend.start(() => ({ bytes: buildResponse(200, body, { reason: 'OK' }) }));
    const lb = await start({ spliceMinBytes: 65_536, maxPipes: 0 }, backend);
    const client = await RawClient.connect(lb.port);
    await client.write('GET /big HTTP/1.1\r\nHost: test.local\r\n\r\n');
    const res = await client.readResponse({ timeoutMs: 20_000 });
    expect(sha256(res.body)).toBe(sha256(body));
    expect(paths(lb)).toEqual({ copied: 1, spliced: 0, splicedBytes: 0 });
  });
});
