// h2-tiny-data-frames (issue 19): every client DATA frame became its own HTTP/1.1 chunk
// and its own write to the backend, so a client sending a body as many 1-byte frames made
// the balancer do a backend write and a chunk per frame. The DATA frames read together
// from the client's socket now go to the backend as one chunk (one write).
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';

import { startBalancer } from '../helpers/balancer.js';
import { onCleanup, runCleanups } from '../helpers/cleanup.js';
import { Flags, FrameReader, FrameType, connectH2c, frame, headerBlock, requestFields } from '../helpers/h2-frames.js';
import { listenOnLoopback } from '../helpers/loopback-server.js';
import { waitUntil } from '../helpers/wait.js';

afterEach(async () => {
  await runCleanups();
});

const FRAMES = 500;

interface RecordedRequest {
  head: string;
  /** The body as the backend received it on the wire (chunk framing included). */
  wire: Buffer;
  /** The body's bytes, framing removed. */
  body: Buffer;
  /** Chunks with data (the last-chunk not counted); 0 for a content-length body. */
  chunks: number;
}

/** Decodes a complete chunked body (no trailers expected); undefined while incomplete. */
function decodeChunked(wire: Buffer): { body: Buffer; chunks: number } | undefined {
  const parts: Buffer[] = [];
  let at = 0;
  let chunks = 0;
  for (;;) {
    const lineEnd = wire.indexOf('\r\n', at, 'latin1');
    if (lineEnd < 0) return undefined;
    const sizeLine = wire.subarray(at, lineEnd).toString('latin1');
    if (!/^[0-9a-f]+$/i.test(sizeLine)) throw new Error(`bad chunk-size line ${JSON.stringify(sizeLine)}`);
    const size = parseInt(sizeLine, 16);
    at = lineEnd + 2;
    if (size === 0) {
      if (wire.length < at + 2) return undefined;
      if (wire.subarray(at, at + 2).toString('latin1') !== '\r\n') throw new Error('trailers or bad last-chunk');
      return { body: Buffer.concat(parts), chunks };
    }
    if (wire.length < at + size + 2) return undefined;
    parts.push(wire.subarray(at, at + size));
    if (wire.subarray(at + size, at + size + 2).toString('latin1') !== '\r\n') throw new Error('chunk without CRLF');
    at += size + 2;
    chunks += 1;
  }
}

/** A raw HTTP/1.1 backend: records each request's head and body bytes, answers 200 "ok" once the body is in. */
async function startRecordingBackend(): Promise<{ port: number; heads: string[]; requests: RecordedRequest[] }> {
  const heads: string[] = [];
  const requests: RecordedRequest[] = [];
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    let pending = Buffer.alloc(0);
    let head: string | undefined;
    socket.on('data', (data: Buffer) => {
      pending = Buffer.concat([pending, data]);
      if (head === undefined) {
        const end = pending.indexOf('\r\n\r\n', 0, 'latin1');
        if (end < 0) return;
        head = pending.subarray(0, end + 4).toString('latin1');
        heads.push(head);
        pending = pending.subarray(end + 4);
      }
      const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
      let done: RecordedRequest | undefined;
      if (length) {
        if (pending.length >= Number(length[1])) done = { head, wire: pending, body: pending, chunks: 0 };
      } else if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
        const decoded = decodeChunked(pending);
        if (decoded) done = { head, wire: pending, ...decoded };
      } else {
        done = { head, wire: pending, body: pending, chunks: 0 };
      }
      if (!done) return;
      requests.push(done);
      head = undefined;
      pending = Buffer.alloc(0);
      socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
    });
  });
  return { port: await listenOnLoopback(server), heads, requests };
}

/** A client's body as `FRAMES` DATA frames of one byte each, END_STREAM on an empty last one. */
function tinyDataFrames(streamId: number, body: Buffer): Buffer {
  const frames: Buffer[] = [];
  for (const byte of body) frames.push(frame(FrameType.data, 0, streamId, Buffer.from([byte])));
  frames.push(frame(FrameType.data, Flags.endStream, streamId));
  return Buffer.concat(frames);
}

function responseEnded(reader: FrameReader, streamId: number): boolean {
  return reader.frames.some(
    (f) =>
      f.streamId === streamId && (f.type === FrameType.data || f.type === FrameType.headers) && (f.flags & Flags.endStream) !== 0,
  );
}

function responseBody(reader: FrameReader, streamId: number): string {
  return Buffer.concat(
    reader.frames.filter((f) => f.streamId === streamId && f.type === FrameType.data).map((f) => f.payload),
  ).toString('latin1');
}

describe('h2-tiny-data-frames: DATA frames read together reach the backend together', () => {
  async function setUp() {
    const backend = await startRecordingBackend();
    const lb = await startBalancer({ backends: [`127.0.0.1:${backend.port}`], http2c: true, workers: 1 });
    const socket = await connectH2c(lb.port);
    onCleanup(() => socket.destroy());
    socket.on('error', () => {});
    const reader = new FrameReader(socket);
    return { backend, lb, socket, reader, authority: `127.0.0.1:${lb.port}` };
  }

  // Bytes 0..FRAMES-1 as distinct-enough values, so a lost or reordered byte shows.
  const body = Buffer.from(Array.from({ length: FRAMES }, (_, i) => 0x20 + (i % 90)));

  it('a body without content-length in 500 one-byte DATA frames goes to the backend in a few chunks, whole', async () => {
    const { backend, socket, reader, authority } = await setUp();
    const fields = requestFields(authority, '/upload', 'POST', 'http');
    socket.write(frame(FrameType.headers, Flags.endHeaders, 1, headerBlock(fields)));
    // The backend has the head: the stream is exchanging when the frames come.
    await waitUntil('the request head at the backend', () => backend.heads.length === 1);
    expect(backend.heads[0]).toMatch(/\r\ntransfer-encoding: chunked\r\n/i);
    socket.write(tinyDataFrames(1, body)); // one write: one read on the balancer's side
    await waitUntil('the body at the backend', () => backend.requests.length === 1);
    const received = backend.requests[0]!;
    expect(received.body.equals(body)).toBe(true);
    // One chunk per read of the client's socket; 500 (one per frame) before the fix.
    expect(received.chunks).toBeGreaterThanOrEqual(1);
    expect(received.chunks).toBeLessThanOrEqual(10);
    await waitUntil('the response at the client', () => responseEnded(reader, 1));
    expect(responseBody(reader, 1)).toBe('ok');
  });

  it('the head and the tiny frames in one write: still a few chunks, whole', async () => {
    const { backend, socket, reader, authority } = await setUp();
    const fields = requestFields(authority, '/upload-at-once', 'POST', 'http');
    // The frames come before the backend connection is up (the stream is connecting).
    socket.write(Buffer.concat([frame(FrameType.headers, Flags.endHeaders, 1, headerBlock(fields)), tinyDataFrames(1, body)]));
    await waitUntil('the body at the backend', () => backend.requests.length === 1);
    const received = backend.requests[0]!;
    expect(received.head).toMatch(/\r\ntransfer-encoding: chunked\r\n/i);
    expect(received.body.equals(body)).toBe(true);
    expect(received.chunks).toBeGreaterThanOrEqual(1);
    expect(received.chunks).toBeLessThanOrEqual(10);
    await waitUntil('the response at the client', () => responseEnded(reader, 1));
    expect(responseBody(reader, 1)).toBe('ok');
  });

  it('a body with content-length in 500 one-byte DATA frames arrives whole, unframed', async () => {
    const { backend, socket, reader, authority } = await setUp();
    const fields: [string, string][] = [
      ...requestFields(authority, '/sized', 'POST', 'http'),
      ['content-length', String(FRAMES)],
    ];
    socket.write(frame(FrameType.headers, Flags.endHeaders, 1, headerBlock(fields)));
    await waitUntil('the request head at the backend', () => backend.heads.length === 1);
    expect(backend.heads[0]).toMatch(new RegExp(`\\r\\ncontent-length: ${FRAMES}\\r\\n`, 'i'));
    expect(backend.heads[0]).not.toMatch(/transfer-encoding/i);
    socket.write(tinyDataFrames(1, body));
    await waitUntil('the body at the backend', () => backend.requests.length === 1);
    expect(backend.requests[0]!.wire.equals(body)).toBe(true);
    await waitUntil('the response at the client', () => responseEnded(reader, 1));
    expect(responseBody(reader, 1)).toBe('ok');
  });

  it('two streams in one batch of tiny frames each get their own body, whole', async () => {
    const { backend, socket, reader, authority } = await setUp();
    socket.write(
      Buffer.concat([
        frame(FrameType.headers, Flags.endHeaders, 1, headerBlock(requestFields(authority, '/one', 'POST', 'http'))),
        frame(FrameType.headers, Flags.endHeaders, 3, headerBlock(requestFields(authority, '/two', 'POST', 'http'))),
      ]),
    );
    await waitUntil('both request heads at the backend', () => backend.heads.length === 2);
    const other = Buffer.from(body).reverse();
    // Interleaved: one byte of stream 1, one of stream 3, ...
    const interleaved: Buffer[] = [];
    for (let i = 0; i < FRAMES; i += 1) {
      interleaved.push(frame(FrameType.data, 0, 1, body.subarray(i, i + 1)));
      interleaved.push(frame(FrameType.data, 0, 3, other.subarray(i, i + 1)));
    }
    interleaved.push(frame(FrameType.data, Flags.endStream, 1), frame(FrameType.data, Flags.endStream, 3));
    socket.write(Buffer.concat(interleaved));
    await waitUntil('both bodies at the backend', () => backend.requests.length === 2);
    const byPath = new Map(backend.requests.map((r) => [r.head.split(' ')[1], r]));
    expect(byPath.get('/one')!.body.equals(body)).toBe(true);
    expect(byPath.get('/two')!.body.equals(other)).toBe(true);
    for (const r of backend.requests) expect(r.chunks).toBeLessThanOrEqual(10);
    await waitUntil('both responses at the client', () => responseEnded(reader, 1) && responseEnded(reader, 3));
    expect(responseBody(reader, 1)).toBe('ok');
    expect(responseBody(reader, 3)).toBe('ok');
  });
});
