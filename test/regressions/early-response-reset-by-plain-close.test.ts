// Issue 14 (smaller ones): when a backend answered before the request body was complete,
// the client socket was closed at once when nothing happened to be buffered, so a client
// still sending its body got a reset, and a client that reads only once its body is sent
// (as simple blocking clients do) never saw the answer. Now the connection is closed the
// lingering way: our side is shut (the client sees the response and a FIN), and what the
// client still sends is read and discarded until it closes or the lingering timer ends.
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { onCleanup, runCleanups } from '../helpers/cleanup.js';
import { RawClient } from '../helpers/raw-client.js';
import { buildResponse, header, printable } from '../helpers/http-message.js';
import { delay, waitUntil } from '../helpers/wait.js';
import { ScriptedBackend } from '../helpers/scripted-backend.js';
import { startEdgeBalancer } from '../edge/support.js';

afterEach(runCleanups);

const FIRST_PART = 64 * 1024;
const REST = 1024 * 1024;
const PIECE = 16 * 1024;

describe('a backend that answers before the request body is complete', () => {
  it.each([
    [413, 'too big'],
    [200, 'ignored your body'],
  ])(
    'answers %i: a client that reads only after sending its whole body still gets the full response, and no reset',
    async (status, text) => {
      let answered = false;
      const backend = await ScriptedBackend.stepwise(async (conn) => {
        await conn.readHead();
        await conn.readBytes(FIRST_PART);
        // Answers early, and keeps reading (and dropping) what the proxy still forwards.
        await conn.write(buildResponse(status, text, { reason: status === 413 ? 'Content Too Large' : 'OK' }));
        answered = true;
      });
      const lb = await startEdgeBalancer([backend.address]);
      const client = await RawClient.connect(lb.port);
      // Reads nothing until the whole body is sent (the response waits in the kernel).
      client.socket.pause();
      await client.write(`POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: ${FIRST_PART + REST}\r\n\r\n`);
      await client.write(Buffer.alloc(FIRST_PART, 0x61));
      await waitUntil('the backend to answer', () => answered, { timeoutMs: 5_000 });
      // The proxy relays the answer and ends the exchange while this client is between writes.
      await delay(200);
      let writeError: Error | undefined;
      try {
        for (let sent = 0; sent < REST; sent += PIECE) await client.write(Buffer.alloc(PIECE, 0x62));
      } catch (error) {
        writeError = error as Error;
      }
      client.end();
      client.socket.resume();
      const res = await client.readResponse({ timeoutMs: 5_000 }).catch((error: Error) => error);
      const shown = `write error: ${writeError?.message ?? 'none'}; socket error: ${client.error?.message ?? 'none'}\n${printable(client.received())}`;
      expect(res instanceof Error ? res.message : res.status, shown).toBe(status);
      if (!(res instanceof Error)) {
        expect(res.body.toString()).toBe(text);
        expect(header(res, 'connection'), shown).toBe('close');
      }
      expect(writeError, shown).toBeUndefined();
      expect(await client.waitForServerClose(3_000), shown).toBe(true);
      expect(client.error, shown).toBeUndefined();
    },
  );

  it('a client that keeps sending after the answer and its FIN is not reset: the proxy reads on until it closes', async () => {
    const backend = await ScriptedBackend.stepwise(async (conn) => {
      await conn.readHead();
      await conn.readBytes(1024);
      await conn.write(buildResponse(413, 'too big', { reason: 'Content Too Large' }));
    });
    const lb = await startEdgeBalancer([backend.address]);
    // Half-open allowed, so this client can go on sending after the proxy's FIN, as a
    // client in the middle of an upload does.
    const socket = net.connect({ port: lb.port, host: '127.0.0.1', allowHalfOpen: true });
    onCleanup(() => socket.destroy());
    const received: Buffer[] = [];
    let ended = false;
    let error: Error | undefined;
    socket.on('data', (d: Buffer) => received.push(d));
    socket.on('end', () => (ended = true));
    socket.on('error', (e) => (error = e));
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const write = (data: string | Buffer) =>
      new Promise<void>((resolve, reject) => socket.write(data, (e) => (e ? reject(e) : resolve())));
    await write('POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 100000000\r\n\r\n');
    await write(Buffer.alloc(1024, 0x61));
    await waitUntil('the answer and the FIN', () => ended, { timeoutMs: 5_000 });
    const shown = () => `${error?.message ?? 'no error'}\n${printable(Buffer.concat(received))}`;
    expect(Buffer.concat(received).toString('latin1'), shown()).toMatch(
      /^HTTP\/1\.1 413 Content Too Large\r\n[^]*\r\n\r\ntoo big$/,
    );
    for (let i = 0; i < 5; i++) {
      await write(Buffer.alloc(1024, 0x62));
      await delay(20);
    }
    socket.end();
    await waitUntil('the socket to close', () => socket.closed, { timeoutMs: 5_000 });
    expect(error, `reset while the lingering close should still read: ${shown()}`).toBeUndefined();
  });
});
