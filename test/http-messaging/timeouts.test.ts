// What a client sees when a timeout fires: the status, and the connection closing. Each
// timeout is set to 300 ms and the client waits up to 5 s for its effect: a margin of over
// 15x, so this checks that the configured timeout is honoured, not how fast anything is.
import { afterEach, describe, expect, it } from 'vitest';
import { runCleanups } from '../helpers/cleanup.js';
import { RawClient } from '../helpers/raw-client.js';
import { ScriptedBackend, describeReply, type Reply } from '../helpers/scripted-backend.js';
import { printable } from '../helpers/http-message.js';
import { startBalancer } from '../helpers/balancer.js';
import { waitUntil } from '../helpers/wait.js';

afterEach(runCleanups);

describe('timeouts', () => {
  it('an incomplete request head gets 408 after clientHeadMs, the connection closes, the backend sees nothing', async () => {
    const backend = await ScriptedBackend.start((req) => describeReply('b1', req));
    const lb = await startBalancer({ backends: [backend.address], timeouts: { clientHeadMs: 300 } });
    const client = await RawClient.connect(lb.port);
    await client.write('GET /slowloris HTTP/1.1\r\nHost: test.local\r\nX-Partial: ');
    const res = await client.readResponse({ timeoutMs: 5_000 });
    expect(res.status, printable(client.received())).toBe(408);
    expect(await client.waitForServerClose(5_000)).toBe(true);
    expect(backend.bytesReceived()).toBe(0);
  });

  it('a backend that never answers gets the client a 504 after responseMs', async () => {
    const backend = await ScriptedBackend.start(() => new Promise<Reply>(() => {}));
    const lb = await startBalancer({ backends: [backend.address], timeouts: { responseMs: 300 } });
    const client = await RawClient.connect(lb.port);
    await client.write('GET /never HTTP/1.1\r\nHost: test.local\r\n\r\n');
    const res = await client.readResponse({ timeoutMs: 5_000 });
    expect(res.status, printable(client.received())).toBe(504);
    expect(backend.requests().length).toBe(1);
    // The backend connection that timed out is closed, not kept for reuse.
    await waitUntil('the proxy to close the timed-out backend connection', () => backend.connections[0]?.peerClosed === true);
  });

  it('an idle keep-alive client connection is closed after keepAliveMs, with no bytes sent', async () => {
    const backend = await ScriptedBackend.start((req) => describeReply('b1', req));
    const lb = await startBalancer({ backends: [backend.address], timeouts: { keepAliveMs: 300 } });
    const client = await RawClient.connect(lb.port);
    await client.write('GET /ka HTTP/1.1\r\nHost: test.local\r\n\r\n');
    expect((await client.readResponse()).status).toBe(200);
    expect(await client.waitForServerClose(5_000)).toBe(true);
    expect(client.unread().length, printable(client.unread())).toBe(0);
  });
});
