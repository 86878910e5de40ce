// Timeouts at the edge: a slow or silent client, an idle keep-alive connection, a client
// that stops mid-body, a backend that never answers, a backend that refuses or never
// completes the connect. Short timeouts keep the suite quick; nothing here asserts speed,
// only what happens and that it happens within a bound.
import { afterEach, describe, expect, it } from 'vitest';
import { runCleanups } from '../helpers/cleanup.js';
import { RawClient } from '../helpers/raw-client.js';
import { ScriptedBackend, type Reply } from '../helpers/scripted-backend.js';
import { buildResponse, printable } from '../helpers/http-message.js';
import { delay, waitUntil } from '../helpers/wait.js';
import {
  expectBackendSawOnlySentinel,
  expectErrorThenClose,
  hangingListenerPort,
  refusedPort,
  startEdgeBalancer,
} from './support.js';

afterEach(runCleanups);

const ok = (): Reply => ({ bytes: buildResponse(200, 'ok', { reason: 'OK' }) });

describe('client head timeout (timeouts.clientHeadMs)', () => {
  it('408 for a client that sends half a head and stalls; nothing forwarded', async () => {
    const backend = await ScriptedBackend.start(ok);
    const lb = await startEdgeBalancer([backend.address], { timeouts: { clientHeadMs: 500 } });
    const client = await RawClient.connect(lb.port);
    await client.write('GET /slow HTTP/1.1\r\nHost: h\r\nX-Partial: ');
    await expectErrorThenClose(client, 408, { timeoutMs: 5_000 });
    await expectBackendSawOnlySentinel(lb.port, backend);
  });

  it('408 for a client that trickles its head a byte at a time (the deadline is for the whole head)', async () => {
    const backend = await ScriptedBackend.start(ok);
    const lb = await startEdgeBalancer([backend.address], { timeouts: { clientHeadMs: 500 } });
    const client = await RawClient.connect(lb.port);
    await client.write('GET /trickle HTTP/1.1\r\nHost: h\r\nX-Slow: ');
    // One byte every 50 ms, far longer than the head timeout, never ending the head.
    const trickle = (async () => {
      for (let i = 0; i < 120 && !client.serverClosed; i++) {
        await delay(50);
        if (client.serverClosed) break;
        await client.write('a').catch(() => undefined);
      }
    })();
    await expectErrorThenClose(client, 408, { timeoutMs: 6_000 });
    await trickle;
    await expectBackendSawOnlySentinel(lb.port, backend);
  });

  it('a client that connects and sends nothing is closed after clientHeadMs, without a response', async () => {
    const backend = await ScriptedBackend.start(ok);
    const lb = await startEdgeBalancer([backend.address], { timeouts: { clientHeadMs: 500 } });
    const client = await RawClient.connect(lb.port);
    await delay(100);
    expect(client.serverClosed, 'closed long before clientHeadMs').toBe(false);
    expect(await client.waitForServerClose(5_000), 'a silent connection was never closed').toBe(true);
    expect(client.received().length, printable(client.received())).toBe(0);
    expect(backend.acceptedCount).toBe(0);
  });
});

describe('keep-alive timeout (timeouts.keepAliveMs)', () => {
  it('an idle keep-alive connection is closed after keepAliveMs, with no further bytes', async () => {
    const backend = await ScriptedBackend.start(ok);
    // The head timeout is much longer: a close within it can only be the keep-alive timer.
    const lb = await startEdgeBalancer([backend.address], { timeouts: { keepAliveMs: 400, clientHeadMs: 8_000 } });
    const client = await RawClient.connect(lb.port);
    await client.write('GET / HTTP/1.1\r\nHost: h\r\n\r\n');
    const res = await client.readResponse();
    expect(res.status).toBe(200);
    const after = client.received().length;
    expect(await client.waitForServerClose(5_000), 'idle keep-alive connection never closed').toBe(true);
    expect(client.received().length, printable(client.received())).toBe(after);
    expect(client.error).toBeUndefined();
  });

  it('a keep-alive connection in use is not cut: requests spaced below keepAliveMs keep it open', async () => {
    const backend = await ScriptedBackend.start(ok);
    const lb = await startEdgeBalancer([backend.address], { timeouts: { keepAliveMs: 600, clientHeadMs: 8_000 } });
    const client = await RawClient.connect(lb.port);
    for (let i = 0; i < 4; i++) {
      await client.write('GET / HTTP/1.1\r\nHost: h\r\n\r\n');
      expect((await client.readResponse()).status).toBe(200);
      await delay(200);
    }
    expect(client.serverClosed).toBe(false);
  });
});

describe('client body timeout (timeouts.clientBodyMs)', () => {
  it('408 for a client that stops mid-body before any response; the backend connection is closed', async () => {
    const backend = await ScriptedBackend.start(ok);
    const lb = await startEdgeBalancer([backend.address], { timeouts: { clientBodyMs: 400, responseMs: 10_000 } });
    const client = await RawClient.connect(lb.port);
    await client.write('POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabc');
    await waitUntil('the head and 3 body bytes at the backend', () => backend.received(0).includes('abc'));
    await expectErrorThenClose(client, 408, { timeoutMs: 5_000 });
    await backend.waitForAllClosed(3_000);
    expect(backend.requests().length, backend.describe()).toBe(0);
  });

  it('408 for a client that sends a head announcing a body, then nothing', async () => {
    const backend = await ScriptedBackend.start(ok);
    const lb = await startEdgeBalancer([backend.address], { timeouts: { clientBodyMs: 400, responseMs: 10_000 } });
    const client = await RawClient.connect(lb.port);
    await client.write('POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n');
    await expectErrorThenClose(client, 408, { timeoutMs: 5_000 });
    await backend.waitForAllClosed(3_000);
    expect(backend.requests().length, backend.describe()).toBe(0);
  });

  it('408 the same when the head and the first body bytes arrive in separate writes', async () => {
    const backend = await ScriptedBackend.start(ok);
    const lb = await startEdgeBalancer([backend.address], { timeouts: { clientBodyMs: 400, responseMs: 10_000 } });
    const client = await RawClient.connect(lb.port);
    await client.write('POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n');
    await waitUntil('the head at the backend', () => backend.received(0).includes('\r\n\r\n'));
    await client.write('abc');
    await waitUntil('3 body bytes at the backend', () => backend.received(0).includes('abc'));
    await expectErrorThenClose(client, 408, { timeoutMs: 5_000 });
    await backend.waitForAllClosed(3_000);
    expect(backend.requests().length, backend.describe()).toBe(0);
  });
});

describe('backend response timeout (timeouts.responseMs)', () => {
  it('504 when the backend accepts the request and never answers; that backend connection is closed', async () => {
    const backend = await ScriptedBackend.start(() => new Promise<Reply>(() => {}));
    const lb = await startEdgeBalancer([backend.address], { timeouts: { responseMs: 400 } });
    const client = await RawClient.connect(lb.port);
    await client.write('GET /never HTTP/1.1\r\nHost: h\r\n\r\n');
    await expectErrorThenClose(client, 504, { timeoutMs: 5_000 });
    expect(backend.requests().map((r) => r.target)).toEqual(['/never']);
    // The proxy closed its side (this backend, stuck in its script, never closes its own).
    await waitUntil('the proxy to close the backend connection', () => backend.connections[0]!.peerClosed, { timeoutMs: 3_000 });
  });
});

describe('backend connect failures (timeouts.connectMs)', () => {
  it('502 when the backend refuses the connection', async () => {
    const port = await refusedPort();
    const lb = await startEdgeBalancer([`127.0.0.1:${port}`], { timeouts: { connectMs: 500 } });
    const client = await RawClient.connect(lb.port);
    await client.write('GET / HTTP/1.1\r\nHost: h\r\n\r\n');
    await expectErrorThenClose(client, 502, { timeoutMs: 5_000 });
    expect(lb.stats().backends[0]!.connectErrors).toBeGreaterThanOrEqual(1);
  });

  it('502 when the backend connect never completes (SYN unanswered: a listener whose accept queue is full)', async () => {
    const port = await hangingListenerPort();
    // On a host where a full accept queue still completes connections, a hung connect
    // cannot be produced on loopback: fail loudly rather than pass without checking.
    expect(port, 'could not produce a hanging connect on this host').toBeDefined();
    const lb = await startEdgeBalancer([`127.0.0.1:${port}`], { timeouts: { connectMs: 300, responseMs: 20_000 } });
    const client = await RawClient.connect(lb.port);
    await client.write('GET / HTTP/1.1\r\nHost: h\r\n\r\n');
    await expectErrorThenClose(client, 502, { timeoutMs: 8_000 });
    // A connect failure, not a response timeout (responseMs is far longer).
    expect(lb.stats().backends[0]!.connectErrors).toBeGreaterThanOrEqual(1);
  });
});
