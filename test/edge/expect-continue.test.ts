// Expect: 100-continue. The header is forwarded; a backend's 100 Continue reaches the
// client, which only then sends its body; the final response follows. No deadlock.
import { afterEach, describe, expect, it } from 'vitest';
import { runCleanups } from '../helpers/cleanup.js';
import { RawClient } from '../helpers/raw-client.js';
import { printable } from '../helpers/http-message.js';
import { ScriptedBackend } from '../helpers/scripted-backend.js';
import { headLines, linesNamed, startEdgeBalancer } from './support.js';

afterEach(runCleanups);

const BODY = 'hello world';
const HEAD = `PUT /up HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: ${BODY.length}\r\n\r\n`;

describe('Expect: 100-continue', () => {
  it('the 100 Continue reaches the client before it sends the body; then the final response', async () => {
    const heads: Buffer[] = [];
    const bodies: Buffer[] = [];
    const backend = await ScriptedBackend.stepwise(async (conn) => {
      const head = await conn.readHead();
      heads.push(head);
      await conn.write('HTTP/1.1 100 Continue\r\n\r\n');
      const body = await conn.readBytes(BODY.length);
      bodies.push(body);
      await conn.write(`HTTP/1.1 201 Created\r\nContent-Length: ${body.length}\r\n\r\n${body.toString('latin1')}`);
    });
    const lb = await startEdgeBalancer([backend.address]);
    const client = await RawClient.connect(lb.port);
    await client.write(HEAD);

    const interim = await client.readResponse({ timeoutMs: 5_000 });
    expect(interim.status, printable(client.received())).toBe(100);
    expect(interim.body.length).toBe(0);
    // Only now does the body go out.
    expect(bodies).toEqual([]);
    await client.write(BODY);

    const final = await client.readResponse({ timeoutMs: 5_000 });
    expect(final.status, printable(client.received())).toBe(201);
    expect(final.body.toString()).toBe(BODY);
    expect(client.serverClosed).toBe(false);

    expect(heads.length).toBe(1);
    expect(headLines(heads[0]!)[0]).toBe('PUT /up HTTP/1.1');
    expect(linesNamed(heads[0]!, 'expect'), printable(heads[0]!)).toEqual(['Expect: 100-continue']);
    expect(linesNamed(heads[0]!, 'content-length')).toEqual([`Content-Length: ${BODY.length}`]);
    expect(bodies.map((b) => b.toString())).toEqual([BODY]);
    // Exactly head + body went to the backend.
    expect(backend.connections[0]!.received().length).toBe(heads[0]!.length + BODY.length);
  });

  it('the connection then serves another request normally', async () => {
    const backend = await ScriptedBackend.stepwise(async (conn) => {
      await conn.readHead();
      await conn.write('HTTP/1.1 100 Continue\r\n\r\n');
      await conn.readBytes(BODY.length);
      await conn.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst');
      await conn.readHead();
      await conn.write('HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond');
    });
    const lb = await startEdgeBalancer([backend.address]);
    const client = await RawClient.connect(lb.port);
    await client.write(HEAD);
    expect((await client.readResponse({ timeoutMs: 5_000 })).status).toBe(100);
    await client.write(BODY);
    expect((await client.readResponse({ timeoutMs: 5_000 })).body.toString()).toBe('first');
    await client.write('GET /next HTTP/1.1\r\nHost: h\r\n\r\n');
    expect((await client.readResponse({ timeoutMs: 5_000 })).body.toString(), printable(client.received())).toBe('second');
  });

  it('a backend that answers at once with a final status (417) gets it to the waiting client; no deadlock', async () => {
    const backend = await ScriptedBackend.stepwise(async (conn) => {
      await conn.readHead();
      await conn.write('HTTP/1.1 417 Expectation Failed\r\nContent-Length: 4\r\n\r\nnope');
    });
    const lb = await startEdgeBalancer([backend.address]);
    const client = await RawClient.connect(lb.port);
    await client.write(HEAD);
    const res = await client.readResponse({ timeoutMs: 5_000 });
    expect(res.status, printable(client.received())).toBe(417);
    expect(res.body.toString()).toBe('nope');
  });
});
