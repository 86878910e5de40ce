// The proxy re-frames what it forwards (exactly one Content-Length, or Transfer-Encoding:
// chunked) and drops hop-by-hop headers in both directions: Connection and every header it
// names, Keep-Alive, Proxy-Connection, TE, Trailer, and Upgrade when not upgrading.
import { afterEach, describe, expect, it } from 'vitest';
import { runCleanups } from '../helpers/cleanup.js';
import { RawClient } from '../helpers/raw-client.js';
import { ScriptedBackend } from '../helpers/scripted-backend.js';
import { buildResponse, printable } from '../helpers/http-message.js';
import { headLines, headerLines, linesNamed, startEdgeBalancer } from './support.js';

afterEach(runCleanups);

const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade'];
const nameOf = (line: string): string => line.slice(0, line.indexOf(':')).toLowerCase();

describe('request re-framing and hop-by-hop removal', () => {
  it('the backend gets the end-to-end headers as sent, one Content-Length, and no hop-by-hop header', async () => {
    const backend = await ScriptedBackend.start(() => ({ bytes: buildResponse(200, 'ok', { reason: 'OK' }) }));
    const lb = await startEdgeBalancer([backend.address]);
    const client = await RawClient.connect(lb.port);
    await client.write(
      'POST /r?x=1 HTTP/1.1\r\n' +
        'Host: h\r\n' +
        'Connection: X-Hop, keep-alive\r\n' +
        'X-Hop: secret\r\n' +
        'Keep-Alive: timeout=5\r\n' +
        'Proxy-Connection: keep-alive\r\n' +
        'TE: trailers\r\n' +
        'Trailer: X-Sum\r\n' +
        'Upgrade: h2c\r\n' +
        'X-Keep: yes\r\n' +
        'Content-Length: 3, 3\r\n' +
        'Content-Length: 3\r\n' +
        'X-Tail:  spaced value  \r\n' +
        '\r\n' +
        'abc',
    );
    const res = await client.readResponse();
    expect(res.status, printable(client.received())).toBe(200);
    await backend.waitForRequests(1);
    const raw = backend.received(0);
    const seen = backend.requests()[0]!;
    expect(headLines(raw)[0]).toBe('POST /r?x=1 HTTP/1.1');
    const lines = headerLines(raw);
    for (const hop of [...HOP_BY_HOP, 'x-hop']) {
      expect(
        lines.filter((l) => nameOf(l) === hop),
        `${hop} reached the backend:\n${printable(raw)}`,
      ).toEqual([]);
    }
    expect(linesNamed(raw, 'content-length'), printable(raw)).toEqual(['Content-Length: 3']);
    expect(linesNamed(raw, 'transfer-encoding'), printable(raw)).toEqual([]);
    expect(linesNamed(raw, 'host'), printable(raw)).toEqual(['Host: h']);
    expect(linesNamed(raw, 'x-keep'), printable(raw)).toEqual(['X-Keep: yes']);
    expect(linesNamed(raw, 'x-tail'), printable(raw)).toEqual(['X-Tail: spaced value']);
    expect(seen.body.toString()).toBe('abc');
    // The request ends where its body ends: nothing more on the backend connection.
    expect(raw.length).toBe(seen.raw.length);
  });

  it('a chunked request is forwarded with exactly "Transfer-Encoding: chunked" and no Content-Length', async () => {
    const backend = await ScriptedBackend.start(() => ({ bytes: buildResponse(200, 'ok', { reason: 'OK' }) }));
    const lb = await startEdgeBalancer([backend.address]);
    const client = await RawClient.connect(lb.port);
    await client.write('POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: CHUNKED\r\n\r\n3\r\nabc\r\n0\r\n\r\n');
    expect((await client.readResponse()).status).toBe(200);
    await backend.waitForRequests(1);
    const raw = backend.received(0);
    expect(linesNamed(raw, 'transfer-encoding'), printable(raw)).toEqual(['Transfer-Encoding: chunked']);
    expect(linesNamed(raw, 'content-length'), printable(raw)).toEqual([]);
    expect(backend.requests()[0]!.body.toString()).toBe('abc');
  });

  it('a request without a body is forwarded with neither Content-Length nor Transfer-Encoding', async () => {
    const backend = await ScriptedBackend.start(() => ({ bytes: buildResponse(200, 'ok', { reason: 'OK' }) }));
    const lb = await startEdgeBalancer([backend.address]);
    const client = await RawClient.connect(lb.port);
    await client.write('GET /n HTTP/1.1\r\nHost: h\r\n\r\n');
    expect((await client.readResponse()).status).toBe(200);
    await backend.waitForRequests(1);
    const raw = backend.received(0);
    expect(linesNamed(raw, 'transfer-encoding')).toEqual([]);
    expect(linesNamed(raw, 'content-length')).toEqual([]);
  });

  it('Connection: close from the client is not forwarded; the client connection closes after its response', async () => {
    const backend = await ScriptedBackend.start(() => ({ bytes: buildResponse(200, 'ok', { reason: 'OK' }) }));
    const lb = await startEdgeBalancer([backend.address]);
    const client = await RawClient.connect(lb.port);
    await client.write('GET /close HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n');
    const res = await client.readResponse();
    expect(res.status).toBe(200);
    expect(linesNamed(res.raw, 'connection')).toEqual(['Connection: close']);
    expect(await client.waitForServerClose(3_000)).toBe(true);
    await backend.waitForRequests(1);
    expect(linesNamed(backend.received(0), 'connection'), printable(backend.received(0))).toEqual([]);
  });
});

describe('response re-framing and hop-by-hop removal', () => {
  it('the client gets the end-to-end headers, one Content-Length, and no hop-by-hop header', async () => {
    const backend = await ScriptedBackend.start(() => ({
      bytes:
        'HTTP/1.1 200 OK\r\n' +
        'Connection: X-Internal, keep-alive\r\n' +
        'X-Internal: 1\r\n' +
        'Keep-Alive: timeout=5\r\n' +
        'Proxy-Connection: keep-alive\r\n' +
        'TE: trailers\r\n' +
        'Trailer: X-Sum\r\n' +
        'Upgrade: h2c\r\n' +
        'X-Keep: yes\r\n' +
        'Content-Length: 2, 2\r\n' +
        'Content-Length: 2\r\n' +
        '\r\n' +
        'ok',
    }));
    const lb = await startEdgeBalancer([backend.address]);
    const client = await RawClient.connect(lb.port);
    await client.write('GET / HTTP/1.1\r\nHost: h\r\n\r\n');
    const res = await client.readResponse();
    expect(res.status, printable(client.received())).toBe(200);
    const lines = headerLines(res.raw);
    for (const hop of [...HOP_BY_HOP, 'x-internal']) {
      expect(
        lines.filter((l) => nameOf(l) === hop),
        `${hop} reached the client:\n${printable(res.raw)}`,
      ).toEqual([]);
    }
    expect(linesNamed(res.raw, 'content-length')).toEqual(['Content-Length: 2']);
    expect(linesNamed(res.raw, 'x-keep')).toEqual(['X-Keep: yes']);
    expect(res.body.toString()).toBe('ok');
    // Still a keep-alive connection.
    await client.write('GET / HTTP/1.1\r\nHost: h\r\n\r\n');
    expect((await client.readResponse()).status).toBe(200);
  });

  it('a chunked response reaches the client with exactly "Transfer-Encoding: chunked" and its chunks intact', async () => {
    const body = '4\r\nfine\r\n0\r\nX-Sum: 1\r\n\r\n';
    const backend = await ScriptedBackend.start(() => ({
      bytes: `HTTP/1.1 200 OK\r\nTrailer: X-Sum\r\nTransfer-Encoding: Chunked\r\n\r\n${body}`,
    }));
    const lb = await startEdgeBalancer([backend.address]);
    const client = await RawClient.connect(lb.port);
    await client.write('GET / HTTP/1.1\r\nHost: h\r\n\r\n');
    const res = await client.readResponse();
    expect(linesNamed(res.raw, 'transfer-encoding'), printable(res.raw)).toEqual(['Transfer-Encoding: chunked']);
    expect(linesNamed(res.raw, 'trailer'), printable(res.raw)).toEqual([]);
    expect(res.raw.subarray(res.headLength).toString('latin1')).toBe(body);
    expect(res.body.toString()).toBe('fine');
  });
});
