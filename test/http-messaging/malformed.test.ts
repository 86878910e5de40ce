// Requests the proxy must refuse itself: answered with the right 4xx/5xx, the connection
// closed, and not one byte passed to the backend (a lenient proxy in front of a strict
// backend, or the other way round, is how requests get smuggled).
import { afterEach, describe, expect, it } from 'vitest';
import { runCleanups } from '../helpers/cleanup.js';
import { RawClient } from '../helpers/raw-client.js';
import { ScriptedBackend, describeReply } from '../helpers/scripted-backend.js';
import { headerHasToken, printable } from '../helpers/http-message.js';
import { startBalancer } from '../helpers/balancer.js';

afterEach(runCleanups);

const cases: Array<{ name: string; request: string; status: number }> = [
  {
    name: 'Content-Length together with Transfer-Encoding: chunked',
    request: 'GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n',
    status: 400,
  },
  {
    name: 'two different Content-Length values',
    request: 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!',
    status: 400,
  },
  {
    name: 'a Transfer-Encoding that does not end in chunked',
    request: 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n',
    status: 400,
  },
  {
    name: 'whitespace between a header name and the colon',
    request: 'GET / HTTP/1.1\r\nHost: a\r\nContent-Length : 0\r\n\r\n',
    status: 400,
  },
  {
    name: 'obsolete line folding',
    request: 'GET / HTTP/1.1\r\nHost: a\r\nX-A: one\r\n two\r\n\r\n',
    status: 400,
  },
  {
    name: 'a bare LF line ending',
    request: 'GET / HTTP/1.1\r\nHost: a\nX-A: b\r\n\r\n',
    status: 400,
  },
  {
    name: 'an HTTP/1.1 request without Host',
    request: 'GET / HTTP/1.1\r\nX-A: b\r\n\r\n',
    status: 400,
  },
  {
    name: 'two Host headers',
    request: 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n',
    status: 400,
  },
  {
    name: 'a non-numeric Content-Length',
    request: 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5x\r\n\r\nhello',
    status: 400,
  },
  {
    name: 'a request line with no version',
    request: 'GET /\r\nHost: a\r\n\r\n',
    status: 400,
  },
  {
    name: 'an unsupported HTTP version',
    request: 'GET / HTTP/2.0\r\nHost: a\r\n\r\n',
    status: 505,
  },
  {
    name: 'a head larger than limits.maxHeadBytes (16 KiB by default)',
    request: `GET / HTTP/1.1\r\nHost: a\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`,
    status: 431,
  },
  {
    name: 'more header fields than limits.maxHeaderCount (100 by default)',
    request: `GET / HTTP/1.1\r\nHost: a\r\n${Array.from({ length: 120 }, (_, i) => `X-H${i}: v\r\n`).join('')}\r\n`,
    status: 431,
  },
  {
    name: 'a request line longer than limits.maxStartLine (8 KiB by default)',
    request: `GET /${'p'.repeat(9_000)} HTTP/1.1\r\nHost: a\r\n\r\n`,
    status: 414,
  },
];

describe('malformed requests', () => {
  for (const c of cases) {
    it(`${c.name} -> ${c.status}, connection closed, backend received nothing`, async () => {
      const backend = await ScriptedBackend.start((req) => describeReply('b1', req));
      const lb = await startBalancer({ backends: [backend.address] });
      const client = await RawClient.connect(lb.port);
      await client.write(c.request);
      const res = await client.readResponse();
      expect(res.status, printable(client.received())).toBe(c.status);
      expect(headerHasToken(res, 'connection', 'close'), printable(res.raw)).toBe(true);
      expect(await client.waitForServerClose(5_000)).toBe(true);
      expect(client.unread().length, printable(client.unread())).toBe(0);
      expect(backend.bytesReceived(), backend.describe()).toBe(0);
    });
  }

  it('a malformed request after a good one on the same connection: first answered, then 400 and close', async () => {
    const backend = await ScriptedBackend.start((req) => describeReply('b1', req));
    const lb = await startBalancer({ backends: [backend.address] });
    const client = await RawClient.connect(lb.port);
    await client.write('GET /good HTTP/1.1\r\nHost: a\r\nX-Request-Id: good\r\n\r\n');
    const good = await client.readResponse();
    expect(good.body.toString()).toBe('b1 GET /good id=good');
    await client.write('GET /bad HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n');
    const bad = await client.readResponse();
    expect(bad.status, printable(client.received())).toBe(400);
    expect(await client.waitForServerClose(5_000)).toBe(true);
    expect(backend.requests().map((r) => r.target)).toEqual(['/good']);
  });

  it('a head exactly at the limit is accepted while one byte more is refused (431)', async () => {
    const backend = await ScriptedBackend.start((req) => describeReply('b1', req));
    const maxHeadBytes = 1024;
    const lb = await startBalancer({ backends: [backend.address], limits: { maxHeadBytes, maxStartLine: 512 } });
    const build = (size: number): string => {
      const base = 'GET /x HTTP/1.1\r\nHost: a\r\nX-Pad: \r\n\r\n';
      return base.replace('X-Pad: ', `X-Pad: ${'p'.repeat(size - base.length)}`);
    };
    const fits = build(maxHeadBytes);
    expect(fits.length).toBe(maxHeadBytes);
    const ok = await RawClient.connect(lb.port);
    await ok.write(fits);
    expect((await ok.readResponse()).status, printable(ok.received())).toBe(200);

    const tooBig = await RawClient.connect(lb.port);
    await tooBig.write(build(maxHeadBytes + 1));
    expect((await tooBig.readResponse()).status, printable(tooBig.received())).toBe(431);
    expect(backend.requests().length).toBe(1);
  });
});
