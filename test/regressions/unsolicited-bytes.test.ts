// A backend connection that holds bytes nobody asked for (a second response after the
// first, or garbage) must never be reused: if it were, the next client would receive the
// unsolicited response instead of its own (response desynchronisation).
import { afterEach, describe, expect, it } from 'vitest';
import { runCleanups } from '../helpers/cleanup.js';
import { RawClient } from '../helpers/raw-client.js';
import { ScriptedBackend, type Reply } from '../helpers/scripted-backend.js';
import { buildResponse, header, printable, type HttpMessage } from '../helpers/http-message.js';
import { startBalancer } from '../helpers/balancer.js';
import { waitUntil } from '../helpers/wait.js';

afterEach(runCleanups);

const UNSOLICITED = buildResponse(200, 'UNSOLICITED', { reason: 'OK', headers: { 'X-Request-Id': 'unsolicited' } });

const own = (req: HttpMessage): Buffer => {
  const id = header(req, 'x-request-id') ?? '';
  return buildResponse(200, `own ${id}`, { reason: 'OK', headers: { 'X-Request-Id': id } });
};

async function checkSequence(
  extra: (req: HttpMessage) => Pick<Reply, 'bytes' | 'extra' | 'extraDelayMs'>,
  { newClientEachTime }: { newClientEachTime: boolean },
): Promise<void> {
  // Only the first request on each backend connection gets the extra bytes.
  const backend = await ScriptedBackend.start((req, ctx) => (ctx.indexOnConnection === 0 ? extra(req) : { bytes: own(req) }));
  const lb = await startBalancer({ backends: [backend.address], workers: 1 });
  let client = await RawClient.connect(lb.port);
  for (let i = 0; i < 4; i++) {
    if (newClientEachTime && i > 0) {
      client.destroy();
      client = await RawClient.connect(lb.port);
    }
    await client.write(`GET /u/${i} HTTP/1.1\r\nHost: test.local\r\nX-Request-Id: u${i}\r\n\r\n`);
    const res = await client.readResponse();
    const context = `${printable(client.received())}\n${backend.describe()}`;
    expect(res.body.toString(), context).not.toContain('UNSOLICITED');
    expect(res.status, context).toBe(200);
    expect(header(res, 'x-request-id'), context).toBe(`u${i}`);
    expect(res.body.toString(), context).toBe(`own u${i}`);
    // Wait for the late extra bytes to have been written before the next request goes out.
    await waitUntil(`request ${i} answered by the backend`, () => backend.requests().length > i);
    await backend.waitForQuiet();
  }
  expect(client.unread().length, printable(client.unread())).toBe(0);
  // Whatever the proxy does with the tainted connections, no request may be written to one
  // after its unsolicited bytes: every connection carried exactly one request.
  expect(
    backend.connections.map((c) => c.requests.length),
    backend.describe(),
  ).toEqual([1, 1, 1, 1]);
}

describe('regression: unsolicited bytes on a pooled backend connection', () => {
  for (const newClientEachTime of [false, true]) {
    const who = newClientEachTime ? 'a new client each time' : 'one keep-alive client';
    it(`a second response written in the same write as the first is never delivered (${who})`, async () => {
      await checkSequence((req) => ({ bytes: Buffer.concat([own(req), UNSOLICITED]) }), { newClientEachTime });
    });

    it(`a second response written 30 ms after the first (while pooled) is never delivered (${who})`, async () => {
      await checkSequence((req) => ({ bytes: own(req), extra: UNSOLICITED, extraDelayMs: 30 }), { newClientEachTime });
    });
  }

  it('garbage after a response is never delivered to the next client', async () => {
    await checkSequence((req) => ({ bytes: own(req), extra: 'garbage\r\n\r\n', extraDelayMs: 30 }), {
      newClientEachTime: true,
    });
  });
});
