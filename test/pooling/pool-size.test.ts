// pool.maxIdlePerBackend bounds the idle connections a worker keeps per backend for the
// idle timeout. Connections a burst leaves beyond it are surplus: kept briefly so that
// the next burst does not have to reconnect, then closed if still idle.
import { afterEach, describe, expect, it } from 'vitest';
import { runCleanups } from '../helpers/cleanup.js';
import { RawClient } from '../helpers/raw-client.js';
import { ScriptedBackend, describeReply, type Reply } from '../helpers/scripted-backend.js';
import { printable } from '../helpers/http-message.js';
import { startBalancer } from '../helpers/balancer.js';
import { waitUntil } from '../helpers/wait.js';

afterEach(runCleanups);

const BURST = 6;

/** A backend that answers nothing until `BURST` requests are waiting, then answers them all. */
async function burstBackend(): Promise<ScriptedBackend> {
  let waiting: Array<() => void> = [];
  return ScriptedBackend.start(async (req): Promise<Reply> => {
    const released = new Promise<void>((resolve) => waiting.push(resolve));
    if (waiting.length >= BURST) {
      for (const release of waiting) release();
      waiting = [];
    }
    await released;
    return describeReply('b1', req);
  });
}

async function burst(port: number, round: number): Promise<void> {
  const clients = await Promise.all(Array.from({ length: BURST }, () => RawClient.connect(port)));
  await Promise.all(
    clients.map((c, i) => c.write(`GET /r${round}/${i} HTTP/1.1\r\nHost: t\r\nX-Request-Id: r${round}-${i}\r\n\r\n`)),
  );
  const responses = await Promise.all(clients.map((c) => c.readResponse()));
  responses.forEach((res, i) => {
    expect(res.status, printable(res.raw)).toBe(200);
    expect(res.body.toString()).toBe(`b1 GET /r${round}/${i} id=r${round}-${i}`);
  });
  for (const c of clients) c.destroy();
}

describe('pool size', () => {
  it('keeps the connections of a burst beyond maxIdlePerBackend only briefly, then trims back to it', async () => {
    const backend = await burstBackend();
    // The surplus window is long enough to be seen by polling even on a loaded machine.
    const lb = await startBalancer({
      backends: [backend.address],
      workers: 1,
      pool: { maxIdlePerBackend: 2, surplusIdleMs: 3_000 },
    });

    await burst(lb.port, 0);
    // The backend held every request until all six were there: six connections.
    expect(backend.acceptedCount, backend.describe()).toBe(BURST);
    // All six are parked when the responses are done...
    await waitUntil('burst connections parked', () => lb.stats().backends[0]!.idleConnections === BURST);
    // ...and the four surplus ones close once idle for a while; the two the pool keeps stay.
    await waitUntil('pool trimmed to maxIdlePerBackend', () => lb.stats().backends[0]!.idleConnections === 2);
    await waitUntil('surplus connections closed', () => backend.connections.filter((c) => c.closed).length === BURST - 2);

    // The next burst reuses the two kept connections and opens four.
    await burst(lb.port, 1);
    expect(backend.acceptedCount, backend.describe()).toBe(BURST + 4);
    expect(lb.stats().backends[0]!.connectionsOpened).toBe(BURST + 4);
  });

  it('surplusIdleMs 0 closes connections beyond maxIdlePerBackend at once (a hard cap)', async () => {
    const backend = await burstBackend();
    const lb = await startBalancer({ backends: [backend.address], workers: 1, pool: { maxIdlePerBackend: 2, surplusIdleMs: 0 } });
    await burst(lb.port, 0);
    expect(backend.acceptedCount, backend.describe()).toBe(BURST);
    await waitUntil('surplus connections closed', () => backend.connections.filter((c) => c.closed).length === BURST - 2);
    expect(lb.stats().backends[0]!.idleConnections).toBe(2);
  });

  it('maxIdlePerBackend 0 keeps no idle connection at all', async () => {
    const backend = await ScriptedBackend.start((req) => describeReply('b1', req));
    const lb = await startBalancer({ backends: [backend.address], workers: 1, pool: { maxIdlePerBackend: 0 } });
    const client = await RawClient.connect(lb.port);
    for (let i = 0; i < 3; i++) {
      await client.write(`GET /n/${i} HTTP/1.1\r\nHost: t\r\nX-Request-Id: n${i}\r\n\r\n`);
      const res = await client.readResponse();
      expect(res.status, printable(res.raw)).toBe(200);
      // Closed right after its response, before the next request goes out.
      await waitUntil(`backend connection ${i} closed`, () => backend.connections[i]?.closed === true);
    }
    expect(backend.acceptedCount).toBe(3);
    expect(lb.stats().backends[0]!.idleConnections).toBe(0);
  });
});
