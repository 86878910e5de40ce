// Issue 14 (smaller ones): a slow POST (a body byte every few seconds, each inside the
// per-read body timeout) held a backend connection for as long as the client liked. Now
// the whole body must arrive within `timeouts.clientBodyTotalMs` (default 300000, as
// Node's server.requestTimeout), counted from the end of the head: then 408, and the
// backend connection is closed. The per-read `clientBodyMs` still applies as well.
//
// Small limits keep this bounded: a byte every 300 ms never trips a 1000 ms per-read
// timeout, and a 1500 ms total ends the trickle long before the body could complete.
import { afterEach, describe, expect, it } from 'vitest';
import { runCleanups } from '../helpers/cleanup.js';
import { RawClient } from '../helpers/raw-client.js';
import { ScriptedBackend } from '../helpers/scripted-backend.js';
import { buildResponse, printable } from '../helpers/http-message.js';
import { delay, waitUntil } from '../helpers/wait.js';
import { startBalancer } from '../helpers/balancer.js';
import { expectErrorThenClose } from '../edge/support.js';
import { parseArgs } from '../../src/cli/args.js';
import { validateOptions } from '../../src/config/schema.js';
import { LbConfigError } from '../../src/errors.js';

afterEach(runCleanups);

async function setup(timeouts: { clientBodyMs: number; clientBodyTotalMs: number }) {
  const backend = await ScriptedBackend.start((req) => ({
    bytes: buildResponse(200, `got ${req.body.length}`, { reason: 'OK' }),
  }));
  const lb = await startBalancer({ backends: [backend.address], workers: 1, timeouts: { responseMs: 10_000, ...timeouts } });
  return { backend, lb };
}

/** Writes one byte every `everyMs` until `count` bytes are sent or the server closes. */
async function trickle(client: RawClient, count: number, everyMs: number): Promise<number> {
  let sent = 0;
  while (sent < count && !client.serverClosed) {
    await delay(everyMs);
    if (client.serverClosed) break;
    await client.write('x').catch(() => undefined);
    sent += 1;
  }
  return sent;
}

describe('timeouts.clientBodyTotalMs', () => {
  it('408 for a body trickled a byte every 300 ms (each read inside clientBodyMs); the backend connection is closed', async () => {
    const { backend, lb } = await setup({ clientBodyMs: 1_000, clientBodyTotalMs: 1_500 });
    const client = await RawClient.connect(lb.port);
    await client.write('POST /slow HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\n');
    const sending = trickle(client, 100, 300);
    await expectErrorThenClose(client, 408, { timeoutMs: 6_000 });
    const sent = await sending;
    // Bytes kept coming within the per-read timeout all along: only the total can have ended it.
    expect(sent, 'the trickle ended before the total timeout could').toBeGreaterThanOrEqual(3);
    expect(sent).toBeLessThan(100);
    await waitUntil('the proxy to close the backend connection', () => backend.connections[0]?.peerClosed, { timeoutMs: 3_000 });
    expect(backend.requests().length, backend.describe()).toBe(0);
  });

  it('the same for a chunked body', async () => {
    const { backend, lb } = await setup({ clientBodyMs: 1_000, clientBodyTotalMs: 1_500 });
    const client = await RawClient.connect(lb.port);
    await client.write('POST /slow HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n64\r\n');
    const sending = trickle(client, 100, 300);
    await expectErrorThenClose(client, 408, { timeoutMs: 6_000 });
    expect(await sending).toBeLessThan(100);
    await waitUntil('the proxy to close the backend connection', () => backend.connections[0]?.peerClosed, { timeoutMs: 3_000 });
  });

  it('a body that arrives in pauses but within the total is proxied', async () => {
    const { backend, lb } = await setup({ clientBodyMs: 1_000, clientBodyTotalMs: 3_000 });
    const client = await RawClient.connect(lb.port);
    await client.write('POST /ok HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n');
    expect(await trickle(client, 5, 200)).toBe(5);
    const res = await client.readResponse();
    expect(res.status, printable(client.received())).toBe(200);
    expect(res.body.toString()).toBe('got 5');
    // Counted per request: the next request on the connection gets its own total.
    await client.write('POST /again HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n');
    expect(await trickle(client, 5, 200)).toBe(5);
    expect((await client.readResponse()).status, printable(client.received())).toBe(200);
    expect(backend.requests().length).toBe(2);
  });

  it('0 means no overall limit: only the per-read timeout applies', async () => {
    const { lb } = await setup({ clientBodyMs: 1_000, clientBodyTotalMs: 0 });
    const client = await RawClient.connect(lb.port);
    await client.write('POST /slow-but-steady HTTP/1.1\r\nHost: h\r\nContent-Length: 8\r\n\r\n');
    expect(await trickle(client, 8, 300)).toBe(8);
    const res = await client.readResponse();
    expect(res.status, printable(client.received())).toBe(200);
    expect(res.body.toString()).toBe('got 8');
  });

  it('defaults to 300000, accepts 0, refuses a negative value; --client-body-total-timeout sets it', () => {
    const base = { backends: ['127.0.0.1:9001'] };
    expect(validateOptions(base).timeouts.clientBodyTotalMs).toBe(300_000);
    expect(validateOptions({ ...base, timeouts: { clientBodyTotalMs: 0 } }).timeouts.clientBodyTotalMs).toBe(0);
    let message = '';
    try {
      validateOptions({ ...base, timeouts: { clientBodyTotalMs: -1 } });
    } catch (error) {
      if (!(error instanceof LbConfigError)) throw error;
      message = error.issues.map((i) => `${i.path}: ${i.message}`).join('\n');
    }
    expect(message).toBe('timeouts.clientBodyTotalMs: expected an integer from 0 to 2147483647, got -1');
    const parsed = parseArgs(['start', '--backend', '127.0.0.1:9001', '--client-body-total-timeout', '45000']);
    expect(parsed).toMatchObject({ options: { timeouts: { clientBodyTotalMs: 45_000 } } });
  });
});
