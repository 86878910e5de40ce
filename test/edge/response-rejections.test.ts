// Responses get the same scrutiny as requests: a malformed or ambiguous response head
// makes the client get a 502 (with Connection: close), the backend connection is closed,
// and the next request opens a new backend connection.
import { afterEach, describe, expect, it } from 'vitest';
import { runCleanups } from '../helpers/cleanup.js';
import { RawClient } from '../helpers/raw-client.js';
import { ScriptedBackend, type Reply } from '../helpers/scripted-backend.js';
import { buildResponse, printable } from '../helpers/http-message.js';
import { waitUntil } from '../helpers/wait.js';
import { expectErrorThenClose, linesNamed, startEdgeBalancer } from './support.js';

afterEach(runCleanups);

const good = (): Reply => ({ bytes: buildResponse(200, 'fine', { reason: 'OK' }) });

/** A backend whose first request gets `first`, and every later one a good 200. */
async function setup(first: string | Buffer) {
  const backend = await ScriptedBackend.start((_req, ctx) => (ctx.index === 0 ? { bytes: first } : good()));
  const lb = await startEdgeBalancer([backend.address]);
  return { backend, lb };
}

async function expect502AndFreshBackendConnection(first: string | Buffer): Promise<void> {
  const { backend, lb } = await setup(first);
  const client = await RawClient.connect(lb.port);
  await client.write('GET /first HTTP/1.1\r\nHost: h\r\n\r\n');
  const res = await expectErrorThenClose(client, 502);
  // Nothing of the bad response leaked to the client.
  expect(res.body.toString()).toBe('Bad Gateway\n');
  // The proxy closed the backend connection.
  await waitUntil('the backend connection to be closed by the proxy', () => backend.connections[0]?.closed, {
    timeoutMs: 3_000,
  }).catch(() => {
    throw new Error(`backend connection left open:\n${backend.describe()}`);
  });
  // The next request is carried by a new backend connection.
  const next = await RawClient.connect(lb.port);
  await next.write('GET /second HTTP/1.1\r\nHost: h\r\n\r\n');
  const ok = await next.readResponse();
  expect(ok.status, printable(next.received())).toBe(200);
  expect(ok.body.toString()).toBe('fine');
  expect(backend.acceptedCount, backend.describe()).toBe(2);
  expect(backend.connections[1]!.requests.map((r) => r.target)).toEqual(['/second']);
}

describe('malformed or ambiguous response heads get 502', () => {
  it.each([
    [
      'Content-Length with Transfer-Encoding',
      'HTTP/1.1 200 OK\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nfine\r\n0\r\n\r\n',
    ],
    [
      'Transfer-Encoding with Content-Length',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n4\r\nfine\r\n0\r\n\r\n',
    ],
    ['two different Content-Length headers', 'HTTP/1.1 200 OK\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nfine!'],
    ['a Content-Length list that differs', 'HTTP/1.1 200 OK\r\nContent-Length: 4, 5\r\n\r\nfine!'],
    ['a Content-Length that is not digits', 'HTTP/1.1 200 OK\r\nContent-Length: 4x\r\n\r\nfine'],
    ['a negative Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: -4\r\n\r\nfine'],
    ['a status line with a two-digit status', 'HTTP/1.1 20 OK\r\nContent-Length: 4\r\n\r\nfine'],
    ['a status line with letters in the status', 'HTTP/1.1 2OO OK\r\nContent-Length: 4\r\n\r\nfine'],
    ['a status under 100', 'HTTP/1.1 099 Odd\r\nContent-Length: 4\r\n\r\nfine'],
    ['a status line that is not HTTP', 'FOO 200 OK\r\nContent-Length: 4\r\n\r\nfine'],
    ['a status line without a space after the version', 'HTTP/1.1200 OK\r\nContent-Length: 4\r\n\r\nfine'],
    ['an unsupported response version', 'HTTP/2.0 200 OK\r\nContent-Length: 4\r\n\r\nfine'],
    ['obs-fold in a header', 'HTTP/1.1 200 OK\r\nX-A: 1\r\n  folded\r\nContent-Length: 4\r\n\r\nfine'],
    ['bare LF line endings', 'HTTP/1.1 200 OK\nContent-Length: 4\n\nfine'],
    ['a bare LF ending one header line', 'HTTP/1.1 200 OK\r\nX-A: 1\nContent-Length: 4\r\n\r\nfine'],
    ['space before the colon', 'HTTP/1.1 200 OK\r\nContent-Length : 4\r\n\r\nfine'],
    ['NUL in a header value', 'HTTP/1.1 200 OK\r\nX-A: a\x00b\r\nContent-Length: 4\r\n\r\nfine'],
    ['a bad header name', 'HTTP/1.1 200 OK\r\nX(A): 1\r\nContent-Length: 4\r\n\r\nfine'],
    ['Transfer-Encoding gzip, chunked', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n4\r\nfine\r\n0\r\n\r\n'],
  ])('502 for %s; the backend connection is closed and not reused', async (_name, response) => {
    await expect502AndFreshBackendConnection(response);
  });

  it('accepts identical repeated Content-Length values, passing exactly one to the client', async () => {
    const backend = await ScriptedBackend.start(() => ({
      bytes: 'HTTP/1.1 200 OK\r\nContent-Length: 4\r\nContent-Length: 4, 4\r\n\r\nfine',
    }));
    const lb = await startEdgeBalancer([backend.address]);
    const client = await RawClient.connect(lb.port);
    await client.write('GET / HTTP/1.1\r\nHost: h\r\n\r\n');
    const res = await client.readResponse();
    expect(res.status, printable(client.received())).toBe(200);
    expect(linesNamed(res.raw, 'content-length'), printable(res.raw)).toEqual(['Content-Length: 4']);
    expect(res.body.toString()).toBe('fine');
  });

  // The head and the bad chunk arrive in one read, so nothing has gone out yet: a clean 502
  // (test/regressions/bad-chunk-gives-empty-reply.test.ts covers a fault after the head went out).
  it('a backend that breaks chunked framing in its first read: 502, and the backend connection is not reused', async () => {
    const backend = await ScriptedBackend.start((_req, ctx) =>
      ctx.index === 0
        ? { bytes: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nfine\r\nzz\r\nbroken\r\n0\r\n\r\n' }
        : good(),
    );
    const lb = await startEdgeBalancer([backend.address]);
    const client = await RawClient.connect(lb.port);
    await client.write('GET /first HTTP/1.1\r\nHost: h\r\n\r\n');
    await expectErrorThenClose(client, 502);
    expect(client.received().includes('broken')).toBe(false);
    await waitUntil('the backend connection to be closed', () => backend.connections[0]?.closed, { timeoutMs: 3_000 });

    const next = await RawClient.connect(lb.port);
    await next.write('GET /second HTTP/1.1\r\nHost: h\r\n\r\n');
    expect((await next.readResponse()).status).toBe(200);
    expect(backend.acceptedCount, backend.describe()).toBe(2);
  });

  // Last in the file on purpose: if the proxy mishandles a head that arrives in pieces,
  // its worker may stay busy and slow what runs after it.
  it('502 for an ambiguous response head that arrives in several writes', async () => {
    const backend = await ScriptedBackend.start((_req, ctx) =>
      ctx.index === 0
        ? {
            pieces: ['HTTP/1.1 200 OK\r\nContent-', 'Length: 4\r\nTransfer-Enc', 'oding: chunked\r\n\r\n4\r\nfine\r\n0\r\n\r\n'],
            pauseMs: 30,
          }
        : good(),
    );
    const lb = await startEdgeBalancer([backend.address]);
    const client = await RawClient.connect(lb.port);
    await client.write('GET /first HTTP/1.1\r\nHost: h\r\n\r\n');
    await expectErrorThenClose(client, 502, { timeoutMs: 3_000 });
    await waitUntil('the backend connection to be closed', () => backend.connections[0]?.closed, { timeoutMs: 3_000 });
  });
});
