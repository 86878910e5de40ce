// The DNS wire format used for SRV (dns-message.ts), the UDP/TCP query (dns-query.ts),
// and the SRV rules (srv.ts), on hand-made messages and a scripted loopback server.
import { createSocket } from 'node:dgram';
import { type AddressInfo, createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';

import { DnsFormatError, decodeResponse, encodeName, encodeQuery } from '../../src/discovery/dns-message.js';
import { queryDns } from '../../src/discovery/dns-query.js';
import { parseDnsServer } from '../../src/discovery/dns-resolver.js';
import { priorityGroups, resolveSrv, srvWeightToBackendWeight } from '../../src/discovery/srv.js';
import { DnsQueryError } from '../../src/errors.js';
import { onCleanup, runCleanups } from '../helpers/cleanup.js';

afterEach(runCleanups);

const u16 = (n: number): number[] => [n >> 8, n & 0xff];
const u32 = (n: number): number[] => [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];

/** A response to `query` (its id and question), with `answers`/`additional` given as raw record bytes. */
function response(
  query: Buffer,
  { rcode = 0, truncated = false, answers = [] as number[][], additional = [] as number[][] } = {},
): Buffer {
  const question = query.subarray(12, query.length - 11); // without the OPT record
  const flags = 0x8180 | (truncated ? 0x0200 : 0) | rcode;
  return Buffer.from([
    ...query.subarray(0, 2),
    ...u16(flags),
    ...u16(1),
    ...u16(answers.length),
    ...u16(0),
    ...u16(additional.length),
    ...question,
    ...answers.flat(),
    ...additional.flat(),
  ]);
}

/** A record whose owner is a pointer to the question name (offset 12). */
function record(type: number, ttl: number, data: number[], owner: number[] = [0xc0, 12]): number[] {
  return [...owner, ...u16(type), ...u16(1), ...u32(ttl), ...u16(data.length), ...data];
}

const srv = (priority: number, weight: number, port: number, target: string): number[] => [
  ...u16(priority),
  ...u16(weight),
  ...u16(port),
  ...encodeName(target),
];

describe('wire format', () => {
  it('encodes a recursive query with an EDNS0 OPT record', () => {
    const query = encodeQuery(0x1234, '_http._tcp.Web.test.', 'SRV');
    expect([...query.subarray(0, 12)]).toEqual([0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1]);
    expect(query.subarray(12, 12 + 21).toString('latin1')).toBe('\x05_http\x04_tcp\x03Web\x04test\x00');
    expect([...query.subarray(query.length - 15, query.length - 11)]).toEqual([0, 33, 0, 1]);
    expect([...query.subarray(query.length - 11)]).toEqual([0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]);
    expect(() => encodeName('a..b')).toThrow(RangeError);
    expect(() => encodeName(`${'x'.repeat(64)}.test`)).toThrow(RangeError);
  });

  it('decodes A, AAAA, SRV and CNAME records with their TTLs, through compression pointers', () => {
    const query = encodeQuery(7, 'web.test', 'A');
    const message = response(query, {
      answers: [
        record(5, 60, [3, ...Buffer.from('www'), 0xc0, 12]), // CNAME www.web.test
        record(1, 30, [127, 0, 0, 2]),
        record(28, 2147483648, [0x20, 0x01, 0x0d, 0xb8, ...Array<number>(11).fill(0), 1]), // top bit: TTL 0
        record(33, 5, srv(10, 60, 8080, 'T2.Test')),
      ],
      additional: [record(1, 9, [127, 0, 0, 3], [...encodeName('t2.test')])],
    });
    const decoded = decodeResponse(message);
    expect(decoded).toMatchObject({ id: 7, truncated: false, rcode: 0 });
    expect(decoded.answers).toEqual([
      { name: 'web.test', ttl: 60, type: 'CNAME', target: 'www.web.test' },
      { name: 'web.test', ttl: 30, type: 'A', address: '127.0.0.2' },
      { name: 'web.test', ttl: 0, type: 'AAAA', address: '2001:db8::1' },
      { name: 'web.test', ttl: 5, type: 'SRV', priority: 10, weight: 60, port: 8080, target: 't2.test' },
    ]);
    expect(decoded.additional).toEqual([{ name: 't2.test', ttl: 9, type: 'A', address: '127.0.0.3' }]);
  });

  it('formats IPv6 addresses canonically', () => {
    const query = encodeQuery(1, 'x.test', 'AAAA');
    const v6 = (bytes: number[]) => decodeResponse(response(query, { answers: [record(28, 1, bytes)] })).answers[0];
    expect(v6([...Array<number>(15).fill(0), 1])).toMatchObject({ address: '::1' });
    expect(v6([0, 1, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 3])).toMatchObject({ address: '1:0:0:2::3' });
    expect(v6([...Array<number>(10).fill(0), 0xff, 0xff, 127, 0, 0, 1])).toMatchObject({ address: '::ffff:127.0.0.1' });
    expect(v6([0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0xab, 0, 0, 0, 0, 0, 0])).toMatchObject({ address: 'fe80::ab:0:0:0' });
  });

  it('rejects malformed messages with DnsFormatError', () => {
    const query = encodeQuery(1, 'x.test', 'A');
    const good = response(query, { answers: [record(1, 1, [127, 0, 0, 1])] });
    expect(() => decodeResponse(good.subarray(0, good.length - 2))).toThrow(DnsFormatError);
    expect(() => decodeResponse(query)).toThrow(/not a response/);
    // A name that points at itself.
    const loop = Buffer.from(good);
    loop[12] = 0xc0;
    loop[13] = 12;
    expect(() => decodeResponse(loop)).toThrow(/loop/);
    expect(() => decodeResponse(response(query, { answers: [record(1, 1, [127, 0, 0])] }))).toThrow(/A record of 3 bytes/);
    expect(() => decodeResponse(Buffer.alloc(5))).toThrow(DnsFormatError);
  });
});

/** A scripted DNS server on 127.0.0.1 (UDP and TCP on the same port): `answer(query, over)` returns the response. */
async function scriptedServer(
  answer: (query: Buffer, over: 'udp' | 'tcp') => Buffer | undefined,
): Promise<{ port: number; queries: string[] }> {
  const queries: string[] = [];
  const tcp = createServer((socket) => {
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length < 2 || buffered.length < 2 + buffered.readUInt16BE(0)) return;
      const query = buffered.subarray(2, 2 + buffered.readUInt16BE(0));
      queries.push('tcp');
      const out = answer(query, 'tcp');
      if (out) socket.end(Buffer.concat([Buffer.from(u16(out.length)), out]));
    });
  });
  await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
  const port = (tcp.address() as AddressInfo).port;
  const udp = createSocket('udp4');
  udp.on('message', (query, remote) => {
    queries.push('udp');
    const out = answer(query, 'udp');
    if (out) udp.send(out, remote.port, remote.address);
  });
  await new Promise<void>((resolve) => udp.bind(port, '127.0.0.1', resolve));
  onCleanup(() => new Promise<void>((resolve) => udp.close(() => resolve())));
  onCleanup(() => new Promise<void>((resolve) => tcp.close(() => resolve())));
  return { port, queries };
}

describe('queries', () => {
  it('asks again over TCP when the UDP answer is truncated', async () => {
    const server = await scriptedServer((query, over) =>
      over === 'udp'
        ? response(query, { truncated: true })
        : response(query, { answers: [record(33, 4, srv(0, 5, 80, 'a.test'))] }),
    );
    const answer = await queryDns({ host: '127.0.0.1', port: server.port }, '_x._tcp.test', 'SRV');
    expect(server.queries).toEqual(['udp', 'tcp']);
    expect(answer.answers).toEqual([
      { name: '_x._tcp.test', ttl: 4, type: 'SRV', priority: 0, weight: 5, port: 80, target: 'a.test' },
    ]);
  });

  it('fails with the RCODE name, or ETIMEOUT after its tries', async () => {
    const server = await scriptedServer((query) =>
      decodeName(query) === 'gone.test' ? response(query, { rcode: 3 }) : undefined,
    );
    const where = { host: '127.0.0.1', port: server.port };
    await expect(queryDns(where, 'gone.test', 'A')).rejects.toMatchObject({ code: 'LB_ERR_DNS_QUERY', reason: 'NXDOMAIN' });
    const started = Date.now();
    const error = await queryDns(where, 'silent.test', 'A', { timeoutMs: 150, tries: 2 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DnsQueryError);
    expect(error).toMatchObject({ code: 'LB_ERR_DNS_QUERY', reason: 'ETIMEOUT' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(280);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('ignores datagrams that do not answer the query', async () => {
    const server = await scriptedServer((query) => {
      const wrong = response(query, { answers: [record(1, 1, [127, 0, 0, 9])] });
      wrong.writeUInt16BE((wrong.readUInt16BE(0) + 1) & 0xffff, 0);
      return wrong;
    });
    await expect(
      queryDns({ host: '127.0.0.1', port: server.port }, 'x.test', 'A', { timeoutMs: 200, tries: 1 }),
    ).rejects.toMatchObject({
      reason: 'ETIMEOUT',
    });
  });
});

function decodeName(query: Buffer): string {
  const labels: string[] = [];
  let i = 12;
  while (query[i]) {
    labels.push(query.toString('latin1', i + 1, i + 1 + query[i]!));
    i += 1 + query[i]!;
  }
  return labels.join('.');
}

describe('SRV rules', () => {
  it('groups by priority, lowest first, dropping "." targets', () => {
    const r = (priority: number, target: string, port = 80) => ({ priority, weight: 1, port, target, ttl: 1 });
    expect(priorityGroups([r(20, 'c'), r(10, 'a'), r(10, ''), r(10, 'b'), r(5, 'x', 0)])).toEqual([
      [r(10, 'a'), r(10, 'b')],
      [r(20, 'c')],
    ]);
  });

  it('clamps SRV weights to the backend range', () => {
    expect([0, 1, 100, 256, 257, 65_535].map(srvWeightToBackendWeight)).toEqual([1, 1, 100, 256, 256, 256]);
  });

  it('takes target addresses from the additional section, else asks; the TTL is the smallest used', async () => {
    const server = await scriptedServer((query) => {
      const name = decodeName(query);
      const type = query.readUInt16BE(query.length - 15);
      if (name === '_web._tcp.test') {
        return response(query, {
          answers: [
            record(33, 50, srv(1, 10, 8080, 'a.test')),
            record(33, 50, srv(1, 20, 8081, 'b.test')),
            record(33, 50, srv(1, 5, 8080, 'a.test')),
          ],
          additional: [record(1, 40, [127, 0, 0, 2], [...encodeName('a.test')])],
        });
      }
      if (name === 'b.test' && type === 1) return response(query, {}); // no A: NODATA
      if (name === 'b.test' && type === 28)
        return response(query, { answers: [record(28, 7, [...Array<number>(15).fill(0), 1])] });
      return response(query, { rcode: 3 });
    });
    const resolved = await resolveSrv({ host: '127.0.0.1', port: server.port }, '_web._tcp.test');
    expect(resolved).toEqual({
      backends: [
        { address: '127.0.0.2:8080', weight: 15 }, // two records for the same target and port add up
        { address: '[::1]:8081', weight: 20 },
      ],
      ttl: 7,
      priority: 1,
    });
  });

  it('parses resolver addresses', () => {
    expect(parseDnsServer('127.0.0.1:5353')).toEqual({ host: '127.0.0.1', port: 5353 });
    expect(parseDnsServer('[::1]:53')).toEqual({ host: '::1', port: 53 });
    expect(parseDnsServer('::1')).toEqual({ host: '::1', port: 53 });
    expect(parseDnsServer('10.0.0.1')).toEqual({ host: '10.0.0.1', port: 53 });
    expect(() => parseDnsServer('ns.example:53')).toThrow(/numeric/);
    expect(() => parseDnsServer('127.0.0.1:70000')).toThrow(/port/);
  });
});
