// Malformed chunked request bodies. The head was valid, so the request was already on its
// way to the backend: the client must still get a 400 (or, if the backend had already
// answered, see its connection closed), the backend connection must be closed and never
// reused, and the backend must never see a complete request.
import { afterEach, describe, expect, it } from 'vitest';
import { runCleanups } from '../helpers/cleanup.js';
import { RawClient } from '../helpers/raw-client.js';
import { ScriptedBackend } from '../helpers/scripted-backend.js';
import { buildResponse, printable } from '../helpers/http-message.js';
import { waitUntil } from '../helpers/wait.js';
import { expectErrorThenClose, headLines, startEdgeBalancer } from './support.js';

afterEach(runCleanups);

const HEAD = 'POST /upload HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n';
const GOOD_CHUNK = '5\r\nhello\r\n';

// Body bytes that break the chunked grammar, each after a valid first chunk.
const badBodies: Array<[string, string]> = [
  ['a chunk size that overflows (17 significant hex digits)', '10000000000000000\r\nx\r\n0\r\n\r\n'],
  ['a chunk size of -1', '-1\r\nx\r\n0\r\n\r\n'],
  ['a chunk size of 0x10', '0x10\r\n0123456789abcdef\r\n0\r\n\r\n'],
  ['a chunk size of +a', '+a\r\n0123456789\r\n0\r\n\r\n'],
  ['a space before the chunk size', ' 5\r\nhello\r\n0\r\n\r\n'],
  ['an empty chunk size line', '\r\nhello\r\n0\r\n\r\n'],
  ['chunk data not followed by CRLF', '5\r\nhelloXX\r\n0\r\n\r\n'],
  ['chunk data followed by a bare LF', '5\r\nhello\n0\r\n\r\n'],
  ['a bare LF ending the chunk size line', '5\nhello\r\n0\r\n\r\n'],
  ['an extension with an empty name', '5;\r\nhello\r\n0\r\n\r\n'],
  ['an extension with a space inside its value', '5;a=b c\r\nhello\r\n0\r\n\r\n'],
  ['an extension with an unterminated quoted value', '5;a="b\r\nhello\r\n0\r\n\r\n'],
  ['a Content-Length trailer', '0\r\nContent-Length: 5\r\n\r\n'],
  ['an obs-folded trailer', '0\r\nX-T: 1\r\n folded\r\n\r\n'],
];

async function backendAndBalancer() {
  const backend = await ScriptedBackend.start(() => ({ bytes: buildResponse(200, 'ok', { reason: 'OK' }) }));
  const lb = await startEdgeBalancer([backend.address]);
  return { backend, lb };
}

/** After a failed body: no backend connection is left open, and the next request gets a fresh one. */
async function expectBackendConnectionsNotReused(lbPort: number, backend: ScriptedBackend): Promise<void> {
  await backend.waitForAllClosed(3_000).catch(() => {
    throw new Error(`a backend connection stayed open after the bad body:\n${backend.describe()}`);
  });
  expect(backend.requests().length, `the backend saw a complete request:\n${backend.describe()}`).toBe(0);
  const before = backend.acceptedCount;
  const client = await RawClient.connect(lbPort);
  await client.write('GET /after HTTP/1.1\r\nHost: h\r\n\r\n');
  const res = await client.readResponse();
  expect(res.status, printable(client.received())).toBe(200);
  await backend.waitForRequests(1);
  const carrier = backend.connections.findIndex((c) => c.requests.some((r) => r.target === '/after'));
  expect(carrier, backend.describe()).toBeGreaterThanOrEqual(before);
}

describe('malformed chunked request bodies', () => {
  it.each(badBodies)('400 for %s (all in one write); the backend connection is closed, not reused', async (_name, bad) => {
    const { backend, lb } = await backendAndBalancer();
    const client = await RawClient.connect(lb.port);
    await client.write(HEAD + GOOD_CHUNK + bad);
    await expectErrorThenClose(client, 400);
    await expectBackendConnectionsNotReused(lb.port, backend);
  });

  it.each(badBodies.filter((_, i) => i % 2 === 0))(
    '400 for %s arriving after the head was forwarded; the backend connection is closed, not reused',
    async (_name, bad) => {
      const { backend, lb } = await backendAndBalancer();
      const client = await RawClient.connect(lb.port);
      await client.write(HEAD + GOOD_CHUNK);
      // The request is on its way: the backend has its head and the first chunk.
      await waitUntil('the head and first chunk at the backend', () => backend.received(0).includes('hello'));
      expect(headLines(backend.received(0))[0]).toBe('POST /upload HTTP/1.1');
      await client.write(bad);
      await expectErrorThenClose(client, 400);
      await waitUntil('the backend connection to be closed', () => backend.connections[0]!.closed, { timeoutMs: 3_000 }).catch(
        () => {
          throw new Error(`backend connection left open:\n${backend.describe()}`);
        },
      );
      await expectBackendConnectionsNotReused(lb.port, backend);
    },
  );

  it('when the backend already answered, a bad chunk after it only closes the client connection; the backend connection is not reused', async () => {
    const backend = await ScriptedBackend.stepwise(async (conn, index) => {
      await conn.readHead();
      if (index === 0) {
        // Answer at once, without waiting for the body.
        await conn.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nearly');
      } else {
        await conn.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nlater');
      }
    });
    const lb = await startEdgeBalancer([backend.address]);
    const client = await RawClient.connect(lb.port);
    await client.write(HEAD + GOOD_CHUNK);
    const res = await client.readResponse();
    expect(res.status, printable(client.received())).toBe(200);
    expect(res.body.toString()).toBe('early');
    await client.write('zz\r\n').catch(() => undefined); // may race with the close
    expect(await client.waitForServerClose(3_000), printable(client.received())).toBe(true);
    expect(client.unread().length, printable(client.received())).toBe(0);
    expect(await backend.connections[0]!.waitForEnd(3_000), 'the proxy did not close the first backend connection').toBe(true);

    const second = await RawClient.connect(lb.port);
    await second.write('GET /after HTTP/1.1\r\nHost: h\r\n\r\n');
    const after = await second.readResponse();
    expect(after.body.toString(), printable(second.received())).toBe('later');
    expect(backend.connections.length).toBe(2);
  });

  it('a valid chunked body with extensions and trailers is forwarded byte for byte', async () => {
    const { backend, lb } = await backendAndBalancer();
    const client = await RawClient.connect(lb.port);
    const body = '5;name=value;q="a b"\r\nhello\r\n0006\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n';
    await client.write(HEAD + body);
    const res = await client.readResponse();
    expect(res.status, printable(client.received())).toBe(200);
    await backend.waitForRequests(1);
    const seen = backend.requests()[0]!;
    expect(seen.body.toString()).toBe('hello world');
    expect(seen.raw.subarray(seen.headLength).toString('latin1')).toBe(body);
  });
});
