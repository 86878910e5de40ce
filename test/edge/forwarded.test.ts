// Client-identity headers. Default ('x-forwarded', untrusted): the backend sees
// X-Forwarded-For/-Proto/-Host written by the proxy and none of the client's. Trusted:
// X-Forwarded-For is appended to, the client's -Proto/-Host kept. 'forwarded': RFC 7239.
// 'none': nothing added, the client's headers passed through.
import { afterEach, describe, expect, it } from 'vitest';
import { runCleanups } from '../helpers/cleanup.js';
import { RawClient } from '../helpers/raw-client.js';
import { ScriptedBackend } from '../helpers/scripted-backend.js';
import { buildResponse, printable } from '../helpers/http-message.js';
import { linesNamed, startEdgeBalancer, type EdgeOptions } from './support.js';

afterEach(runCleanups);

const FORGED =
  'X-Forwarded-For: 6.6.6.6\r\n' +
  'X-Forwarded-Proto: https\r\n' +
  'X-Forwarded-Host: evil.example\r\n' +
  'Forwarded: for=6.6.6.6;proto=https\r\n';

/** Sends `request` through a balancer with `options`; returns the head bytes the backend got. */
async function forwardedHead(request: string, options: EdgeOptions = {}, connectHost = '127.0.0.1'): Promise<Buffer> {
  const backend = await ScriptedBackend.start(() => ({ bytes: buildResponse(200, 'ok', { reason: 'OK' }) }));
  const lb = await startEdgeBalancer([backend.address], options);
  const client = await RawClient.connect(lb.port, { host: connectHost });
  await client.write(request);
  const res = await client.readResponse();
  expect(res.status, printable(client.received())).toBe(200);
  await backend.waitForRequests(1);
  return backend.received(0);
}

const forwardingLines = (raw: Buffer): string[] =>
  ['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'forwarded'].flatMap((n) => linesNamed(raw, n));

describe("mode 'x-forwarded' (the default), not trusting the client", () => {
  it('adds X-Forwarded-For/-Proto/-Host', async () => {
    const raw = await forwardedHead('GET / HTTP/1.1\r\nHost: h.example:8080\r\n\r\n');
    expect(forwardingLines(raw).sort(), printable(raw)).toEqual(
      ['X-Forwarded-For: 127.0.0.1', 'X-Forwarded-Host: h.example:8080', 'X-Forwarded-Proto: http'].sort(),
    );
  });

  it("strips the client's X-Forwarded-For/-Proto/-Host and Forwarded", async () => {
    const raw = await forwardedHead(`GET / HTTP/1.1\r\nHost: h\r\n${FORGED}\r\n`);
    expect(forwardingLines(raw).sort(), printable(raw)).toEqual(
      ['X-Forwarded-For: 127.0.0.1', 'X-Forwarded-Host: h', 'X-Forwarded-Proto: http'].sort(),
    );
    expect(raw.includes('6.6.6.6'), printable(raw)).toBe(false);
    expect(raw.includes('evil.example'), printable(raw)).toBe(false);
  });

  it('strips forged headers whatever their case', async () => {
    const raw = await forwardedHead('GET / HTTP/1.1\r\nHost: h\r\nx-forwarded-for: 6.6.6.6\r\nFORWARDED: for=6.6.6.6\r\n\r\n');
    expect(raw.includes('6.6.6.6'), printable(raw)).toBe(false);
    expect(linesNamed(raw, 'x-forwarded-for'), printable(raw)).toEqual(['X-Forwarded-For: 127.0.0.1']);
  });

  it('strips the other X-Forwarded-* headers a client may forge (X-Forwarded-Port, X-Forwarded-Server)', async () => {
    const raw = await forwardedHead('GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-Port: 443\r\nX-Forwarded-Server: evil\r\n\r\n');
    expect(linesNamed(raw, 'x-forwarded-port'), printable(raw)).toEqual([]);
    expect(linesNamed(raw, 'x-forwarded-server'), printable(raw)).toEqual([]);
  });

  it('adds no X-Forwarded-Host for an HTTP/1.0 request without Host', async () => {
    const raw = await forwardedHead('GET / HTTP/1.0\r\n\r\n');
    expect(forwardingLines(raw).sort(), printable(raw)).toEqual(['X-Forwarded-For: 127.0.0.1', 'X-Forwarded-Proto: http']);
  });

  it('is what an explicit { mode: "x-forwarded", trustIncoming: false } does', async () => {
    const raw = await forwardedHead(`GET / HTTP/1.1\r\nHost: h\r\n${FORGED}\r\n`, {
      forwarded: { mode: 'x-forwarded', trustIncoming: false },
    });
    expect(forwardingLines(raw).sort(), printable(raw)).toEqual(
      ['X-Forwarded-For: 127.0.0.1', 'X-Forwarded-Host: h', 'X-Forwarded-Proto: http'].sort(),
    );
  });
});

describe("mode 'x-forwarded', trusting the client", () => {
  const options: EdgeOptions = { forwarded: { mode: 'x-forwarded', trustIncoming: true } };

  it("appends the client address to X-Forwarded-For and keeps the client's -Proto and -Host", async () => {
    const raw = await forwardedHead(
      'GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 10.0.0.1\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: orig.example\r\n\r\n',
      options,
    );
    expect(linesNamed(raw, 'x-forwarded-for'), printable(raw)).toEqual(['X-Forwarded-For: 10.0.0.1, 127.0.0.1']);
    expect(linesNamed(raw, 'x-forwarded-proto'), printable(raw)).toEqual(['X-Forwarded-Proto: https']);
    expect(linesNamed(raw, 'x-forwarded-host'), printable(raw)).toEqual(['X-Forwarded-Host: orig.example']);
  });

  it('folds several X-Forwarded-For headers into one list, in order, then appends', async () => {
    const raw = await forwardedHead(
      'GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 10.0.0.1\r\nX-Forwarded-For: 10.0.0.2, 10.0.0.3\r\n\r\n',
      options,
    );
    expect(linesNamed(raw, 'x-forwarded-for'), printable(raw)).toEqual([
      'X-Forwarded-For: 10.0.0.1, 10.0.0.2, 10.0.0.3, 127.0.0.1',
    ]);
    expect(linesNamed(raw, 'x-forwarded-proto'), printable(raw)).toEqual(['X-Forwarded-Proto: http']);
    expect(linesNamed(raw, 'x-forwarded-host'), printable(raw)).toEqual(['X-Forwarded-Host: h']);
  });
});

describe("mode 'forwarded' (RFC 7239)", () => {
  it('adds Forwarded: for=127.0.0.1;host="h";proto=http and strips every forged identity header', async () => {
    const raw = await forwardedHead(`GET / HTTP/1.1\r\nHost: h\r\n${FORGED}\r\n`, {
      forwarded: { mode: 'forwarded', trustIncoming: false },
    });
    expect(forwardingLines(raw), printable(raw)).toEqual(['Forwarded: for=127.0.0.1;host="h";proto=http']);
  });

  it('quotes and brackets an IPv6 client: for="[::1]"', async () => {
    const raw = await forwardedHead(
      'GET / HTTP/1.1\r\nHost: h\r\n\r\n',
      { listen: '[::1]:0', forwarded: { mode: 'forwarded', trustIncoming: false } },
      '::1',
    );
    expect(forwardingLines(raw), printable(raw)).toEqual(['Forwarded: for="[::1]";host="h";proto=http']);
  });

  it('trusted: appends to the Forwarded list the client sent', async () => {
    const raw = await forwardedHead('GET / HTTP/1.1\r\nHost: h\r\nForwarded: for=10.0.0.1\r\n\r\n', {
      forwarded: { mode: 'forwarded', trustIncoming: true },
    });
    expect(linesNamed(raw, 'forwarded'), printable(raw)).toEqual(['Forwarded: for=10.0.0.1, for=127.0.0.1;host="h";proto=http']);
  });
});

describe("mode 'none'", () => {
  it("adds nothing and passes the client's identity headers through untouched", async () => {
    const raw = await forwardedHead(`GET / HTTP/1.1\r\nHost: h\r\n${FORGED}\r\n`, {
      forwarded: { mode: 'none', trustIncoming: false },
    });
    expect(forwardingLines(raw), printable(raw)).toEqual([
      'X-Forwarded-For: 6.6.6.6',
      'X-Forwarded-Proto: https',
      'X-Forwarded-Host: evil.example',
      'Forwarded: for=6.6.6.6;proto=https',
    ]);
  });

  it('adds nothing when the client sent nothing', async () => {
    const raw = await forwardedHead('GET / HTTP/1.1\r\nHost: h\r\n\r\n', { forwarded: { mode: 'none', trustIncoming: false } });
    expect(forwardingLines(raw), printable(raw)).toEqual([]);
  });
});
