// Large bodies in both directions, Content-Length and chunked, compared by hash.
import { createHash, randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { runCleanups } from '../helpers/cleanup.js';
import { RawClient } from '../helpers/raw-client.js';
import { ScriptedBackend, echoReply } from '../helpers/scripted-backend.js';
import { buildResponse, encodeChunked, header, printable } from '../helpers/http-message.js';
import { startBalancer } from '../helpers/balancer.js';

afterEach(runCleanups);

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const MiB = 1024 * 1024;

describe('request bodies', () => {
  it('forwards a 1.5 MiB Content-Length POST body intact (backend echoes it)', async () => {
    const backend = await ScriptedBackend.start(echoReply);
    const lb = await startBalancer({ backends: [backend.address] });
    const body = randomBytes(1.5 * MiB);
    const client = await RawClient.connect(lb.port);
    await client.write(
      Buffer.concat([
        Buffer.from(`POST /upload HTTP/1.1\r\nHost: test.local\r\nX-Request-Id: cl\r\nContent-Length: ${body.length}\r\n\r\n`),
        body,
      ]),
    );
    const res = await client.readResponse({ timeoutMs: 20_000 });
    expect(res.status, printable(res.raw, 300)).toBe(200);
    expect(header(res, 'x-request-id')).toBe('cl');
    const seen = backend.requests()[0]!;
    expect(seen.body.length).toBe(body.length);
    expect(sha256(seen.body)).toBe(sha256(body));
    expect(res.body.length).toBe(body.length);
    expect(sha256(res.body)).toBe(sha256(body));
  });

  it('forwards a 1.5 MiB chunked POST body intact, sent in uneven pieces (backend echoes it)', async () => {
    const backend = await ScriptedBackend.start(echoReply);
    const lb = await startBalancer({ backends: [backend.address] });
    const body = randomBytes(1.5 * MiB + 12_345);
    // Chunks of varying sizes, including 1-byte ones, written in pieces that split chunk
    // size lines and CRLFs.
    const sizes = [1, 17, 4096, 65_536, 1, 300_000, 9_999];
    const chunks: Buffer[] = [];
    for (let pos = 0, i = 0; pos < body.length; i++) {
      const piece = body.subarray(pos, pos + sizes[i % sizes.length]!);
      chunks.push(Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n'));
      pos += piece.length;
    }
    chunks.push(Buffer.from('0\r\n\r\n'));
    const encoded = Buffer.concat(chunks);
    const head = Buffer.from(
      'POST /upload HTTP/1.1\r\nHost: test.local\r\nX-Request-Id: chunked\r\nTransfer-Encoding: chunked\r\n\r\n',
    );
    const wire = Buffer.concat([head, encoded]);
    const cuts = [head.length - 3, head.length + 2, 70_001, 400_003, 1_000_000, wire.length - 3, wire.length];
    const pieces: Buffer[] = [];
    for (let i = 0, from = 0; i < cuts.length; i++) {
      pieces.push(wire.subarray(from, cuts[i]));
      from = cuts[i]!;
    }
    const client = await RawClient.connect(lb.port);
    await client.writePieces(pieces, 10);
    const res = await client.readResponse({ timeoutMs: 20_000 });
    expect(res.status, printable(res.raw, 300)).toBe(200);
    const seen = backend.requests()[0]!;
    expect(seen.body.length).toBe(body.length);
    expect(sha256(seen.body)).toBe(sha256(body));
    expect(sha256(res.body)).toBe(sha256(body));
    expect(backend.requests().length).toBe(1);
  });

  it('keeps the connection usable after a large body: the next request gets its own response', async () => {
    const backend = await ScriptedBackend.start(echoReply);
    const lb = await startBalancer({ backends: [backend.address] });
    const client = await RawClient.connect(lb.port);
    const body = randomBytes(MiB + 1);
    await client.write(
      Buffer.concat([
        Buffer.from(`PUT /a HTTP/1.1\r\nHost: test.local\r\nX-Request-Id: big\r\nContent-Length: ${body.length}\r\n\r\n`),
        body,
        Buffer.from('POST /b HTTP/1.1\r\nHost: test.local\r\nX-Request-Id: small\r\nContent-Length: 5\r\n\r\nhello'),
      ]),
    );
    const [big, small] = await client.readResponses(['PUT', 'POST'], 20_000);
    expect(sha256(big!.body)).toBe(sha256(body));
    expect(header(small!, 'x-request-id')).toBe('small');
    expect(small!.body.toString()).toBe('hello');
  });
});

describe('response bodies', () => {
  for (const framing of ['content-length', 'chunked'] as const) {
    it(`delivers a 1.5 MiB ${framing} response body intact`, async () => {
      const body = randomBytes(1.5 * MiB + 7);
      const wire = buildResponse(200, body, { framing, chunkSize: 50_000, headers: { 'X-Sha256': sha256(body) } });
      const headEnd = wire.indexOf('\r\n\r\n') + 4;
      const backend = await ScriptedBackend.start(() => ({
        // Written in a few pieces so the proxy sees partial bodies (the head stays whole
        // here; split heads have their own test in keep-alive.test.ts).
        pieces: [wire.subarray(0, headEnd + 100), wire.subarray(headEnd + 100, 600_000), wire.subarray(600_000)],
        pauseMs: 10,
      }));
      const lb = await startBalancer({ backends: [backend.address] });
      const client = await RawClient.connect(lb.port);
      for (let round = 0; round < 2; round++) {
        await client.write(`GET /big/${round} HTTP/1.1\r\nHost: test.local\r\n\r\n`);
        const res = await client.readResponse({ timeoutMs: 20_000 });
        expect(res.status, printable(res.raw, 300)).toBe(200);
        expect(header(res, 'x-sha256')).toBe(sha256(body));
        expect(res.body.length).toBe(body.length);
        expect(sha256(res.body)).toBe(sha256(body));
        expect(client.unread().length).toBe(0);
      }
    });
  }

  it('relays a chunked response with trailers-free last chunk split across writes', async () => {
    const body = Buffer.from('abcdefghij'.repeat(1000));
    const encoded = encodeChunked(body, 333);
    const head = Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n');
    const backend = await ScriptedBackend.start(() => ({
      // Split inside the last-chunk "0\r\n\r\n".
      pieces: [head, encoded.subarray(0, encoded.length - 3), encoded.subarray(encoded.length - 3)],
      pauseMs: 30,
    }));
    const lb = await startBalancer({ backends: [backend.address] });
    const client = await RawClient.connect(lb.port);
    for (let i = 0; i < 2; i++) {
      await client.write('GET /c HTTP/1.1\r\nHost: test.local\r\n\r\n');
      const res = await client.readResponse();
      expect(res.body.equals(body), printable(client.received(), 300)).toBe(true);
    }
  });
});
