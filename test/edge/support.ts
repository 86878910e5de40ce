// Local helpers for the edge suite (test/edge/**). The shared helpers in test/helpers/ do
// the heavy lifting (the raw client; the scripted backend, per request or step by step);
// what is here is what they do not offer:
//   - startEdgeBalancer: one worker, and the options the config layer may not type yet
//     (timeouts.clientBodyMs, timeouts.tunnelIdleMs, forwarded);
//   - expectRejected: the client got exactly one canned error and a clean close, and the
//     backend got nothing;
//   - headLines / headerLines: the header lines a peer received, as written;
//   - a refused port and a listener whose accept queue is full (a connect that hangs).
import net from 'node:net';
import { spawn } from 'node:child_process';
import { expect } from 'vitest';
import { startBalancer, type Balancer, type BalancerConfig } from '../helpers/balancer.js';
import { onCleanup } from '../helpers/cleanup.js';
import { RawClient } from '../helpers/raw-client.js';
import { header, headerHasToken, printable, type HttpMessage } from '../helpers/http-message.js';
import type { ScriptedBackend } from '../helpers/scripted-backend.js';
import { withTimeout } from '../helpers/wait.js';

// ---- Balancer -----------------------------------------------------------------------

export interface EdgeTimeouts {
  connectMs?: number;
  responseMs?: number;
  clientHeadMs?: number;
  keepAliveMs?: number;
  backendIdleMs?: number;
  clientBodyMs?: number;
  tunnelIdleMs?: number;
}

export interface EdgeLimits {
  maxStartLine?: number;
  maxHeadBytes?: number;
  maxHeaderCount?: number;
  maxBodyBytes?: number;
  maxClientConnections?: number;
}

export interface EdgeForwarded {
  mode: 'x-forwarded' | 'forwarded' | 'none';
  trustIncoming: boolean;
}

export interface EdgeOptions {
  listen?: string;
  timeouts?: EdgeTimeouts;
  limits?: EdgeLimits;
  forwarded?: EdgeForwarded;
}

/**
 * A balancer with one worker (so "N connections" and "in order" mean what they say) in
 * front of `backends`, stopped after the test. The options are passed as written, under
 * the names of the documented API, even those the schema may not know yet.
 */
export async function startEdgeBalancer(backends: string[], options: EdgeOptions = {}): Promise<Balancer> {
  const config = { backends, workers: 1, ...options } as unknown as Partial<BalancerConfig> & Pick<BalancerConfig, 'backends'>;
  return startBalancer(config);
}

// ---- Reading heads as written ---------------------------------------------------------

/** The lines of the head at the start of `bytes` (start line first), without CRLFs. */
export function headLines(bytes: Buffer): string[] {
  const end = bytes.indexOf('\r\n\r\n');
  const head = (end < 0 ? bytes : bytes.subarray(0, end)).toString('latin1');
  return head.split('\r\n');
}

/** The header lines of the head at the start of `bytes` (no start line). */
export function headerLines(bytes: Buffer): string[] {
  return headLines(bytes).slice(1);
}

/** Header lines whose name is `name` (case-insensitive), as written. */
export function linesNamed(bytes: Buffer, name: string): string[] {
  const lower = name.toLowerCase();
  return headerLines(bytes).filter((line) => line.slice(0, line.indexOf(':')).toLowerCase() === lower);
}

/** Values of `name` in a parsed message, each field on its own. */
export function values(message: HttpMessage, name: string): string[] {
  const lower = name.toLowerCase();
  return message.headers.filter(([n]) => n.toLowerCase() === lower).map(([, v]) => v);
}

// ---- Rejections -----------------------------------------------------------------------

const reasons: Record<number, string> = {
  400: 'Bad Request',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  413: 'Content Too Large',
  414: 'URI Too Long',
  431: 'Request Header Fields Too Large',
  502: 'Bad Gateway',
  504: 'Gateway Timeout',
  505: 'HTTP Version Not Supported',
};

/**
 * Checks that `client` received exactly one response with `status`, marked
 * `Connection: close`, then a clean close (FIN, no reset) with no byte after it.
 */
export async function expectErrorThenClose(client: RawClient, status: number, { timeoutMs = 5_000 } = {}): Promise<HttpMessage> {
  const res = await client.readResponse({ timeoutMs });
  const shown = printable(client.received());
  expect(res.status, shown).toBe(status);
  if (reasons[status]) expect(res.reason, shown).toBe(reasons[status]);
  expect(headerHasToken(res, 'connection', 'close'), shown).toBe(true);
  expect(await client.waitForServerClose(3_000), `connection still open after ${status}:\n${shown}`).toBe(true);
  expect(client.unread().length, `bytes after the ${status}:\n${printable(client.received())}`).toBe(0);
  expect(client.error, `the close was a reset, not a FIN (lingering close):\n${shown}`).toBeUndefined();
  return res;
}

/**
 * Proves that nothing reached `backend` so far: after a sentinel request on a fresh
 * connection is answered (one worker handles connections in order, and a rejected
 * request is refused before any backend connect), the backend has seen exactly one
 * connection carrying exactly the sentinel.
 */
export async function expectBackendSawOnlySentinel(lbPort: number, backend: ScriptedBackend): Promise<void> {
  expect(backend.acceptedCount, `backend got a connection:\n${backend.describe()}`).toBe(0);
  const client = await RawClient.connect(lbPort);
  await client.write('GET /sentinel HTTP/1.1\r\nHost: sentinel\r\nConnection: close\r\n\r\n');
  const res = await client.readResponse();
  expect(res.status, printable(client.received())).toBe(200);
  await backend.waitForRequests(1);
  const requests = backend.requests();
  expect(
    requests.map((r) => `${r.method} ${r.target}`),
    backend.describe(),
  ).toEqual(['GET /sentinel']);
  expect(backend.acceptedCount, backend.describe()).toBe(1);
  expect(headLines(backend.received(0))[0], backend.describe()).toBe('GET /sentinel HTTP/1.1');
  // Nothing after the sentinel request on that connection.
  expect(backend.received(0).length, backend.describe()).toBe(requests[0]!.raw.length);
}

/**
 * Sends `request` (bytes, or pieces written with short pauses) on a fresh connection and
 * checks the full contract of a refused request: the canned `status` with Connection:
 * close, a clean close, and nothing forwarded to `backend`.
 */
export async function expectRejected(
  lbPort: number,
  backend: ScriptedBackend,
  request: string | Buffer | Array<string | Buffer>,
  status: number,
): Promise<HttpMessage> {
  const client = await RawClient.connect(lbPort);
  if (Array.isArray(request)) await client.writePieces(request, 20);
  else await client.write(request);
  const res = await expectErrorThenClose(client, status);
  await expectBackendSawOnlySentinel(lbPort, backend);
  return res;
}

/** The X-Request-Id of a response, for messages. */
export function idOf(res: HttpMessage): string {
  return header(res, 'x-request-id') ?? '';
}

// ---- Backends that cannot be reached ----------------------------------------------------

/** A 127.0.0.1 port nothing listens on (bound then released): connects to it are refused. */
export async function refusedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, resolve);
  });
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * A listener whose accept queue is full, so that a further connect gets no SYN-ACK and
 * hangs. A child Node process listens with backlog 1 and then blocks its own event loop
 * (bounded: it exits by itself after `lifetimeMs`), so it never accepts; this process
 * fills the queue with a few connections. The child is killed by its PID after the test.
 * Returns the port, or undefined if the kernel kept completing connections (then a hung
 * connect cannot be produced on this host).
 */
export async function hangingListenerPort(lifetimeMs = 20_000): Promise<number | undefined> {
  const script = `
    const net = require('net');
    const server = net.createServer();
    server.listen({ host: '127.0.0.1', port: 0, backlog: 1 }, () => {
      process.stdout.write(String(server.address().port) + '\\n', () => {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ${lifetimeMs});
        process.exit(0);
      });
    });`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  // 'close': the child has exited and its stdout pipe is closed in this process too.
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  onCleanup(async () => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    await withTimeout('the blocked listener child to exit after SIGKILL', closed, 10_000);
  });
  const port = await withTimeout(
    'the blocked listener child to report its port',
    new Promise<number>((resolve, reject) => {
      let text = '';
      child.stdout!.setEncoding('utf8').on('data', (d: string) => {
        text += d;
        const line = text.split('\n')[0];
        if (text.includes('\n') && line) resolve(Number(line));
      });
      child.once('exit', () => reject(new Error('blocked listener child exited early')));
    }),
    10_000,
  );
  // Fill the accept queue; stop at the first connect that does not complete.
  for (let i = 0; i < 16; i++) {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.on('error', () => {});
    onCleanup(() => socket.destroy());
    const connected = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 300);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    if (!connected) return port;
  }
  return undefined;
}
