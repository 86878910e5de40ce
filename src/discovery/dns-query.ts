// Sends one DNS query to one server: over UDP, again over TCP when the answer comes back
// truncated. Bounded: each try times out, and a failed query says why (ETIMEOUT,
// NXDOMAIN, SERVFAIL, ...).
import { randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { isIPv6, connect } from 'node:net';

import { DnsQueryError } from '../errors.js';
import { type DnsQueryType, type DnsResponse, decodeResponse, dnsRcodes, encodeQuery } from './dns-message.js';

/** A DNS server: numeric host (no brackets) and port. */
export interface DnsServer {
  host: string;
  port: number;
}

export interface DnsQueryOptions {
  /** Each try (UDP datagram, or the TCP exchange) must be answered within this. Default 2000. */
  timeoutMs?: number;
  /** UDP tries before giving up. Default 2. */
  tries?: number;
}

/**
 * Asks `server` for `name`/`type`. Resolves with the response when its RCODE is NOERROR
 * (the answer section may still be empty: NODATA); rejects with DnsQueryError otherwise (its `reason` is ETIMEOUT, ECONNREFUSED, EBADRESP or the RCODE name).
 */
export async function queryDns(
  server: DnsServer,
  name: string,
  type: DnsQueryType,
  options: DnsQueryOptions = {},
): Promise<DnsResponse> {
  const timeoutMs = options.timeoutMs ?? 2_000;
  const tries = Math.max(1, options.tries ?? 2);
  const where = `${name} ${type} @${isIPv6(server.host) ? `[${server.host}]` : server.host}:${server.port}`;
  let response: DnsResponse | undefined;
  let lastError: unknown;
  for (let attempt = 0; attempt < tries && !response; attempt++) {
    try {
      response = await udpExchange(server, name, type, timeoutMs);
    } catch (error) {
      lastError = error;
      // An ICMP port unreachable will not improve on a retry within milliseconds.
      if ((error as { code?: unknown }).code === 'ECONNREFUSED') break;
    }
  }
  if (!response) {
    const code = (lastError as { code?: unknown } | undefined)?.code;
    throw new DnsQueryError(
      typeof code === 'string' ? code : 'ETIMEOUT',
      `DNS query ${where} failed: ${lastError instanceof Error ? lastError.message : String(lastError)}`,
      { cause: lastError },
    );
  }
  if (response.truncated) {
    try {
      response = await tcpExchange(server, name, type, timeoutMs);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      throw new DnsQueryError(
        typeof code === 'string' ? code : 'ETIMEOUT',
        `DNS query ${where} over TCP failed: ${String(error)}`,
        {
          cause: error,
        },
      );
    }
  }
  if (response.rcode !== 0) {
    const rcode = dnsRcodes[response.rcode] ?? `RCODE${response.rcode}`;
    throw new DnsQueryError(rcode, `DNS query ${where}: ${rcode}`);
  }
  return response;
}

function timeoutError(timeoutMs: number): Error {
  return Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEOUT' });
}

function udpExchange(server: DnsServer, name: string, type: DnsQueryType, timeoutMs: number): Promise<DnsResponse> {
  const id = randomInt(0, 0x10000);
  const query = encodeQuery(id, name, type);
  return new Promise<DnsResponse>((resolve, reject) => {
    const socket = createSocket(isIPv6(server.host) ? 'udp6' : 'udp4');
    let done = false;
    const finish = (error: unknown, response?: DnsResponse): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.close();
      if (response) resolve(response);
      else reject(error);
    };
    const timer = setTimeout(() => finish(timeoutError(timeoutMs)), timeoutMs);
    socket.on('error', (error) => finish(error));
    socket.on('message', (message, remote) => {
      // Only the server's answer to this query counts; anything else is ignored.
      if (remote.port !== server.port || message.length < 2 || message.readUInt16BE(0) !== id) return;
      try {
        finish(undefined, decodeResponse(message));
      } catch (error) {
        finish(error);
      }
    });
    // connect() makes the kernel report ICMP port unreachable as ECONNREFUSED.
    socket.connect(server.port, server.host, () => socket.send(query));
  });
}

function tcpExchange(server: DnsServer, name: string, type: DnsQueryType, timeoutMs: number): Promise<DnsResponse> {
  const id = randomInt(0, 0x10000);
  const query = encodeQuery(id, name, type);
  const framed = Buffer.concat([Buffer.from([query.length >> 8, query.length & 0xff]), query]);
  return new Promise<DnsResponse>((resolve, reject) => {
    const socket = connect({ host: server.host, port: server.port });
    const chunks: Buffer[] = [];
    let received = 0;
    let done = false;
    const finish = (error: unknown, response?: DnsResponse): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      if (response) resolve(response);
      else reject(error);
    };
    const timer = setTimeout(() => finish(timeoutError(timeoutMs)), timeoutMs);
    socket.on('error', (error) => finish(error));
    socket.on('connect', () => socket.write(framed));
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      received += chunk.length;
      if (received < 2) return;
      const all = Buffer.concat(chunks);
      const length = all.readUInt16BE(0);
      if (all.length < 2 + length) return;
      try {
        const response = decodeResponse(all.subarray(2, 2 + length));
        if (response.id !== id) throw Object.assign(new Error('answer for another query'), { code: 'EBADRESP' });
        finish(undefined, response);
      } catch (error) {
        finish(error);
      }
    });
    socket.on('end', () => finish(Object.assign(new Error('connection closed before a full answer'), { code: 'EBADRESP' })));
  });
}
