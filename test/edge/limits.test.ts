// Size and count limits: 414 for a long request line, 431 for a big head or too many
// headers, 413 for a big body (announced or streamed), each refused with nothing (or no
// complete request) forwarded; and the client connection limit, which makes connection
// N+1 wait in the backlog instead of refusing it.
import { afterEach, describe, expect, it } from 'vitest';
import { runCleanups } from '../helpers/cleanup.js';
import { RawClient } from '../helpers/raw-client.js';
import { ScriptedBackend } from '../helpers/scripted-backend.js';
import { buildResponse, encodeChunked, printable } from '../helpers/http-message.js';
import { delay, waitUntil } from '../helpers/wait.js';
import { expectErrorThenClose, expectRejected, startEdgeBalancer, type EdgeLimits } from './support.js';

afterEach(runCleanups);

async function setup(limits: EdgeLimits) {
  const backend = await ScriptedBackend.start((req) => ({
    bytes: buildResponse(200, `ok ${req.target.slice(0, 20)}`, { reason: 'OK' }),
  }));
  const lb = await startEdgeBalancer([backend.address], { limits });
  return { backend, lb };
}

async function expectAccepted(lbPort: number, backend: ScriptedBackend, request: string | Buffer): Promise<void> {
  const client = await RawClient.connect(lbPort);
  await client.write(request);
  const res = await client.readResponse();
  expect(res.status, printable(client.received())).toBe(200);
  await backend.waitForRequests(1);
}

/** "GET /aaa...a HTTP/1.1" of exactly `length` bytes (without CRLF). */
const requestLine = (length: number): string => `GET /${'a'.repeat(length - 'GET / HTTP/1.1'.length)} HTTP/1.1`;

describe('request line: limits.maxStartLine', () => {
  const limits = { maxStartLine: 64, maxHeadBytes: 4096 };

  it('accepts a request line of exactly maxStartLine bytes', async () => {
    const { backend, lb } = await setup(limits);
    const line = requestLine(64);
    expect(line.length).toBe(64);
    await expectAccepted(lb.port, backend, `${line}\r\nHost: h\r\n\r\n`);
    expect(backend.requests()[0]!.startLine).toBe(line);
  });

  it('414 for a request line one byte over, nothing forwarded', async () => {
    const { backend, lb } = await setup(limits);
    await expectRejected(lb.port, backend, `${requestLine(65)}\r\nHost: h\r\n\r\n`, 414);
  });

  it('414 for a request line that never ends, without waiting for its end', async () => {
    const { backend, lb } = await setup({ ...limits, maxHeadBytes: 1024 });
    // 300 bytes of a line and no CRLF: the proxy must decide on the bytes it has.
    await expectRejected(lb.port, backend, `GET /${'b'.repeat(300)}`, 414);
  });
});

describe('request head: limits.maxHeadBytes and limits.maxHeaderCount', () => {
  /** A head of exactly `size` bytes (final CRLF CRLF included), padded in one header. */
  const headOfSize = (size: number): string => {
    const fixed = 'GET /h HTTP/1.1\r\nHost: h\r\nX-Pad: \r\n\r\n';
    return `GET /h HTTP/1.1\r\nHost: h\r\nX-Pad: ${'p'.repeat(size - fixed.length)}\r\n\r\n`;
  };

  it('accepts a head of exactly maxHeadBytes', async () => {
    const { backend, lb } = await setup({ maxStartLine: 256, maxHeadBytes: 512 });
    const head = headOfSize(512);
    expect(head.length).toBe(512);
    await expectAccepted(lb.port, backend, head);
  });

  it('431 for a head one byte over maxHeadBytes, nothing forwarded', async () => {
    const { backend, lb } = await setup({ maxStartLine: 256, maxHeadBytes: 512 });
    await expectRejected(lb.port, backend, headOfSize(513), 431);
  });

  it('431 for a head that keeps growing without an end, without waiting for its end', async () => {
    const { backend, lb } = await setup({ maxStartLine: 256, maxHeadBytes: 512 });
    let head = 'GET /h HTTP/1.1\r\nHost: h\r\n';
    for (let i = 0; head.length < 2048; i++) head += `X-Header-${i}: ${'v'.repeat(40)}\r\n`;
    await expectRejected(lb.port, backend, head, 431);
  });

  const withHeaders = (count: number): string => {
    let head = 'GET /n HTTP/1.1\r\nHost: h\r\n';
    for (let i = 1; i < count; i++) head += `X-H${i}: ${i}\r\n`;
    return `${head}\r\n`;
  };

  it('accepts exactly maxHeaderCount headers (Host included)', async () => {
    const { backend, lb } = await setup({ maxHeaderCount: 5 });
    await expectAccepted(lb.port, backend, withHeaders(5));
    expect(backend.requests()[0]!.headers.filter(([n]) => /^X-H\d$/.test(n)).length).toBe(4);
  });

  it('431 for maxHeaderCount + 1 headers, nothing forwarded', async () => {
    const { backend, lb } = await setup({ maxHeaderCount: 5 });
    await expectRejected(lb.port, backend, withHeaders(6), 431);
  });
});

describe('request body: limits.maxBodyBytes', () => {
  const limits = { maxBodyBytes: 100 };

  it('accepts a Content-Length body of exactly maxBodyBytes', async () => {
    const { backend, lb } = await setup(limits);
    const body = 'x'.repeat(100);
    await expectAccepted(lb.port, backend, `POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\n${body}`);
    expect(backend.requests()[0]!.body.toString()).toBe(body);
  });

  it('413 for a Content-Length one byte over, nothing forwarded (body sent too)', async () => {
    const { backend, lb } = await setup(limits);
    await expectRejected(lb.port, backend, `POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 101\r\n\r\n${'x'.repeat(101)}`, 413);
  });

  it('413 for a huge Content-Length, before any body byte arrives', async () => {
    const { backend, lb } = await setup(limits);
    await expectRejected(lb.port, backend, 'POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 999999999999\r\n\r\n', 413);
  });

  it('accepts a chunked body carrying exactly maxBodyBytes of data', async () => {
    const { backend, lb } = await setup(limits);
    const data = Buffer.alloc(100, 0x79);
    const wire = Buffer.concat([
      Buffer.from('POST /b HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n'),
      encodeChunked(data, 25),
    ]);
    await expectAccepted(lb.port, backend, wire);
    expect(backend.requests()[0]!.body.equals(data)).toBe(true);
  });

  it('413 for a chunked body that grows over maxBodyBytes; the backend never gets a complete request and its connection is closed', async () => {
    const { backend, lb } = await setup(limits);
    const client = await RawClient.connect(lb.port);
    await client.write('POST /b HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n');
    // 60 bytes pass; the next 60 cross the limit.
    await client.write(`3c\r\n${'a'.repeat(60)}\r\n`);
    await waitUntil('the first chunk at the backend', () => backend.received(0).includes('a'.repeat(60)));
    await client.write(`3c\r\n${'b'.repeat(60)}\r\n`);
    await expectErrorThenClose(client, 413);
    await backend.waitForAllClosed(3_000).catch(() => {
      throw new Error(`backend connection left open:\n${backend.describe()}`);
    });
    expect(backend.requests().length, backend.describe()).toBe(0);
    expect(backend.received(0).includes('b'.repeat(60)), backend.describe()).toBe(false);
  });

  it('413 for a chunked body over the limit sent in one write', async () => {
    const { backend, lb } = await setup(limits);
    const client = await RawClient.connect(lb.port);
    await client.write(
      Buffer.concat([
        Buffer.from('POST /b HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n'),
        encodeChunked(Buffer.alloc(300, 0x7a), 50),
      ]),
    );
    await expectErrorThenClose(client, 413);
    await backend.waitForAllClosed(3_000);
    expect(backend.requests().length, backend.describe()).toBe(0);
  });
});

describe('client connections: limits.maxClientConnections', () => {
  it('with N = 2: two idle keep-alive connections keep working, a third waits in the backlog until one closes', async () => {
    const { backend, lb } = await setup({ maxClientConnections: 2 });
    const get = (id: string): string => `GET /${id} HTTP/1.1\r\nHost: h\r\n\r\n`;

    const c1 = await RawClient.connect(lb.port);
    const c2 = await RawClient.connect(lb.port);
    for (const [c, id] of [
      [c1, 'c1a'],
      [c2, 'c2a'],
    ] as const) {
      await c.write(get(id));
      expect((await c.readResponse()).body.toString()).toBe(`ok /${id}`);
    }

    // The third connection completes in the kernel's backlog; its request is not served.
    const c3 = await RawClient.connect(lb.port);
    await c3.write(get('c3'));
    await delay(400);
    expect(c3.received().length, `connection 3 was served while 2 were open:\n${printable(c3.received())}`).toBe(0);
    expect(c3.serverClosed, 'connection 3 was closed instead of waiting').toBe(false);
    expect(backend.requests().map((r) => r.target)).toEqual(['/c1a', '/c2a']);

    // The two admitted connections are unaffected.
    await c2.write(get('c2b'));
    expect((await c2.readResponse()).body.toString()).toBe('ok /c2b');

    // One closes: the waiting connection is taken and answered.
    c1.destroy();
    const res3 = await c3.readResponse({ timeoutMs: 5_000 });
    expect(res3.body.toString(), printable(c3.received())).toBe('ok /c3');

    await c2.write(get('c2c'));
    expect((await c2.readResponse()).body.toString()).toBe('ok /c2c');
    expect(c2.serverClosed).toBe(false);
  });
});
