// Clients for the protection tests: raw HTTP/1.1 over a connection from a chosen loopback
// source address (127.0.0.0/8 is all loopback on Linux, so each test client can be a
// different "client address" without leaving the machine).
import net from 'node:net';

import { onCleanup } from '../helpers/cleanup.js';
import { type HttpMessage, parseMessage, printable } from '../helpers/http-message.js';
import { withTimeout } from '../helpers/wait.js';

export interface ClientConnection {
  socket: net.Socket;
  /** Sends a GET and reads its response (rejects if the server closes first). */
  get(path?: string, headers?: Record<string, string>): Promise<HttpMessage>;
  /**
   * Resolves true once the server has closed, false after `timeoutMs`. HTTP listeners
   * defer accept until the first bytes arrive (TCP_DEFER_ACCEPT), so a client refused at
   * accept is seen as closed at once only if it sent something: see `refusedAtAccept`.
   */
  closedWithin(timeoutMs: number): Promise<boolean>;
  /** Sends a request and resolves true if the server closes without a byte of answer. */
  refusedAtAccept(timeoutMs?: number): Promise<boolean>;
  /** Every byte received. */
  received(): Buffer;
}

/** Connects to `host`:`port` from `from` (a loopback address of the same family). */
export async function connectFrom(
  port: number,
  from: string,
  host = from.includes(':') ? '::1' : '127.0.0.1',
): Promise<ClientConnection> {
  const socket = net.connect({ port, host, localAddress: from, noDelay: true });
  onCleanup(() => socket.destroy());
  let pending = Buffer.alloc(0);
  const all: Buffer[] = [];
  let closed = false;
  const waiters = new Set<() => void>();
  const notify = () => {
    for (const w of [...waiters]) w();
  };
  socket.on('data', (data: Buffer) => {
    all.push(data);
    pending = Buffer.concat([pending, data]);
    notify();
  });
  socket.on('error', () => {
    closed = true;
    notify();
  });
  socket.on('close', () => {
    closed = true;
    notify();
  });
  socket.on('end', () => {
    closed = true;
    notify();
  });
  await withTimeout(
    `connect from ${from}`,
    new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    }),
    5_000,
  );
  const until = <T>(check: () => T | undefined, timeoutMs: number, what: string): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const look = () => {
        try {
          const value = check();
          if (value === undefined) return;
          waiters.delete(look);
          clearTimeout(timer);
          resolve(value);
        } catch (error) {
          waiters.delete(look);
          clearTimeout(timer);
          reject(error as Error);
        }
      };
      const timer = setTimeout(() => {
        waiters.delete(look);
        reject(new Error(`${what} within ${timeoutMs} ms; received:\n${printable(Buffer.concat(all))}`));
      }, timeoutMs);
      waiters.add(look);
      look();
    });
  return {
    socket,
    received: () => Buffer.concat(all),
    async get(path = '/', headers = {}) {
      const lines = Object.entries({ Host: 'lb.test', ...headers }).map(([k, v]) => `${k}: ${v}\r\n`);
      socket.write(`GET ${path} HTTP/1.1\r\n${lines.join('')}\r\n`);
      return until(
        () => {
          const result = parseMessage(pending, 'response', { requestMethod: 'GET', eof: closed });
          if (result.state === 'error') throw new Error(`bad response (${result.reason})`);
          if (result.state === 'need-more') {
            if (closed) throw new Error(`closed before a response; received:\n${printable(Buffer.concat(all))}`);
            return undefined;
          }
          pending = pending.subarray(result.consumed);
          return result.message;
        },
        10_000,
        'no response',
      );
    },
    closedWithin(timeoutMs: number) {
      return until(() => (closed ? true : undefined), timeoutMs, 'still open').catch(() => false);
    },
    async refusedAtAccept(timeoutMs = 2_000) {
      socket.write('GET / HTTP/1.1\r\nHost: lb.test\r\n\r\n');
      const closedNow = await until(() => (closed ? true : undefined), timeoutMs, 'still open').catch(() => false);
      return closedNow && all.length === 0;
    },
  };
}

/** The body of `message` as text. */
export function bodyOf(message: HttpMessage): string {
  return message.body.toString('utf8');
}
