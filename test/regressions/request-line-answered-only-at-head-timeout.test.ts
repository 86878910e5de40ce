// Issue 16: a request line without an HTTP version (`GET /\r\n`, HTTP/0.9), a first line
// of garbage, or a TLS ClientHello sent to the plain port was answered only when the head
// timeout fired (408 after ~10 s), because the request line was judged only once the whole
// head had arrived. Now the request line is judged as soon as its line ending arrives, and
// a byte that cannot belong to a request line is refused when it arrives: 400 and close.
//
// The head timeout is set far beyond the waits below, so an answer within them cannot be
// the timeout's; the status (400, not 408) says the same.
import { afterEach, describe, expect, it } from 'vitest';
import { runCleanups } from '../helpers/cleanup.js';
import { RawClient } from '../helpers/raw-client.js';
import { ScriptedBackend } from '../helpers/scripted-backend.js';
import { buildResponse, printable } from '../helpers/http-message.js';
import { delay } from '../helpers/wait.js';
import { expectBackendSawOnlySentinel, expectErrorThenClose, startEdgeBalancer } from '../edge/support.js';

afterEach(runCleanups);

const HEAD_TIMEOUT_MS = 60_000;
/** Far below the head timeout: an answer within this is the parser's, not the timer's. */
const ANSWER_WITHIN_MS = 3_000;

async function setup() {
  const backend = await ScriptedBackend.start((req) => ({
    bytes: buildResponse(200, `ok ${req.method} ${req.target}`, { reason: 'OK' }),
  }));
  const lb = await startEdgeBalancer([backend.address], { timeouts: { clientHeadMs: HEAD_TIMEOUT_MS } });
  return { backend, lb };
}

/** Sends `bytes` and nothing more; the client must get `status` and a close, and the backend nothing. */
async function expectAnsweredAtOnce(bytes: string | Buffer, status: number): Promise<void> {
  const { backend, lb } = await setup();
  const client = await RawClient.connect(lb.port);
  await client.write(bytes);
  await expectErrorThenClose(client, status, { timeoutMs: ANSWER_WITHIN_MS });
  await expectBackendSawOnlySentinel(lb.port, backend);
}

/** The first bytes of a TLS 1.2/1.3 ClientHello record: handshake (0x16), TLS 1.0 record version, length. */
const CLIENT_HELLO = Buffer.concat([
  Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]),
  Buffer.alloc(32, 0x5a),
]);

describe('a request line that is already wrong is answered when it arrives, not at the head timeout', () => {
  it('400 for an HTTP/0.9 request line (`GET /\\r\\n`)', async () => {
    await expectAnsweredAtOnce('GET /\r\n', 400);
  });

  it('400 for an HTTP/0.9 request line that arrives a byte at a time', async () => {
    const { backend, lb } = await setup();
    const client = await RawClient.connect(lb.port);
    await client.writePieces([...'GET /index.html\r\n'], 5);
    await expectErrorThenClose(client, 400, { timeoutMs: ANSWER_WITHIN_MS });
    await expectBackendSawOnlySentinel(lb.port, backend);
  });

  it('400 for a request line whose version is not HTTP/x.y', async () => {
    await expectAnsweredAtOnce('GET / FOO/1.1\r\n', 400);
  });

  it('505 for a well-formed request line with an unsupported version, as soon as the line ends', async () => {
    await expectAnsweredAtOnce('GET / HTTP/2.0\r\n', 505);
  });

  it('400 for an absolute-form target with userinfo, as soon as the line ends', async () => {
    await expectAnsweredAtOnce('GET http://user@h/ HTTP/1.1\r\n', 400);
  });

  it('400 at the first byte that cannot start a method, with no line ending in sight', async () => {
    await expectAnsweredAtOnce('{"not":"http"', 400);
  });

  it('400 at a control byte inside the method', async () => {
    await expectAnsweredAtOnce('GE\x01T / HTTP/1.1', 400);
  });

  it('400 at a byte that may not appear in a target, before the line ends', async () => {
    await expectAnsweredAtOnce('GET /a\x7fb', 400);
  });

  it('400 and a close at once for a TLS ClientHello sent to the plain port', async () => {
    await expectAnsweredAtOnce(CLIENT_HELLO, 400);
  });

  it('400 for a second empty line before the request line', async () => {
    await expectAnsweredAtOnce('\r\n\r\n', 400);
  });
});

describe('valid requests are not refused early', () => {
  it.each([
    ['a plain GET', 'GET /a?b=c HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n\r\n', 'GET /a?b=c'],
    ['one empty line before the request line', '\r\nGET /after-crlf HTTP/1.1\r\nHost: h\r\n\r\n', 'GET /after-crlf'],
    ['an absolute-form target', 'GET http://h:8080/abs HTTP/1.1\r\nHost: h:8080\r\n\r\n', 'GET /abs'],
    ['OPTIONS *', 'OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n', 'OPTIONS *'],
    ['an extension method', 'PROPFIND /dav HTTP/1.1\r\nHost: h\r\n\r\n', 'PROPFIND /dav'],
    ['HTTP/1.0 without Host', 'GET /ten HTTP/1.0\r\n\r\n', 'GET /ten'],
  ])('%s, sent a byte at a time, is proxied', async (_name, request, seen) => {
    const { backend, lb } = await setup();
    const client = await RawClient.connect(lb.port);
    await client.writePieces([...request], 2);
    const res = await client.readResponse({ timeoutMs: 10_000 });
    expect(res.status, printable(client.received())).toBe(200);
    expect(res.body.toString()).toBe(`ok ${seen}`);
    expect(backend.requests().map((r) => `${r.method} ${r.target}`)).toEqual([seen]);
  });

  it('a request line split mid-line with a pause is still accepted, and so is the next request on the connection', async () => {
    const { backend, lb } = await setup();
    const client = await RawClient.connect(lb.port);
    await client.writePieces(['GET /sl', 'ow HTTP/1', '.1\r', '\nHost: h\r\n', '\r\n'], 100);
    expect((await client.readResponse()).status, printable(client.received())).toBe(200);
    // The check starts over for the next request on the same connection.
    await client.writePieces(['POST /next HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\n', 'hi'], 50);
    expect((await client.readResponse()).status, printable(client.received())).toBe(200);
    await delay(50);
    expect(backend.requests().map((r) => `${r.method} ${r.target}`)).toEqual(['GET /slow', 'POST /next']);
  });
});
