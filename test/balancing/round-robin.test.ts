// Which backend gets a request: round-robin, weights, states, and what the client gets
// when no backend can take it.
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { runCleanups } from '../helpers/cleanup.js';
import { RawClient, exchange } from '../helpers/raw-client.js';
import { ScriptedBackend, describeReply } from '../helpers/scripted-backend.js';
import { header, printable } from '../helpers/http-message.js';
import { startBalancer } from '../helpers/balancer.js';
import { waitUntil } from '../helpers/wait.js';

afterEach(runCleanups);

/** A 127.0.0.1 port that nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Sends `n` requests one after another on one connection; returns each X-Backend. */
async function sequence(port: number, n: number): Promise<string[]> {
  const client = await RawClient.connect(port);
  const names: string[] = [];
  for (let i = 0; i < n; i++) {
    await client.write(`GET /rr/${i} HTTP/1.1\r\nHost: test.local\r\n\r\n`);
    const res = await client.readResponse();
    expect(res.status, printable(res.raw)).toBe(200);
    names.push(header(res, 'x-backend') ?? '?');
  }
  client.destroy();
  return names;
}

describe('round-robin', () => {
  it('alternates evenly between two equal backends', async () => {
    const b1 = await ScriptedBackend.start((req) => describeReply('b1', req));
    const b2 = await ScriptedBackend.start((req) => describeReply('b2', req));
    // One worker: one round-robin cursor, so the split is exact.
    const lb = await startBalancer({ backends: [b1.address, b2.address], workers: 1 });
    const names = await sequence(lb.port, 40);
    expect(names.filter((n) => n === 'b1').length).toBe(20);
    expect(names.filter((n) => n === 'b2').length).toBe(20);
    // Never the same backend three times in a row.
    for (let i = 2; i < names.length; i++) {
      expect(names[i] === names[i - 1] && names[i] === names[i - 2], names.join(',')).toBe(false);
    }
    const stats = lb.stats();
    expect(stats.backends.map((b) => b.requests)).toEqual([20, 20]);
  });

  it('honours weights 1:3 exactly over whole cycles', async () => {
    const b1 = await ScriptedBackend.start((req) => describeReply('b1', req));
    const b2 = await ScriptedBackend.start((req) => describeReply('b2', req));
    const lb = await startBalancer({
      backends: [b1.address, { address: b2.address, weight: 3 }],
      workers: 1,
    });
    const names = await sequence(lb.port, 40);
    expect(names.filter((n) => n === 'b1').length, names.join(',')).toBe(10);
    expect(names.filter((n) => n === 'b2').length, names.join(',')).toBe(30);
    // Each cycle of 4 holds exactly one b1.
    for (let c = 0; c < 40; c += 4) {
      expect(names.slice(c, c + 4).filter((n) => n === 'b1').length, names.join(',')).toBe(1);
    }
  });

  it('sends nothing to backends in maint or drain state', async () => {
    const b1 = await ScriptedBackend.start((req) => describeReply('b1', req));
    const b2 = await ScriptedBackend.start((req) => describeReply('b2', req));
    const b3 = await ScriptedBackend.start((req) => describeReply('b3', req));
    const lb = await startBalancer({
      backends: [{ address: b1.address, state: 'maint' }, b2.address, { address: b3.address, state: 'drain' }],
    });
    const names = await sequence(lb.port, 10);
    expect(names).toEqual(Array(10).fill('b2'));
    expect(b1.acceptedCount).toBe(0);
    expect(b3.acceptedCount).toBe(0);
  });
});

describe('no usable backend', () => {
  it('answers 502 when the only backend refuses connections', async () => {
    const port = await closedPort();
    const lb = await startBalancer({ backends: [`127.0.0.1:${port}`] });
    const { responses, received } = await exchange(lb.port, 'GET /down HTTP/1.1\r\nHost: test.local\r\n\r\n');
    expect(responses[0]!.status, printable(received)).toBe(502);
    await waitUntil('connectErrors counted', () => lb.stats().backends[0]!.connectErrors >= 1);
    expect(lb.stats().badGateway).toBeGreaterThanOrEqual(1);
  });

  it('the client connection survives a 502 when the client asked for keep-alive', async () => {
    const port = await closedPort();
    const lb = await startBalancer({ backends: [`127.0.0.1:${port}`] });
    const client = await RawClient.connect(lb.port);
    for (let i = 0; i < 2; i++) {
      await client.write('GET /down HTTP/1.1\r\nHost: test.local\r\n\r\n');
      const res = await client.readResponse();
      expect(res.status, printable(client.received())).toBe(502);
      // Either the proxy keeps the connection (the next request is answered too) or it
      // says Connection: close and closes: it must not leave the client guessing.
      if (res.headers.some(([n, v]) => n.toLowerCase() === 'connection' && /close/i.test(v))) {
        expect(await client.waitForServerClose()).toBe(true);
        return;
      }
    }
  });

  it('fails over to the other backend when one refuses connections: every request gets 200', async () => {
    const port = await closedPort();
    const up = await ScriptedBackend.start((req) => describeReply('up', req));
    const lb = await startBalancer({ backends: [`127.0.0.1:${port}`, up.address], workers: 1 });
    const names = await sequence(lb.port, 6);
    expect(names).toEqual(Array(6).fill('up'));
    expect(lb.stats().backends[0]!.connectErrors).toBeGreaterThanOrEqual(1);
  });

  it('answers 503 when every backend is in maint state (an empty backend list is refused by createBalancer)', async () => {
    const b1 = await ScriptedBackend.start((req) => describeReply('b1', req));
    const b2 = await ScriptedBackend.start((req) => describeReply('b2', req));
    const lb = await startBalancer({
      backends: [
        { address: b1.address, state: 'maint' },
        { address: b2.address, state: 'maint' },
      ],
    });
    const { responses, received } = await exchange(lb.port, 'GET /none HTTP/1.1\r\nHost: test.local\r\n\r\n');
    expect(responses[0]!.status, printable(received)).toBe(503);
    expect(b1.acceptedCount + b2.acceptedCount).toBe(0);
    await waitUntil('noBackend counted', () => lb.stats().noBackend >= 1);
  });
});
