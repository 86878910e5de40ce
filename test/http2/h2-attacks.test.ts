// HTTP/2 attacks through the listener, with raw frames (test/helpers/h2-frames.ts): each
// defence fires (a GOAWAY with the code it must carry, the connection closed) while
// another client on the same balancer is still served.
import http2 from 'node:http2';
import { afterEach, describe, expect, it } from 'vitest';

import { renderPrometheus } from '../../src/admin/prometheus.js';
import { startBalancer } from '../helpers/balancer.js';
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
  requestFields,
  rstStream,
} from '../helpers/h2-frames.js';
import { useTlsFixtures } from '../helpers/use-tls-fixtures.js';
import { waitUntil } from '../helpers/wait.js';
import { startH2Backend } from './h2-backend.js';

const fixtures = useTlsFixtures();

afterEach(async () => {
  await runCleanups();
});

async function startTlsBalancer() {
  const backend = await startH2Backend();
  const lb = await startBalancer({
    backends: [`127.0.0.1:${backend.port}`],
    tls: { certificates: [{ cert: fixtures.ecdsa.chainFile, key: fixtures.ecdsa.keyFile }] },
  });
  return { backend, lb };
}

/** A well-behaved client's request on its own connection: the balancer still serves. */
async function bystanderServed(port: number, id: string): Promise<void> {
  const session = http2.connect(`https://localhost:${port}`, { ca: fixtures.ca.certPem, servername: 'localhost' });
  try {
    const status = await new Promise<number>((resolve, reject) => {
      session.on('error', reject);
      const stream = session.request({ ':path': '/bystander', 'x-test-id': id });
      let code = 0;
      stream.on('response', (h) => (code = Number(h[':status'])));
      stream.resume();
      stream.on('end', () => resolve(code));
      stream.on('error', reject);
    });
    expect(status).toBe(200);
  } finally {
    session.close();
  }
}

describe('HTTP/2 defences through the listener', () => {
  it('rapid reset: streams opened and reset past the budget get GOAWAY ENHANCE_YOUR_CALM', async () => {
    const { lb } = await startTlsBalancer();
    const socket = await connectH2Tls(lb.port, fixtures.ca.certPem);
    const reader = new FrameReader(socket);
    const authority = `localhost:${lb.port}`;
    const burst: Buffer[] = [];
    for (let i = 0; i < 1000; i++) {
      const id = 1 + 2 * i;
      burst.push(
        frame(FrameType.headers, Flags.endStream | Flags.endHeaders, id, headerBlock(requestFields(authority, `/r${i}`))),
      );
      burst.push(rstStream(id, ErrorCode.cancel));
    }
    socket.write(Buffer.concat(burst));
    await waitUntil('a GOAWAY', () => reader.goaway() !== undefined || reader.closed, { timeoutMs: 5_000 });
    expect(goawayCode(reader.goaway()!)).toBe(ErrorCode.enhanceYourCalm);
    await bystanderServed(lb.port, 'after-rapid-reset');
    await waitUntil('the attacker is disconnected', () => reader.closed, { timeoutMs: 5_000 });
    socket.destroy();
    expect(lb.stats().requests).toBeLessThan(1000);
    expect(lb.stats().http2?.connectionsEndedBy.rapid_reset).toBe(1);
    expect(renderPrometheus(lb.stats())).toContain('lb_h2_connections_ended_total{defence="rapid_reset"} 1');
  }, 20_000);

  it('CONTINUATION flood: a header block that never ends is a connection error', async () => {
    const { lb } = await startTlsBalancer();
    const socket = await connectH2Tls(lb.port, fixtures.ca.certPem);
    const reader = new FrameReader(socket);
    const authority = `localhost:${lb.port}`;
    const parts: Buffer[] = [frame(FrameType.headers, Flags.endStream, 1, headerBlock(requestFields(authority)))];
    for (let i = 0; i < 2000 && !reader.closed; i++) {
      parts.push(frame(FrameType.continuation, 0, 1, headerBlock([[`x-filler-${i}`, 'y'.repeat(50)]])));
    }
    socket.write(Buffer.concat(parts));
    await waitUntil('a GOAWAY', () => reader.goaway() !== undefined || reader.closed, { timeoutMs: 5_000 });
    const code = reader.goaway() ? goawayCode(reader.goaway()!) : undefined;
    expect(code === undefined ? 'closed' : code).not.toBe(ErrorCode.noError);
    await bystanderServed(lb.port, 'after-continuation');
    socket.destroy();
  }, 20_000);

  for (const [name, type, make] of [
    ['PING', FrameType.ping, () => Buffer.alloc(8)],
    ['SETTINGS', FrameType.settings, () => Buffer.alloc(0)],
  ] as const) {
    it(`${name} flood: past its budget, GOAWAY ENHANCE_YOUR_CALM`, async () => {
      const { lb } = await startTlsBalancer();
      const socket = await connectH2Tls(lb.port, fixtures.ca.certPem);
      const reader = new FrameReader(socket);
      socket.write(Buffer.concat(Array.from({ length: 200 }, () => frame(type, 0, 0, make()))));
      await waitUntil('a GOAWAY', () => reader.goaway() !== undefined || reader.closed, { timeoutMs: 5_000 });
      expect(goawayCode(reader.goaway()!)).toBe(ErrorCode.enhanceYourCalm);
      await bystanderServed(lb.port, `after-${name}-flood`);
      const ended = lb.stats().http2?.connectionsEndedBy ?? {};
      expect(ended[`${name.toLowerCase()}_flood`]).toBe(1);
      socket.destroy();
    });
  }

  it('streams over the concurrent-stream limit are refused, the others answered', async () => {
    const { lb, backend } = await startTlsBalancer();
    const socket = await connectH2Tls(lb.port, fixtures.ca.certPem);
    const reader = new FrameReader(socket);
    const authority = `localhost:${lb.port}`;
    // 101 streams whose responses take two seconds: the 101st is over the limit of 100.
    const opens: Buffer[] = [];
    for (let i = 0; i < 101; i++) {
      opens.push(
        frame(
          FrameType.headers,
          Flags.endStream | Flags.endHeaders,
          1 + 2 * i,
          headerBlock([...requestFields(authority, '/slow'), ['x-test-id', `limit-${i}`]]),
        ),
      );
    }
    socket.write(Buffer.concat(opens));
    await waitUntil('a refused stream', () =>
      reader.frames.some((f) => f.type === FrameType.rstStream && f.payload.readUInt32BE(0) === 0x7),
    );
    const refused = reader.frames.filter((f) => f.type === FrameType.rstStream).map((f) => f.streamId);
    expect(refused).toEqual([201]);
    expect(backend.seen.has('limit-100')).toBe(false);
    expect(lb.stats().http2?.refusedStreams).toBe(1);
    await bystanderServed(lb.port, 'beside-the-limit');
    socket.destroy();
  }, 20_000);

  it('a connection that chose h2 but does not send the HTTP/2 preface is closed', async () => {
    const { lb, backend } = await startTlsBalancer();
    const { default: tls } = await import('node:tls');
    const socket = tls.connect({
      host: '127.0.0.1',
      port: lb.port,
      ca: fixtures.ca.certPem,
      servername: 'localhost',
      ALPNProtocols: ['h2'],
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', () => resolve());
      socket.once('error', reject);
    });
    const reader = new FrameReader(socket);
    socket.write('GET / HTTP/1.1\r\nHost: localhost\r\nx-test-id: smuggled\r\n\r\n');
    await waitUntil('the connection closes', () => reader.closed, { timeoutMs: 5_000 });
    expect(backend.seen.has('smuggled')).toBe(false);
    await bystanderServed(lb.port, 'after-bad-preface');
  }, 20_000);
});
