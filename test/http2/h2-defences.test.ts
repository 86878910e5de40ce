// More HTTP/2 defences through the listener, with raw frames (test/helpers/h2-frames.ts):
// header list size and the HPACK bomb, empty-DATA, WINDOW_UPDATE and PRIORITY floods, the
// zero-window stall, stream id exhaustion; 100-continue relayed; and the `http2Limits`
// options taking effect. Each defence fires while another client is still served.
import http2 from 'node:http2';
import { afterEach, describe, expect, it } from 'vitest';

import { renderPrometheus } from '../../src/admin/prometheus.js';
import { startBalancer, type BalancerConfig } from '../helpers/balancer.js';
import { runCleanups } from '../helpers/cleanup.js';
import {
  ErrorCode,
  Flags,
  FrameReader,
  FrameType,
  connectH2Tls,
  frame,
  goawayCode,
  headerBlock,
  indexedField,
  indexedLiteral,
  requestFields,
  rstStream,
  settingsFrame,
  type ParsedFrame,
} from '../helpers/h2-frames.js';
import { useTlsFixtures } from '../helpers/use-tls-fixtures.js';
import { waitUntil } from '../helpers/wait.js';
import { startH2Backend } from './h2-backend.js';

const fixtures = useTlsFixtures();

afterEach(async () => {
  await runCleanups();
});

const SETTINGS_INITIAL_WINDOW_SIZE = 0x4;
const REFUSED_STREAM = 0x7;

async function startTlsBalancer(extra: Partial<BalancerConfig> = {}) {
  const backend = await startH2Backend();
  const lb = await startBalancer({
    backends: [`127.0.0.1:${backend.port}`],
    tls: { certificates: [{ cert: fixtures.ecdsa.chainFile, key: fixtures.ecdsa.keyFile }] },
    ...extra,
  });
  return { backend, lb };
}

function connectClient(port: number): http2.ClientHttp2Session {
  const session = http2.connect(`https://localhost:${port}`, { ca: fixtures.ca.certPem, servername: 'localhost' });
  session.on('error', () => {});
  return session;
}

interface Answer {
  status: number;
  body: Buffer;
  interim: number[];
  rstCode: number | undefined;
}

/** One request on `session`; `body` is written only after a 100 Continue when `waitForContinue`. */
function request(
  session: http2.ClientHttp2Session,
  headers: http2.OutgoingHttpHeaders,
  body?: Buffer,
  waitForContinue = false,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const stream = session.request(headers, { endStream: body === undefined });
    const interim: number[] = [];
    const chunks: Buffer[] = [];
    let status = 0;
    stream.on('headers', (h) => interim.push(Number(h[':status'])));
    stream.on('continue', () => {
      if (waitForContinue && body) stream.end(body);
    });
    if (body && !waitForContinue) stream.end(body);
    stream.on('response', (h) => (status = Number(h[':status'])));
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    let ended = false;
    stream.on('end', () => (ended = true));
    // Resolved once the stream is closed: by END_STREAM both ways, or by the server's
    // RST_STREAM NO_ERROR after a complete response (rstCode 0).
    stream.on('close', () => {
      if (ended) resolve({ status, body: Buffer.concat(chunks), interim, rstCode: stream.rstCode });
      else reject(new Error(`stream closed before its response ended (rstCode ${stream.rstCode})`));
    });
    stream.on('error', reject);
  });
}

/** A well-behaved client's request on its own connection: the balancer still serves. */
async function bystanderServed(port: number, id: string): Promise<void> {
  const session = connectClient(port);
  try {
    const answer = await request(session, { ':path': '/bystander', 'x-test-id': id });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body.toString()).id).toBe(id);
  } finally {
    session.close();
  }
}

function headersFrame(streamId: number, block: Buffer, endStream = true): Buffer {
  return frame(FrameType.headers, Flags.endHeaders | (endStream ? Flags.endStream : 0), streamId, block);
}

function windowUpdate(streamId: number, increment: number): Buffer {
  const payload = Buffer.alloc(4);
  payload.writeUInt32BE(increment);
  return frame(FrameType.windowUpdate, 0, streamId, payload);
}

function resets(reader: FrameReader): ParsedFrame[] {
  return reader.frames.filter((f) => f.type === FrameType.rstStream);
}

/** Sends `flood` on a fresh attacker connection; expects GOAWAY ENHANCE_YOUR_CALM from `defence`. */
async function expectFloodEnded(
  lb: Awaited<ReturnType<typeof startTlsBalancer>>['lb'],
  defence: string,
  flood: (authority: string) => Buffer,
): Promise<void> {
  const socket = await connectH2Tls(lb.port, fixtures.ca.certPem);
  const reader = new FrameReader(socket);
  socket.write(flood(`localhost:${lb.port}`));
  await waitUntil('a GOAWAY', () => reader.goaway() !== undefined, { timeoutMs: 5_000 });
  expect(goawayCode(reader.goaway()!)).toBe(ErrorCode.enhanceYourCalm);
  await bystanderServed(lb.port, `after-${defence}`);
  await waitUntil('the attacker is disconnected', () => reader.closed, { timeoutMs: 5_000 });
  socket.destroy();
  await waitUntil(`${defence} counted`, () => lb.stats().http2?.connectionsEndedBy[defence] === 1);
  expect(renderPrometheus(lb.stats())).toContain(`lb_h2_connections_ended_total{defence="${defence}"} 1`);
}

describe('HTTP/2 defences through the listener (more)', () => {
  it('a header list over maxHeaderListBytes is answered 431 and counted; the connection goes on', async () => {
    const { lb, backend } = await startTlsBalancer();
    const session = connectClient(lb.port);
    const big: http2.OutgoingHttpHeaders = { ':path': '/too-big', 'x-test-id': 'too-big' };
    for (let i = 0; i < 20; i++) big[`x-filler-${i}`] = 'v'.repeat(1000);
    const refused = await request(session, big);
    expect(refused.status).toBe(431);
    expect(backend.seen.has('too-big')).toBe(false);
    // The same connection still carries a normal request.
    const ok = await request(session, { ':path': '/fine', 'x-test-id': 'after-431' });
    expect(ok.status).toBe(200);
    session.close();
    await waitUntil('the 431 counted', () => lb.stats().http2?.headerListTooLarge === 1);
    expect(renderPrometheus(lb.stats())).toContain('lb_h2_header_list_too_large_total 1');
  }, 20_000);

  it('HPACK bomb: one 4 KB table entry referenced 60 times per request is refused without reaching the backend', async () => {
    const { lb, backend } = await startTlsBalancer();
    const socket = await connectH2Tls(lb.port, fixtures.ca.certPem);
    const reader = new FrameReader(socket);
    const authority = `localhost:${lb.port}`;
    const references = Buffer.concat(Array.from({ length: 60 }, () => indexedField(62)));
    // The first block puts the entry in the table; every block then decodes to ~240 KB
    // from ~100 bytes on the wire.
    const bombs: Buffer[] = [];
    for (let i = 0; i < 20; i++) {
      const fields = headerBlock([...requestFields(authority, '/bomb'), ['x-test-id', `bomb-${i}`]]);
      const block =
        i === 0
          ? Buffer.concat([fields, indexedLiteral('x-bomb', 'b'.repeat(4000)), references])
          : Buffer.concat([fields, references]);
      bombs.push(headersFrame(1 + 2 * i, block));
    }
    socket.write(Buffer.concat(bombs));
    const answered = () =>
      new Set(reader.frames.filter((f) => f.type === FrameType.headers && f.streamId <= 39).map((f) => f.streamId));
    await waitUntil('every bomb answered', () => answered().size === 20, { timeoutMs: 5_000 });
    expect(resets(reader)).toEqual([]);
    expect(reader.goaway()).toBeUndefined();
    expect([...backend.seen.keys()].filter((id) => id.startsWith('bomb-'))).toEqual([]);
    // The connection is still good for a plain request.
    socket.write(headersFrame(41, headerBlock([...requestFields(authority, '/plain'), ['x-test-id', 'after-bomb']])));
    await waitUntil('the plain request reaches the backend', () => backend.seen.has('after-bomb'));
    await bystanderServed(lb.port, 'beside-the-bomb');
    socket.destroy();
    await waitUntil('the bombs counted', () => lb.stats().http2?.headerListTooLarge === 20);
    expect(lb.stats().http2?.connectionsEndedBy.memory_budget ?? 0).toBe(0);
  }, 20_000);

  it('empty-DATA flood: DATA frames without payload past the budget get GOAWAY ENHANCE_YOUR_CALM', async () => {
    const { lb } = await startTlsBalancer();
    await expectFloodEnded(lb, 'empty_data_flood', (authority) =>
      Buffer.concat([
        headersFrame(1, headerBlock([...requestFields(authority, '/upload', 'POST'), ['x-test-id', 'empty-data']]), false),
        ...Array.from({ length: 300 }, () => frame(FrameType.data, 0, 1)),
      ]),
    );
  }, 20_000);

  it('WINDOW_UPDATE flood: past the budget, GOAWAY ENHANCE_YOUR_CALM', async () => {
    const { lb } = await startTlsBalancer();
    await expectFloodEnded(lb, 'window_update_flood', () =>
      Buffer.concat(Array.from({ length: 3000 }, () => windowUpdate(0, 1))),
    );
  }, 20_000);

  it('PRIORITY flood: past the budget, GOAWAY ENHANCE_YOUR_CALM', async () => {
    const { lb } = await startTlsBalancer();
    // Stream 3 depends on stream 0, weight 16: harmless one by one, a flood in bulk.
    const priority = Buffer.from([0, 0, 0, 0, 15]);
    await expectFloodEnded(lb, 'priority_flood', () =>
      Buffer.concat(Array.from({ length: 2000 }, () => frame(FrameType.priority, 0, 3, priority))),
    );
  }, 20_000);

  it('zero-window stall: a client that never opens its window has the stream reset after stallTimeoutMs, and the backend connection is freed', async () => {
    const { lb, backend } = await startTlsBalancer({ http2Limits: { stallTimeoutMs: 1_000 } });
    const socket = await connectH2Tls(lb.port, fixtures.ca.certPem);
    const reader = new FrameReader(socket);
    const authority = `localhost:${lb.port}`;
    socket.write(
      Buffer.concat([
        settingsFrame([[SETTINGS_INITIAL_WINDOW_SIZE, 0]]),
        headersFrame(1, headerBlock([...requestFields(authority, '/endless'), ['x-test-id', 'stall']])),
      ]),
    );
    await waitUntil('the response head', () => reader.frames.some((f) => f.type === FrameType.headers && f.streamId === 1));
    // No window, no DATA: the stream is reset once its bytes have waited a second (checked
    // each second), and the endless backend response is cut.
    await waitUntil('the stalled stream reset', () => resets(reader).some((f) => f.streamId === 1), { timeoutMs: 6_000 });
    const reset = resets(reader).find((f) => f.streamId === 1)!;
    expect(reset.payload.readUInt32BE(0)).toBe(ErrorCode.cancel);
    expect(reader.frames.some((f) => f.type === FrameType.data && f.streamId === 1 && f.payload.length > 0)).toBe(false);
    await waitUntil('the backend connection closed', () => backend.cut.has('stall'), { timeoutMs: 5_000 });
    await bystanderServed(lb.port, 'beside-the-stall');
    await waitUntil('the stall counted', () => lb.stats().http2?.stalledStreamsReset === 1);
    expect(renderPrometheus(lb.stats())).toContain('lb_h2_stream_resets_total{reason="stalled"} 1');
    // Only the stream went: the connection itself is still open.
    expect(reader.closed).toBe(false);
    socket.destroy();
  }, 20_000);

  it('zero-window stall: a reader that keeps opening its window, however slowly, is not reset; once it stops, it is', async () => {
    const { lb, backend } = await startTlsBalancer({ http2Limits: { stallTimeoutMs: 1_000 } });
    const socket = await connectH2Tls(lb.port, fixtures.ca.certPem);
    const reader = new FrameReader(socket);
    const authority = `localhost:${lb.port}`;
    socket.write(
      Buffer.concat([
        settingsFrame([[SETTINGS_INITIAL_WINDOW_SIZE, 0]]),
        headersFrame(1, headerBlock([...requestFields(authority, '/endless'), ['x-test-id', 'trickle']])),
      ]),
    );
    const received = () =>
      reader.frames.filter((f) => f.type === FrameType.data && f.streamId === 1).reduce((n, f) => n + f.payload.length, 0);
    // 4 KiB every 300 ms for 3.6 s: more than three stall timeouts in all, never one without progress.
    for (let i = 0; i < 12; i++) {
      socket.write(Buffer.concat([windowUpdate(1, 4096), windowUpdate(0, 4096)]));
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    expect(resets(reader)).toEqual([]);
    await waitUntil('every credit used', () => received() === 12 * 4096);
    expect(backend.cut.has('trickle')).toBe(false);
    // The reader stops: within the timeout and a tick, the stream is reset.
    await waitUntil('the stalled stream reset', () => resets(reader).some((f) => f.streamId === 1), { timeoutMs: 6_000 });
    expect(resets(reader)[0]!.payload.readUInt32BE(0)).toBe(ErrorCode.cancel);
    await waitUntil('the backend connection closed', () => backend.cut.has('trickle'), { timeoutMs: 5_000 });
    expect(lb.stats().http2?.stalledStreamsReset).toBe(1);
    socket.destroy();
  }, 20_000);

  it('zero-window stall on the connection window: a client that never returns connection credit is reset too', async () => {
    const { lb, backend } = await startTlsBalancer({ http2Limits: { stallTimeoutMs: 1_000 } });
    const socket = await connectH2Tls(lb.port, fixtures.ca.certPem);
    const reader = new FrameReader(socket);
    const authority = `localhost:${lb.port}`;
    // Stream windows as large as they go; the connection's stays at its first 65,535 bytes.
    socket.write(
      Buffer.concat([
        settingsFrame([[SETTINGS_INITIAL_WINDOW_SIZE, 0x7fffffff]]),
        headersFrame(1, headerBlock([...requestFields(authority, '/endless'), ['x-test-id', 'connection-stall']])),
      ]),
    );
    const received = () =>
      reader.frames.filter((f) => f.type === FrameType.data && f.streamId === 1).reduce((n, f) => n + f.payload.length, 0);
    await waitUntil('the connection window used up', () => received() === 65_535);
    await waitUntil('the stalled stream reset', () => resets(reader).some((f) => f.streamId === 1), { timeoutMs: 6_000 });
    expect(resets(reader)[0]!.payload.readUInt32BE(0)).toBe(ErrorCode.cancel);
    await waitUntil('the backend connection closed', () => backend.cut.has('connection-stall'), { timeoutMs: 5_000 });
    await bystanderServed(lb.port, 'beside-the-connection-stall');
    expect(lb.stats().http2?.stalledStreamsReset).toBe(1);
    socket.destroy();
  }, 20_000);

  it('stream id exhaustion: after stream 2^31-1 the client has no id left; a lower one is never served', async () => {
    const { lb, backend } = await startTlsBalancer();
    const socket = await connectH2Tls(lb.port, fixtures.ca.certPem);
    const reader = new FrameReader(socket);
    const authority = `localhost:${lb.port}`;
    const lastId = 0x7fffffff;
    socket.write(headersFrame(lastId, headerBlock([...requestFields(authority, '/last'), ['x-test-id', 'last-id']])));
    await waitUntil('the last stream answered', () =>
      reader.frames.some((f) => f.type === FrameType.headers && f.streamId === lastId),
    );
    socket.write(headersFrame(1, headerBlock([...requestFields(authority, '/reused'), ['x-test-id', 'reused-id']])));
    // nghttp2 takes a HEADERS below the last id for one on a closed stream: ignored, never
    // served. A PING sent after it is answered, so the HEADERS was read by then.
    socket.write(frame(FrameType.ping, 0, 0, Buffer.alloc(8)));
    await waitUntil('the PING answered', () => reader.frames.some((f) => f.type === FrameType.ping));
    expect(reader.frames.some((f) => f.type === FrameType.headers && f.streamId === 1)).toBe(false);
    expect(backend.seen.has('reused-id')).toBe(false);
    expect(backend.seen.has('last-id')).toBe(true);
    await waitUntil('no stream left open', () => lb.stats().http2?.streamsActive === 0);
    await bystanderServed(lb.port, 'after-exhaustion');
    socket.destroy();
  }, 20_000);
});

describe('100-continue over HTTP/2', () => {
  it('the backend 100 Continue is relayed; the body sent after it reaches the backend whole', async () => {
    const { lb, backend } = await startTlsBalancer();
    const session = connectClient(lb.port);
    const body = Buffer.alloc(100_000, 0x62);
    const answer = await request(
      session,
      { ':method': 'POST', ':path': '/upload', expect: '100-continue', 'content-length': body.length, 'x-test-id': 'continue' },
      body,
      true,
    );
    session.close();
    expect(answer.interim).toContain(100);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body.toString())).toMatchObject({ id: 'continue', size: body.length });
    expect(backend.seen.get('continue')?.headers.expect).toBe('100-continue');
  }, 20_000);

  it('a backend that answers at once without 100 Continue: the final answer is relayed and no body is needed', async () => {
    const { lb, backend } = await startTlsBalancer();
    const session = connectClient(lb.port);
    const answer = await request(
      session,
      { ':method': 'POST', ':path': '/refuse-body', expect: '100-continue', 'content-length': 50_000, 'x-test-id': 'refused' },
      Buffer.alloc(50_000),
      true,
    );
    expect(answer.interim).not.toContain(100);
    expect(answer.status).toBe(413);
    expect(answer.body.toString()).toBe('too large');
    // The server ended the stream (RST_STREAM NO_ERROR, RFC 9113 §8.1): the client need
    // not send the body it was holding back, and no slot stays taken.
    expect(answer.rstCode).toBe(http2.constants.NGHTTP2_NO_ERROR);
    expect(backend.seen.has('refused')).toBe(true);
    await waitUntil('no stream left open', () => lb.stats().http2?.streamsActive === 0);
    // The connection goes on.
    expect((await request(session, { ':path': '/next', 'x-test-id': 'after-417' })).status).toBe(200);
    session.close();
  }, 20_000);
});

describe('a complete response before the request ends', () => {
  it('regression: the stream is closed with RST_STREAM NO_ERROR instead of staying open for the rest of the request', async () => {
    const { lb, backend } = await startTlsBalancer({ http2Limits: { maxConcurrentStreams: 2 } });
    const socket = await connectH2Tls(lb.port, fixtures.ca.certPem);
    const reader = new FrameReader(socket);
    const authority = `localhost:${lb.port}`;
    // Three requests in turn that announce a body and never send it; the backend answers
    // each at once. Were answered streams left open, the third would be refused.
    for (const [i, id] of [1, 3, 5].entries()) {
      const fields: [string, string][] = [
        ...requestFields(authority, '/refuse-body', 'POST'),
        ['expect', '100-continue'],
        ['content-length', '5000'],
        ['x-test-id', `early-${i}`],
      ];
      socket.write(headersFrame(id, headerBlock(fields), false));
      await waitUntil(`stream ${id} reset`, () => resets(reader).some((f) => f.streamId === id));
      const reset = resets(reader).find((f) => f.streamId === id)!;
      expect(reset.payload.readUInt32BE(0)).toBe(ErrorCode.noError);
      // The whole response (END_STREAM) went out before the reset.
      const endIndex = reader.frames.findIndex((f) => f.streamId === id && (f.flags & Flags.endStream) !== 0);
      expect(endIndex).toBeGreaterThanOrEqual(0);
      expect(endIndex).toBeLessThan(reader.frames.indexOf(reset));
    }
    expect(resets(reader).every((f) => f.payload.readUInt32BE(0) === ErrorCode.noError)).toBe(true);
    expect([0, 1, 2].every((i) => backend.seen.has(`early-${i}`))).toBe(true);
    await waitUntil('no stream left open', () => lb.stats().http2?.streamsActive === 0);
    expect(lb.stats().http2?.refusedStreams).toBe(0);
    socket.destroy();
  }, 20_000);
});

describe('http2Limits', () => {
  it('maxConcurrentStreams: 5 refuses the 6th stream and answers the five', async () => {
    const { lb, backend } = await startTlsBalancer({ http2Limits: { maxConcurrentStreams: 5 } });
    const socket = await connectH2Tls(lb.port, fixtures.ca.certPem);
    const reader = new FrameReader(socket);
    const authority = `localhost:${lb.port}`;
    const opens: Buffer[] = [];
    for (let i = 0; i < 6; i++) {
      opens.push(headersFrame(1 + 2 * i, headerBlock([...requestFields(authority, '/slow'), ['x-test-id', `five-${i}`]])));
    }
    socket.write(Buffer.concat(opens));
    await waitUntil('a refused stream', () => resets(reader).some((f) => f.payload.readUInt32BE(0) === REFUSED_STREAM));
    expect(resets(reader).map((f) => f.streamId)).toEqual([11]);
    await waitUntil('the five completed', () => [0, 1, 2, 3, 4].every((i) => backend.completed.has(`five-${i}`)), {
      timeoutMs: 10_000,
    });
    expect(backend.seen.has('five-5')).toBe(false);
    await waitUntil('the refusal counted', () => lb.stats().http2?.refusedStreams === 1);
    socket.destroy();
  }, 20_000);

  it('a reload applies new limits to new connections; open ones keep theirs and are not interrupted', async () => {
    const backend = await startH2Backend();
    const tlsOptions = { certificates: [{ cert: fixtures.ecdsa.chainFile, key: fixtures.ecdsa.keyFile }] };
    const lb = await startBalancer({
      backends: [`127.0.0.1:${backend.port}`],
      tls: tlsOptions,
      http2Limits: { maxConcurrentStreams: 5 },
    });
    const authority = `localhost:${lb.port}`;
    const openThree = (socket: Awaited<ReturnType<typeof connectH2Tls>>, tag: string) =>
      socket.write(
        Buffer.concat(
          [1, 3, 5].map((id) =>
            headersFrame(id, headerBlock([...requestFields(authority, '/slow'), ['x-test-id', `${tag}-${id}`]])),
          ),
        ),
      );
    const before = await connectH2Tls(lb.port, fixtures.ca.certPem);
    const beforeReader = new FrameReader(before);
    await waitUntil('the first SETTINGS', () => beforeReader.frames.some((f) => f.type === FrameType.settings));
    await lb.reconfigure({
      listen: lb.config.listeners[0]!.listen.text,
      backends: [`127.0.0.1:${backend.port}`],
      tls: tlsOptions,
      http2Limits: { maxConcurrentStreams: 2 },
    });
    const after = await connectH2Tls(lb.port, fixtures.ca.certPem);
    const afterReader = new FrameReader(after);
    openThree(before, 'before');
    openThree(after, 'after');
    await waitUntil('the new connection refuses its third stream', () => resets(afterReader).length === 1);
    expect(resets(afterReader)[0]!.streamId).toBe(5);
    expect(resets(afterReader)[0]!.payload.readUInt32BE(0)).toBe(REFUSED_STREAM);
    await waitUntil(
      'the old connection completes its three',
      () => [1, 3, 5].every((id) => backend.completed.has(`before-${id}`)),
      { timeoutMs: 10_000 },
    );
    expect(resets(beforeReader)).toEqual([]);
    expect(beforeReader.goaway()).toBeUndefined();
    before.destroy();
    after.destroy();
  }, 20_000);

  it('a lowered rapid-reset budget: 30 opened-and-reset streams end a connection with streamResetBurst 10, not one with the default', async () => {
    const openAndReset = (authority: string) =>
      Buffer.concat(
        Array.from({ length: 30 }, (_, i) => [
          headersFrame(1 + 2 * i, headerBlock(requestFields(authority, `/r${i}`))),
          rstStream(1 + 2 * i, ErrorCode.cancel),
        ]).flat(),
      );
    const strict = await startTlsBalancer({ http2Limits: { streamResetBurst: 10, streamResetsPerSecond: 1 } });
    await expectFloodEnded(strict.lb, 'rapid_reset', openAndReset);

    const { lb } = await startTlsBalancer();
    const socket = await connectH2Tls(lb.port, fixtures.ca.certPem);
    const reader = new FrameReader(socket);
    socket.write(openAndReset(`localhost:${lb.port}`));
    // A PING after the resets: once it is answered, all 30 were read, and no GOAWAY came.
    socket.write(frame(FrameType.ping, 0, 0, Buffer.alloc(8)));
    await waitUntil('the PING answered', () => reader.frames.some((f) => f.type === FrameType.ping));
    expect(reader.goaway()).toBeUndefined();
    expect(lb.stats().http2?.connectionsEndedBy.rapid_reset ?? 0).toBe(0);
    socket.destroy();
  }, 20_000);

  it('a raised budget lets through what the default refuses (50 PINGs at once with pingBurst 100)', async () => {
    // 50, not more: nghttp2 also caps the ACKs queued unwritten at 64 (library_flood).
    const { lb } = await startTlsBalancer({ http2Limits: { pingBurst: 100 } });
    const socket = await connectH2Tls(lb.port, fixtures.ca.certPem);
    const reader = new FrameReader(socket);
    socket.write(Buffer.concat(Array.from({ length: 50 }, () => frame(FrameType.ping, 0, 0, Buffer.alloc(8)))));
    await waitUntil('50 PING ACKs', () => reader.frames.filter((f) => f.type === FrameType.ping).length === 50);
    expect(reader.goaway()).toBeUndefined();
    expect(lb.stats().http2?.connectionsEndedBy.ping_flood ?? 0).toBe(0);
    socket.destroy();
  }, 20_000);

  it('a limit out of range is refused naming the field and the range', async () => {
    await expect(startBalancer({ backends: ['127.0.0.1:1'], http2Limits: { maxConcurrentStreams: 0 } })).rejects.toThrow(
      /http2Limits\.maxConcurrentStreams.*1.*100000/,
    );
  });
});
