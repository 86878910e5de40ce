// Request-target forms and protocol versions: absolute-form becomes origin-form with the
// authority as Host, OPTIONS * is forwarded, HTTP/1.0 closes unless it asked for
// keep-alive (and then is told so).
import { afterEach, describe, expect, it } from 'vitest';
import { runCleanups } from '../helpers/cleanup.js';
import { RawClient } from '../helpers/raw-client.js';
import { ScriptedBackend } from '../helpers/scripted-backend.js';
import { buildResponse, headerHasToken, printable } from '../helpers/http-message.js';
import { expectRejected, headLines, linesNamed, startEdgeBalancer } from './support.js';

afterEach(runCleanups);

async function setup() {
  const backend = await ScriptedBackend.start((req) => ({ bytes: buildResponse(200, `ok ${req.target}`, { reason: 'OK' }) }));
  const lb = await startEdgeBalancer([backend.address]);
  return { backend, lb };
}

describe('absolute-form', () => {
  it.each([
    ['http://h:81/p?q', 'h:81', 'GET /p?q HTTP/1.1'],
    ['http://h:81', 'h:81', 'GET / HTTP/1.1'],
    ['http://h:81?q=1', 'h:81', 'GET /?q=1 HTTP/1.1'],
    ['HTTP://H:81/p', 'H:81', 'GET /p HTTP/1.1'],
  ])('GET %s with a matching Host reaches the backend as origin-form with Host: %s', async (target, host, line) => {
    const { backend, lb } = await setup();
    const client = await RawClient.connect(lb.port);
    await client.write(`GET ${target} HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
    const res = await client.readResponse();
    expect(res.status, printable(client.received())).toBe(200);
    await backend.waitForRequests(1);
    const raw = backend.received(0);
    expect(headLines(raw)[0], printable(raw)).toBe(line);
    expect(linesNamed(raw, 'host'), printable(raw)).toEqual([`Host: ${host}`]);
  });

  it('400 when Host disagrees with the absolute-form authority, nothing forwarded', async () => {
    const { backend, lb } = await setup();
    await expectRejected(lb.port, backend, 'GET http://h:81/p HTTP/1.1\r\nHost: other:81\r\n\r\n', 400);
  });

  it('400 for an absolute-form with a scheme other than http(s), nothing forwarded', async () => {
    const { backend, lb } = await setup();
    await expectRejected(lb.port, backend, 'GET ftp://h/p HTTP/1.1\r\nHost: h\r\n\r\n', 400);
  });
});

describe('OPTIONS *', () => {
  it('is forwarded as OPTIONS * HTTP/1.1', async () => {
    const { backend, lb } = await setup();
    const client = await RawClient.connect(lb.port);
    await client.write('OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n');
    const res = await client.readResponse({ method: 'OPTIONS' });
    expect(res.status, printable(client.received())).toBe(200);
    expect(res.body.toString()).toBe('ok *');
    await backend.waitForRequests(1);
    expect(headLines(backend.received(0))[0]).toBe('OPTIONS * HTTP/1.1');
  });
});

describe('HTTP/1.0 clients', () => {
  it('without keep-alive: the response, then the connection is closed', async () => {
    const { backend, lb } = await setup();
    const client = await RawClient.connect(lb.port);
    await client.write('GET /ten HTTP/1.0\r\nHost: h\r\n\r\n');
    const res = await client.readResponse();
    expect(res.status, printable(client.received())).toBe(200);
    expect(res.body.toString()).toBe('ok /ten');
    expect(headerHasToken(res, 'connection', 'keep-alive'), printable(res.raw)).toBe(false);
    expect(await client.waitForServerClose(3_000), printable(client.received())).toBe(true);
    expect(client.unread().length).toBe(0);
    await backend.waitForRequests(1);
    expect(headLines(backend.received(0))[0]).toBe('GET /ten HTTP/1.0');
  });

  it('with Connection: keep-alive: the response says keep-alive and the connection serves another request', async () => {
    const { backend, lb } = await setup();
    const client = await RawClient.connect(lb.port);
    for (const path of ['/ka1', '/ka2']) {
      await client.write(`GET ${path} HTTP/1.0\r\nHost: h\r\nConnection: keep-alive\r\n\r\n`);
      const res = await client.readResponse();
      expect(res.status, printable(client.received())).toBe(200);
      expect(res.body.toString()).toBe(`ok ${path}`);
      expect(headerHasToken(res, 'connection', 'keep-alive'), printable(res.raw)).toBe(true);
      expect(headerHasToken(res, 'connection', 'close'), printable(res.raw)).toBe(false);
    }
    expect(client.serverClosed).toBe(false);
    expect(backend.requests().map((r) => r.target)).toEqual(['/ka1', '/ka2']);
  });

  it('without Host is accepted (Host is required of HTTP/1.1 only)', async () => {
    const { backend, lb } = await setup();
    const client = await RawClient.connect(lb.port);
    await client.write('GET /nohost HTTP/1.0\r\n\r\n');
    const res = await client.readResponse();
    expect(res.status, printable(client.received())).toBe(200);
    await backend.waitForRequests(1);
    expect(linesNamed(backend.received(0), 'host')).toEqual([]);
  });
});
