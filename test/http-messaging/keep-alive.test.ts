// Persistent connections and message framing between client, proxy and backend:
// keep-alive reuse, pipelining, bodiless responses, close-delimited responses, HTTP/1.0.
import { afterEach, describe, expect, it } from 'vitest';
import { runCleanups } from '../helpers/cleanup.js';
import { RawClient, exchange } from '../helpers/raw-client.js';
import { ScriptedBackend, describeReply } from '../helpers/scripted-backend.js';
import { buildResponse, header, headerHasToken, printable } from '../helpers/http-message.js';
import { startBalancer } from '../helpers/balancer.js';

afterEach(runCleanups);

const get = (path: string, id: string, extra = ''): string =>
  `GET ${path} HTTP/1.1\r\nHost: test.local\r\nX-Request-Id: ${id}\r\n${extra}\r\n`;

describe('keep-alive', () => {
  it('serves several sequential requests on one client connection over one backend connection', async () => {
    const backend = await ScriptedBackend.start((req) => describeReply('b1', req));
    const lb = await startBalancer({ backends: [backend.address] });
    const client = await RawClient.connect(lb.port);

    for (let i = 0; i < 6; i++) {
      await client.write(get(`/ka/${i}`, `ka-${i}`));
      const res = await client.readResponse();
      expect(res.status, printable(res.raw)).toBe(200);
      expect(res.body.toString()).toBe(`b1 GET /ka/${i} id=ka-${i}`);
      expect(header(res, 'x-request-id')).toBe(`ka-${i}`);
      expect(headerHasToken(res, 'connection', 'close')).toBe(false);
      expect(client.serverClosed).toBe(false);
    }
    expect(client.unread().length).toBe(0);
    // Sequential requests from one client connection stay on one worker, whose pool keeps
    // the backend connection: the backend sees exactly one connection carrying all six.
    expect(backend.acceptedCount, backend.describe()).toBe(1);
    expect(backend.connections[0]!.requests.map((r) => r.target)).toEqual([0, 1, 2, 3, 4, 5].map((i) => `/ka/${i}`));
  });

  it('answers three pipelined requests written in one write, in order', async () => {
    // Two backends, and the first request is the slowest to answer: order must still hold.
    const script = (name: string) => (req: Parameters<typeof describeReply>[1]) => ({
      ...describeReply(name, req),
      delayMs: req.target === '/pipe/0' ? 150 : 0,
    });
    const b1 = await ScriptedBackend.start(script('b1'));
    const b2 = await ScriptedBackend.start(script('b2'));
    const lb = await startBalancer({ backends: [b1.address, b2.address] });
    const client = await RawClient.connect(lb.port);

    await client.write(get('/pipe/0', 'p0') + get('/pipe/1', 'p1') + get('/pipe/2', 'p2') + get('/pipe/3', 'p3'));
    const responses = await client.readResponses(['GET', 'GET', 'GET', 'GET']);
    responses.forEach((res, i) => {
      expect(res.status, printable(client.received())).toBe(200);
      expect(header(res, 'x-request-id'), printable(client.received())).toBe(`p${i}`);
      expect(res.body.toString()).toMatch(new RegExp(`^b[12] GET /pipe/${i} id=p${i}$`));
    });
    expect(client.unread().length).toBe(0);
    expect(b1.requests().length + b2.requests().length).toBe(4);

    // The connection is still usable after the pipelined batch.
    await client.write(get('/after', 'after'));
    const after = await client.readResponse();
    expect(header(after, 'x-request-id')).toBe('after');
  });

  it('frames a pipelined GET, HEAD, GET batch correctly (HEAD response has no body)', async () => {
    const backend = await ScriptedBackend.start((req) =>
      req.method === 'HEAD'
        ? { bytes: 'HTTP/1.1 200 OK\r\nContent-Length: 11\r\nX-Request-Id: head\r\n\r\n' }
        : describeReply('b1', req),
    );
    const lb = await startBalancer({ backends: [backend.address] });
    const client = await RawClient.connect(lb.port);
    await client.write(
      get('/g1', 'g1') + 'HEAD /h HTTP/1.1\r\nHost: test.local\r\nX-Request-Id: head\r\n\r\n' + get('/g2', 'g2'),
    );
    const [r1, r2, r3] = await client.readResponses(['GET', 'HEAD', 'GET']);
    expect(r1!.body.toString()).toBe('b1 GET /g1 id=g1');
    expect(r2!.status).toBe(200);
    expect(r2!.body.length).toBe(0);
    expect(header(r2!, 'x-request-id')).toBe('head');
    expect(r3!.body.toString(), printable(client.received())).toBe('b1 GET /g2 id=g2');
    expect(client.unread().length).toBe(0);
  });
});

describe('messages split across writes', () => {
  it('a request head written a few bytes at a time, with its body in two pieces, is forwarded whole', async () => {
    const backend = await ScriptedBackend.start((req) => ({
      bytes: buildResponse(200, `got ${req.body.toString()}`, { reason: 'OK' }),
    }));
    const lb = await startBalancer({ backends: [backend.address] });
    const client = await RawClient.connect(lb.port);
    const head = 'POST /split HTTP/1.1\r\nHost: test.local\r\nContent-Length: 10\r\n\r\n';
    const pieces: string[] = [];
    for (let i = 0; i < head.length; i += 3) pieces.push(head.slice(i, i + 3));
    pieces.push('hello', 'world');
    await client.writePieces(pieces, 2);
    const res = await client.readResponse();
    expect(res.status, printable(client.received())).toBe(200);
    expect(res.body.toString()).toBe('got helloworld');
    const seen = backend.requests();
    expect(seen.length).toBe(1);
    expect(seen[0]!.target).toBe('/split');
    expect(seen[0]!.body.toString()).toBe('helloworld');
  });

  for (const cut of [1, 12, 40]) {
    it(`a response head split after byte ${cut} across two backend writes is relayed whole`, async () => {
      const wire = buildResponse(200, 'split-head-body', { reason: 'OK', headers: { 'X-Pad': 'p'.repeat(32) } });
      const backend = await ScriptedBackend.start(() => ({ pieces: [wire.subarray(0, cut), wire.subarray(cut)], pauseMs: 20 }));
      const lb = await startBalancer({ backends: [backend.address] });
      const client = await RawClient.connect(lb.port);
      for (let i = 0; i < 2; i++) {
        await client.write(get(`/split-head/${i}`, `sh${i}`));
        const res = await client.readResponse();
        expect(res.status, printable(client.received())).toBe(200);
        expect(res.body.toString()).toBe('split-head-body');
      }
    });
  }
});

describe('responses without a body', () => {
  it('HEAD, 204 and 304 carry no body and the connection keeps working after each', async () => {
    const backend = await ScriptedBackend.start((req) => {
      if (req.method === 'HEAD') {
        return { bytes: 'HTTP/1.1 200 OK\r\nContent-Length: 5000\r\nContent-Type: text/plain\r\n\r\n' };
      }
      if (req.target === '/204') return { bytes: 'HTTP/1.1 204 No Content\r\nX-Kind: 204\r\n\r\n' };
      if (req.target === '/304') return { bytes: 'HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\n\r\n' };
      return describeReply('b1', req);
    });
    const lb = await startBalancer({ backends: [backend.address] });
    const client = await RawClient.connect(lb.port);

    const steps: Array<{ method: string; path: string; status: number }> = [
      { method: 'HEAD', path: '/head', status: 200 },
      { method: 'GET', path: '/204', status: 204 },
      { method: 'GET', path: '/304', status: 304 },
      { method: 'HEAD', path: '/head2', status: 200 },
    ];
    for (const step of steps) {
      await client.write(`${step.method} ${step.path} HTTP/1.1\r\nHost: test.local\r\n\r\n`);
      const res = await client.readResponse({ method: step.method });
      expect(res.status, printable(res.raw)).toBe(step.status);
      expect(res.body.length).toBe(0);
      if (step.method === 'HEAD') expect(header(res, 'content-length')).toBe('5000');
      if (step.status === 204) expect(header(res, 'content-length')).toBeUndefined();
      if (step.status !== 200) expect(header(res, 'transfer-encoding')).toBeUndefined();
      if (step.status === 304) expect(header(res, 'etag')).toBe('"v1"');
      // Nothing may follow a bodiless response: a stray byte would corrupt the next one.
      await client.write(get('/next', `after-${step.path}`));
      const next = await client.readResponse();
      expect(next.status, printable(client.received())).toBe(200);
      expect(next.body.toString()).toBe(`b1 GET /next id=after-${step.path}`);
      expect(client.unread().length).toBe(0);
    }
    expect(client.serverClosed).toBe(false);
  });

  it('a response delimited by the backend closing reaches the client whole, then the client connection is closed', async () => {
    const body = Buffer.alloc(300_000, 'x');
    for (let i = 0; i < body.length; i += 1000) body.write(String(i).padStart(8, '0'), i);
    const backend = await ScriptedBackend.start(() => ({
      // HTTP/1.0-style: no Content-Length, no chunked; the end of the body is the close.
      pieces: ['HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n', body.subarray(0, 100_000), body.subarray(100_000)],
      pauseMs: 30,
      close: true,
    }));
    const lb = await startBalancer({ backends: [backend.address] });
    const client = await RawClient.connect(lb.port);
    await client.write(get('/eof', 'eof'));
    const res = await client.readResponse();
    expect(res.status).toBe(200);
    expect(res.body.length).toBe(body.length);
    expect(res.body.equals(body)).toBe(true);
    expect(await client.waitForServerClose(5_000)).toBe(true);
  });
});

describe('HTTP/1.0 clients', () => {
  it('an HTTP/1.0 request without keep-alive gets its response, then the connection is closed', async () => {
    const backend = await ScriptedBackend.start((req) => describeReply('b1', req));
    const lb = await startBalancer({ backends: [backend.address] });
    const { responses, serverClosed, received } = await exchange(
      lb.port,
      'GET /old HTTP/1.0\r\nHost: test.local\r\nX-Request-Id: old\r\n\r\n',
      { closeWaitMs: 5_000 },
    );
    const res = responses[0]!;
    expect(res.status, printable(received)).toBe(200);
    expect(res.body.toString()).toBe('b1 GET /old id=old');
    expect(res.framing).not.toBe('chunked');
    expect(serverClosed).toBe(true);
  });

  it('an HTTP/1.0 client never gets a chunked body, even when the backend sends one', async () => {
    const body = Buffer.from('0123456789abcdef'.repeat(4096));
    const backend = await ScriptedBackend.start(() => ({
      bytes: buildResponse(200, body, { framing: 'chunked', chunkSize: 7_000 }),
    }));
    const lb = await startBalancer({ backends: [backend.address] });
    const { responses, serverClosed, received } = await exchange(
      lb.port,
      'GET /old-chunked HTTP/1.0\r\nHost: test.local\r\n\r\n',
      { closeWaitMs: 5_000 },
    );
    const res = responses[0]!;
    expect(res.status, printable(received)).toBe(200);
    expect(res.framing, printable(received, 400)).not.toBe('chunked');
    expect(header(res, 'transfer-encoding')).toBeUndefined();
    expect(res.body.equals(body)).toBe(true);
    expect(serverClosed).toBe(true);
  });
});
