// Malformed and ambiguous request heads: each gets the canned error with Connection:
// close and a lingering close, and not one byte reaches the backend.
import { afterEach, describe, expect, it } from 'vitest';
import { runCleanups } from '../helpers/cleanup.js';
import { RawClient } from '../helpers/raw-client.js';
import { ScriptedBackend } from '../helpers/scripted-backend.js';
import { buildResponse, printable } from '../helpers/http-message.js';
import { expectBackendSawOnlySentinel, expectErrorThenClose, expectRejected, startEdgeBalancer } from './support.js';

afterEach(runCleanups);

const ok = () => ({ bytes: buildResponse(200, 'ok', { reason: 'OK' }) });

async function setup() {
  const backend = await ScriptedBackend.start(ok);
  const lb = await startEdgeBalancer([backend.address]);
  return { backend, lb };
}

const post = (headers: string, body = ''): string => `POST /p HTTP/1.1\r\nHost: h\r\n${headers}\r\n${body}`;

describe('framing: Content-Length and Transfer-Encoding', () => {
  it.each([
    ['Content-Length then Transfer-Encoding', post('Content-Length: 5\r\nTransfer-Encoding: chunked\r\n', '0\r\n\r\n')],
    ['Transfer-Encoding then Content-Length', post('Transfer-Encoding: chunked\r\nContent-Length: 5\r\n', '0\r\n\r\n')],
    ['Content-Length 0 with Transfer-Encoding', post('Content-Length: 0\r\nTransfer-Encoding: chunked\r\n', '0\r\n\r\n')],
    ['two Content-Length headers that differ', post('Content-Length: 5\r\nContent-Length: 6\r\n', 'hello!')],
    ['one Content-Length list that differs', post('Content-Length: 5, 6\r\n', 'hello!')],
    ['Content-Length +5', post('Content-Length: +5\r\n', 'hello')],
    ['Content-Length "5 5"', post('Content-Length: 5 5\r\n', 'hello')],
    ['Content-Length 0x5', post('Content-Length: 0x5\r\n', 'hello')],
    ['Content-Length -1', post('Content-Length: -1\r\n', 'hello')],
    ['Content-Length empty', post('Content-Length: \r\n', 'hello')],
    ['Content-Length 5.0', post('Content-Length: 5.0\r\n', 'hello')],
    ['Content-Length with an empty list element', post('Content-Length: 5,\r\n', 'hello')],
    ['Content-Length 2^64 (overflows uint64)', post('Content-Length: 18446744073709551616\r\n', 'x')],
    ['Content-Length of 30 digits', post(`Content-Length: ${'9'.repeat(30)}\r\n`, 'x')],
    ['Transfer-Encoding gzip, chunked', post('Transfer-Encoding: gzip, chunked\r\n', '0\r\n\r\n')],
    ['Transfer-Encoding chunked, gzip', post('Transfer-Encoding: chunked, gzip\r\n', '0\r\n\r\n')],
    ['Transfer-Encoding identity', post('Transfer-Encoding: identity\r\n', '0\r\n\r\n')],
    ['Transfer-Encoding gzip', post('Transfer-Encoding: gzip\r\n', '0\r\n\r\n')],
    ['Transfer-Encoding chunked, chunked', post('Transfer-Encoding: chunked, chunked\r\n', '0\r\n\r\n')],
    ['two Transfer-Encoding: chunked headers', post('Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n', '0\r\n\r\n')],
    [
      'Transfer-Encoding gzip header then chunked header',
      post('Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n', '0\r\n\r\n'),
    ],
    ['Transfer-Encoding with a parameter', post('Transfer-Encoding: chunked;q=1\r\n', '0\r\n\r\n')],
    ['Transfer-Encoding in HTTP/1.0', 'POST /p HTTP/1.0\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'],
  ])('400 for %s, nothing forwarded', async (_name, request) => {
    const { backend, lb } = await setup();
    await expectRejected(lb.port, backend, request, 400);
  });

  it('accepts identical repeated Content-Length values (folded), forwarding exactly one', async () => {
    const { backend, lb } = await setup();
    const client = await RawClient.connect(lb.port);
    await client.write(post('Content-Length: 5\r\nContent-Length: 5, 5\r\n', 'hello'));
    const res = await client.readResponse();
    expect(res.status, printable(client.received())).toBe(200);
    await backend.waitForRequests(1);
    const seen = backend.requests()[0]!;
    expect(
      seen.headers.filter(([n]) => n.toLowerCase() === 'content-length'),
      backend.describe(),
    ).toEqual([['Content-Length', '5']]);
    expect(seen.body.toString()).toBe('hello');
  });
});

describe('header syntax', () => {
  const get = (lines: string): string => `GET / HTTP/1.1\r\nHost: h\r\n${lines}\r\n`;
  it.each([
    ['obs-fold (continuation line with SP)', get('X-A: 1\r\n  continued\r\n')],
    ['obs-fold (continuation line with HTAB)', get('X-A: 1\r\n\tcontinued\r\n')],
    ['a header line starting with SP right after the request line', 'GET / HTTP/1.1\r\n Host: h\r\n\r\n'],
    ['SP between the name and the colon', get('X-A : 1\r\n')],
    ['HTAB between the name and the colon', get('X-A\t: 1\r\n')],
    ['SP before the colon of Host', 'GET / HTTP/1.1\r\nHost : h\r\n\r\n'],
    ['NUL in a header value', get('X-A: a\x00b\r\n')],
    ['NUL in a header name', get('X-\x00A: 1\r\n')],
    ['bare CR in a header value', get('X-A: a\rb\r\n')],
    ['bare CR in a header name', get('X-\rA: 1\r\n')],
    ['bare CR between two header lines', get('X-A: 1\rX-B: 2\r\n')],
    ['bare LF line endings throughout', 'GET / HTTP/1.1\nHost: h\n\n'],
    ['bare LF ending one header line', 'GET / HTTP/1.1\r\nHost: h\nX-A: 1\r\n\r\n'],
    ['bare LF ending the head', 'GET / HTTP/1.1\r\nHost: h\r\n\n'],
    ['bare LF ending the request line', 'GET / HTTP/1.1\nHost: h\r\n\r\n'],
    ['"(" in a header name', get('X(A: 1\r\n')],
    ['a quote in a header name', get('X"A: 1\r\n')],
    ['"/" in a header name', get('X/A: 1\r\n')],
    ['an empty header name', get(': 1\r\n')],
    ['a header line without a colon', get('X-A\r\n')],
    ['DEL in a header value', get('X-A: a\x7fb\r\n')],
    ['a control character in a header value', get('X-A: a\x01b\r\n')],
  ])('400 for %s, nothing forwarded', async (_name, request) => {
    const { backend, lb } = await setup();
    await expectRejected(lb.port, backend, request, 400);
  });
});

describe('Host', () => {
  it.each([
    ['missing Host on HTTP/1.1', 'GET / HTTP/1.1\r\nX-A: 1\r\n\r\n'],
    ['two identical Host headers', 'GET / HTTP/1.1\r\nHost: h\r\nHost: h\r\n\r\n'],
    ['two different Host headers', 'GET / HTTP/1.1\r\nHost: h\r\nHost: evil\r\n\r\n'],
    ['a Host with a space', 'GET / HTTP/1.1\r\nHost: a b\r\n\r\n'],
    ['a Host with userinfo', 'GET / HTTP/1.1\r\nHost: user@h\r\n\r\n'],
  ])('400 for %s, nothing forwarded', async (_name, request) => {
    const { backend, lb } = await setup();
    await expectRejected(lb.port, backend, request, 400);
  });
});

describe('request line', () => {
  it.each([
    ['a garbage line', 'garbage\r\n\r\n'],
    ['an HTTP/0.9 line (no version)', 'GET /\r\n\r\n'],
    ['two spaces after the method', 'GET  / HTTP/1.1\r\nHost: h\r\n\r\n'],
    ['a trailing word after the version', 'GET / HTTP/1.1 x\r\nHost: h\r\n\r\n'],
    ['no method', '/ HTTP/1.1\r\nHost: h\r\n\r\n'],
    ['"@" in the method', 'G@T / HTTP/1.1\r\nHost: h\r\n\r\n'],
    ['"(" in the method', 'GE(T / HTTP/1.1\r\nHost: h\r\n\r\n'],
    ['NUL in the method', 'GE\x00T / HTTP/1.1\r\nHost: h\r\n\r\n'],
    ['a lowercase protocol name', 'GET / http/1.1\r\nHost: h\r\n\r\n'],
    ['a version with two minor digits', 'GET / HTTP/1.10\r\nHost: h\r\n\r\n'],
    ['a version without the minor', 'GET / HTTP/1\r\nHost: h\r\n\r\n'],
    ['a space in the target', 'GET /a b HTTP/1.1\r\nHost: h\r\n\r\n'],
    ['a target that is not a path, "*" or an absolute URI', 'GET foo HTTP/1.1\r\nHost: h\r\n\r\n'],
    ['"*" with GET', 'GET * HTTP/1.1\r\nHost: h\r\n\r\n'],
    ['two empty lines before the request line', '\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n'],
  ])('400 for %s, nothing forwarded', async (_name, request) => {
    const { backend, lb } = await setup();
    await expectRejected(lb.port, backend, request, 400);
  });

  it.each([
    ['HTTP/2.0', 'GET / HTTP/2.0\r\nHost: h\r\n\r\n'],
    ['HTTP/1.2', 'GET / HTTP/1.2\r\nHost: h\r\n\r\n'],
    ['HTTP/3.0', 'GET / HTTP/3.0\r\nHost: h\r\n\r\n'],
    ['HTTP/0.9', 'GET / HTTP/0.9\r\nHost: h\r\n\r\n'],
  ])('505 for a well-formed unsupported version %s, nothing forwarded', async (_name, request) => {
    const { backend, lb } = await setup();
    await expectRejected(lb.port, backend, request, 505);
  });

  it('405 for CONNECT, nothing forwarded', async () => {
    const { backend, lb } = await setup();
    await expectRejected(lb.port, backend, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n', 405);
  });

  it('accepts one empty line before the request line (RFC 9112 2.2)', async () => {
    const { backend, lb } = await setup();
    const client = await RawClient.connect(lb.port);
    await client.write('\r\nGET /after-crlf HTTP/1.1\r\nHost: h\r\n\r\n');
    const res = await client.readResponse();
    expect(res.status, printable(client.received())).toBe(200);
    await backend.waitForRequests(1);
    expect(backend.requests()[0]!.startLine).toBe('GET /after-crlf HTTP/1.1');
  });
});

describe('what happens around a refusal', () => {
  it('a refused request on a keep-alive connection ends it: a request after it is not answered', async () => {
    const { backend, lb } = await setup();
    const client = await RawClient.connect(lb.port);
    // First a good request, then a bad one, then a good one, pipelined.
    await client.write(
      'GET /one HTTP/1.1\r\nHost: h\r\n\r\n' +
        'GET /two HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n' +
        'GET /three HTTP/1.1\r\nHost: h\r\n\r\n',
    );
    const first = await client.readResponse();
    expect(first.status, printable(client.received())).toBe(200);
    await expectErrorThenClose(client, 400);
    expect(
      backend.requests().map((r) => r.target),
      backend.describe(),
    ).toEqual(['/one']);
  });

  it('takes the 400 cleanly even when a large body follows the refused head (lingering close, no reset)', async () => {
    const { backend, lb } = await setup();
    const client = await RawClient.connect(lb.port);
    const body = Buffer.alloc(256 * 1024, 0x61);
    // Ambiguous framing, then a body the proxy must read and discard rather than reset.
    await client.write(
      Buffer.concat([
        Buffer.from(`POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: ${body.length}\r\nTransfer-Encoding: chunked\r\n\r\n`),
        body,
      ]),
    );
    await expectErrorThenClose(client, 400);
    await expectBackendSawOnlySentinel(lb.port, backend);
  });

  it('a head split into many small writes is refused the same way', async () => {
    const { backend, lb } = await setup();
    // The head only: a piece written after the 400 would hit a closed socket.
    const bytes = 'POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n';
    const pieces: string[] = [];
    for (let i = 0; i < bytes.length; i += 7) pieces.push(bytes.slice(i, i + 7));
    await expectRejected(lb.port, backend, pieces, 400);
  });
});
