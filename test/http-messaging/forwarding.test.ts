// What the backend receives: the request line and end-to-end headers as the client sent
// them, hop-by-hop headers removed, and the X-Forwarded-* headers the balancer adds.
import { afterEach, describe, expect, it } from 'vitest';
import { runCleanups } from '../helpers/cleanup.js';
import { RawClient } from '../helpers/raw-client.js';
import { ScriptedBackend, describeReply } from '../helpers/scripted-backend.js';
import { header, headerValues, printable, type HttpMessage } from '../helpers/http-message.js';
import { startBalancer } from '../helpers/balancer.js';

afterEach(runCleanups);

type Forwarded = { mode: 'x-forwarded' | 'forwarded' | 'none'; trustIncoming: boolean };

async function forwardOnce(request: string, forwarded: Forwarded): Promise<HttpMessage> {
  const backend = await ScriptedBackend.start((req) => describeReply('b1', req));
  const lb = await startBalancer({ backends: [backend.address], forwarded });
  const client = await RawClient.connect(lb.port);
  await client.write(request);
  const res = await client.readResponse();
  expect(res.status, printable(client.received())).toBe(200);
  expect(backend.requests().length).toBe(1);
  return backend.requests()[0]!;
}

describe('request forwarding', () => {
  it('keeps the method, the exact target and end-to-end headers with their values', async () => {
    const target = "/a%20b/c;p?x=1&y=%2F&z=%E2%9C%93&q='(x)'";
    const seen = await forwardOnce(
      `PATCH ${target} HTTP/1.1\r\nHost: Example.TEST:8080\r\nX-Multi: one\r\nX-Multi: two\r\n` +
        'X-Spaces:   padded value   \r\nAccept: */*\r\nContent-Length: 3\r\n\r\nabc',
      { mode: 'none', trustIncoming: false },
    );
    expect(seen.method).toBe('PATCH');
    expect(seen.target).toBe(target);
    expect(header(seen, 'host')).toBe('Example.TEST:8080');
    expect(headerValues(seen, 'x-multi')).toEqual(['one', 'two']);
    expect(header(seen, 'x-spaces')).toBe('padded value');
    expect(header(seen, 'accept')).toBe('*/*');
    expect(seen.body.toString()).toBe('abc');
    expect(header(seen, 'x-forwarded-for'), printable(seen.raw)).toBeUndefined();
  });

  it('x-forwarded mode: adds the client address to X-Forwarded-For and sets X-Forwarded-Proto and X-Forwarded-Host', async () => {
    const seen = await forwardOnce('GET /xff HTTP/1.1\r\nHost: front.test\r\n\r\n', {
      mode: 'x-forwarded',
      trustIncoming: false,
    });
    expect(header(seen, 'x-forwarded-for'), printable(seen.raw)).toBe('127.0.0.1');
    expect(header(seen, 'x-forwarded-proto'), printable(seen.raw)).toBe('http');
    expect(header(seen, 'x-forwarded-host'), printable(seen.raw)).toBe('front.test');
  });

  it('x-forwarded mode, untrusted (the default at the edge): replaces an X-Forwarded-For the client sent', async () => {
    const seen = await forwardOnce('GET /xff HTTP/1.1\r\nHost: front.test\r\nX-Forwarded-For: 203.0.113.7\r\n\r\n', {
      mode: 'x-forwarded',
      trustIncoming: false,
    });
    expect(headerValues(seen, 'x-forwarded-for'), printable(seen.raw)).toEqual(['127.0.0.1']);
  });

  it('x-forwarded mode with trustIncoming: appends to an X-Forwarded-For the client already sent', async () => {
    const seen = await forwardOnce('GET /xff HTTP/1.1\r\nHost: front.test\r\nX-Forwarded-For: 203.0.113.7\r\n\r\n', {
      mode: 'x-forwarded',
      trustIncoming: true,
    });
    const chain = headerValues(seen, 'x-forwarded-for')
      .join(',')
      .split(',')
      .map((s) => s.trim());
    expect(chain, printable(seen.raw)).toEqual(['203.0.113.7', '127.0.0.1']);
  });
});
