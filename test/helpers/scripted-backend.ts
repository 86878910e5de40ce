// The one scripted backend of the test suites: a TCP server on loopback that records
// exactly the bytes it received on each connection (a server that checks exactly what it
// received, as HAProxy's reg-tests have it), driven in one of two ways:
//   - per request, by a script (ScriptedBackend.start): each reply says what to write
//     (bytes in one write, pieces with pauses, a long body written with backpressure),
//     when (after a delay) and what then (keep the connection, close it, reset it, write
//     unsolicited bytes later). Misbehaving replies mark their connection faulted, so a
//     test can check the proxy never reused it;
//   - per connection, step by step (ScriptedBackend.stepwise): the test reads a head or n
//     bytes, writes, half-closes, for exchanges a per-request script cannot express
//     (100-continue, a 101 then a tunnel, an early answer).
import net from 'node:net';

import { onCleanup } from './cleanup.js';
import { buildResponse, header, parseMessage, printable, type HttpMessage } from './http-message.js';
import { ChangeSignal, delay, waitUntil } from './wait.js';

/** A response body of `total` bytes of `bodyPattern`, written with backpressure. */
export interface StreamedBody {
  total: number;
  /** Content-Length framing (the head says it) or chunked (each 64 KiB piece is a chunk). */
  framing: 'content-length' | 'chunked';
  /** Stop after this many body bytes (then `close` or `reset` the connection). */
  failAfter?: number;
  /** Pause between 64 KiB writes (a slow backend). */
  pauseMs?: number;
}

/** What the backend does for one request, in this order. */
export interface Reply {
  /** Wait this long before anything. */
  delayMs?: number;
  /** Bytes written in one write. */
  bytes?: string | Buffer;
  /** Then pieces written one by one, `pauseMs` (default 20) apart. */
  pieces?: Array<string | Buffer>;
  pauseMs?: number;
  /** Then a body written with backpressure (the head goes in `bytes`). */
  stream?: StreamedBody;
  /** Bytes written `extraDelayMs` after the reply: unsolicited data on what may be an idle pooled connection. */
  extra?: string | Buffer;
  extraDelayMs?: number;
  /** Close the connection (FIN) after writing, immediately or `closeDelayMs` later. */
  close?: boolean;
  closeDelayMs?: number;
  /** Reset the connection (RST): at once when the reply writes nothing, else once its bytes have left. */
  reset?: boolean;
  /** This reply is a fault: its connection is marked faulted (see BackendConnection.faultedAt). */
  faulted?: boolean;
}

export interface ScriptContext {
  connection: BackendConnection;
  /** Index of this request on its connection, from 0. */
  indexOnConnection: number;
  /** Index of this request on the whole backend, from 0. */
  index: number;
}

export type Script = (request: HttpMessage, context: ScriptContext) => Reply | Promise<Reply>;

export interface BackendOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: a free port. */
  port?: number;
  /** Names the backend in messages, and in the answers of `namedReply`. */
  name?: string;
}

/** 64 KiB of a fixed pattern: byte i of a streamed body is bodyPattern[i % 65536]. */
export const bodyPattern = Buffer.alloc(65_536, 0);
for (let i = 0; i < bodyPattern.length; i++) bodyPattern[i] = (i * 131 + (i >> 8) * 7 + 13) & 0xff;

/** One accepted connection: what arrived on it, what the proxy did with it, and step-by-step reads and writes. */
export class BackendConnection {
  /** Raw bytes received, in order. */
  readonly chunks: Buffer[] = [];
  bytesIn = 0;
  /** Requests parsed from those bytes (scripted backends). */
  readonly requests: HttpMessage[] = [];
  /** Set when the bytes received were not a valid request (the connection is then closed). */
  parseError: string | undefined;
  /** The proxy closed its side (FIN) or reset the connection. */
  peerClosed = false;
  /** This backend closed its side (FIN sent). */
  ended = false;
  /** The socket is fully closed. */
  closed = false;
  /** A socket error such as ECONNRESET, if one happened. */
  error: Error | undefined;
  /** Delayed writes or closes (extraDelayMs, closeDelayMs) not done yet. */
  scheduled = 0;
  /** A reply marked `faulted` was given here (or the connection was closed at accept). */
  faulted = false;
  /** Index (on this connection) of the first faulted reply. */
  faultedAt: number | undefined;
  /**
   * Unsolicited bytes (`extra`): 'none' before they are written; 'written' in the
   * event-loop turn they were written in; 'delivered' from the next turn on. Bytes on
   * loopback are in the peer's receive queue when write() returns, and a request already
   * in our receive queue at that moment is read in the same turn (the poll phase runs
   * before setImmediate callbacks). So a request seen while 'delivered' was written by
   * the proxy after the unsolicited bytes had reached it.
   */
  extraState: 'none' | 'written' | 'delivered' = 'none';
  /** Body bytes written by a `stream` reply. */
  streamed = 0;
  /** Last time a `stream` write was accepted by the socket (ms since epoch). */
  lastProgressAt = Date.now();
  /** Received and not yet taken (by the request parser, or readHead/readBytes). */
  #pending: Buffer = Buffer.alloc(0);
  readonly #changed = new ChangeSignal();

  constructor(
    readonly id: number,
    readonly socket: net.Socket,
    onData: () => void,
  ) {
    socket.on('data', (data: Buffer) => {
      this.chunks.push(data);
      this.bytesIn += data.length;
      this.#pending = this.#pending.length === 0 ? data : Buffer.concat([this.#pending, data]);
      onData();
      this.#changed.notify();
    });
    socket.on('end', () => {
      this.peerClosed = true;
      this.#changed.notify();
    });
    socket.on('finish', () => {
      this.ended = true;
    });
    socket.on('error', (err) => {
      this.error = err;
      this.peerClosed = true;
      this.#changed.notify();
    });
    socket.on('close', () => {
      this.closed = true;
      this.#changed.notify();
    });
  }

  /** Every byte received on this connection. */
  received(): Buffer {
    return Buffer.concat(this.chunks);
  }

  /** Bytes received and not yet taken by the parser or readHead/readBytes. */
  unread(): Buffer {
    return this.#pending;
  }

  /** The next complete request in the bytes not taken yet, taking it; undefined until it is all in. Throws if they are not a request. */
  takeRequest(): HttpMessage | undefined {
    const result = parseMessage(this.#pending, 'request', { eof: false });
    if (result.state === 'need-more') return undefined;
    if (result.state === 'error') throw new Error(result.reason);
    this.#pending = this.#pending.subarray(result.consumed);
    return result.message;
  }

  /** Reads up to and including the next CRLF CRLF; returns the head bytes. */
  readHead(timeoutMs = 5_000): Promise<Buffer> {
    return this.#until('a request head', timeoutMs, () => {
      const end = this.#pending.indexOf('\r\n\r\n');
      if (end < 0) return undefined;
      return this.#take(end + 4);
    });
  }

  /** Reads exactly `n` bytes. */
  readBytes(n: number, timeoutMs = 5_000): Promise<Buffer> {
    return this.#until(`${n} bytes`, timeoutMs, () => (this.#pending.length < n ? undefined : this.#take(n)));
  }

  /** Resolves true once the proxy has sent FIN (or reset or closed the connection), false after `timeoutMs`. */
  waitForEnd(timeoutMs = 5_000): Promise<boolean> {
    return this.#until('FIN from the proxy', timeoutMs, () => (this.peerClosed || this.closed ? true : undefined)).catch(
      () => false,
    );
  }

  /** Resolves true once the socket is fully closed, false after `timeoutMs`. */
  waitForClose(timeoutMs = 5_000): Promise<boolean> {
    return this.#until('the connection to close', timeoutMs, () => (this.closed ? true : undefined)).catch(() => false);
  }

  write(data: string | Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data, (err) => (err ? reject(err) : resolve()));
    });
  }

  /** Half-closes: sends FIN (after `data`, if given, in the same call), keeps reading. */
  end(data?: string | Buffer): void {
    if (data === undefined) this.socket.end();
    else this.socket.end(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  #take(n: number): Buffer {
    const out = Buffer.from(this.#pending.subarray(0, n));
    this.#pending = this.#pending.subarray(n);
    return out;
  }

  #until<T>(what: string, timeoutMs: number, check: () => T | undefined): Promise<T> {
    return this.#changed.until(
      check,
      timeoutMs,
      () => new Error(`backend: timed out after ${timeoutMs} ms waiting for ${what}; received:\n${printable(this.received())}`),
    );
  }
}

type Driver =
  | { kind: 'script'; script: Script }
  | { kind: 'stepwise'; onConnection: (connection: BackendConnection, index: number) => void | Promise<void> };

export class ScriptedBackend {
  readonly connections: BackendConnection[] = [];
  /** Destroy this many of the next accepted connections at once, before reading a byte (each counts as faulted). */
  closeOnAccept = 0;
  /** The most requests being answered at once. */
  peakInFlight = 0;
  readonly name: string;
  #requestCount = 0;
  #inFlight = 0;
  #closing: Promise<void> | undefined;

  private constructor(
    private readonly server: net.Server,
    private readonly host: string,
    name: string,
    private driver: Driver,
  ) {
    this.name = name;
    server.on('connection', (socket) => this.#accept(socket));
  }

  /** Listens (127.0.0.1, a free port unless `options` say otherwise) and answers each request as `script` says. Closed after the test. */
  static start(script: Script, options: BackendOptions = {}): Promise<ScriptedBackend> {
    return ScriptedBackend.#listen({ kind: 'script', script }, options);
  }

  /**
   * Listens and calls `onConnection` for every accepted connection, which drives it step
   * by step (an error thrown there destroys that connection). Half-open connections are
   * allowed, so the backend can still write after the proxy's FIN. Closed after the test.
   */
  static stepwise(
    onConnection: (connection: BackendConnection, index: number) => void | Promise<void>,
    options: BackendOptions = {},
  ): Promise<ScriptedBackend> {
    return ScriptedBackend.#listen({ kind: 'stepwise', onConnection }, options);
  }

  static async #listen(
    driver: Driver,
    { host = '127.0.0.1', port = 0, name = 'backend' }: BackendOptions,
  ): Promise<ScriptedBackend> {
    const server = net.createServer({ allowHalfOpen: true, noDelay: true });
    const backend = new ScriptedBackend(server, host, name, driver);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port, backlog: 4096, exclusive: true }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    onCleanup(() => backend.close());
    return backend;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  /** `host:port` (`[host]:port` for IPv6), as a balancer backend address. */
  get address(): string {
    return net.isIPv6(this.host) ? `[${this.host}]:${this.port}` : `${this.host}:${this.port}`;
  }

  /** Connections accepted so far. */
  get acceptedCount(): number {
    return this.connections.length;
  }

  /** Connections currently open. */
  get openCount(): number {
    return this.connections.filter((c) => !c.closed).length;
  }

  /** Every request received, in arrival order per connection, connections in accept order. */
  requests(): HttpMessage[] {
    return this.connections.flatMap((c) => c.requests);
  }

  /** X-Request-Id of every request received. */
  ids(): string[] {
    return this.requests().map((r) => header(r, 'x-request-id') ?? '');
  }

  /** Total bytes received on all connections. */
  bytesReceived(): number {
    return this.connections.reduce((n, c) => n + c.bytesIn, 0);
  }

  /** Every byte received on connection `i`. */
  received(i: number): Buffer {
    return this.connections[i]?.received() ?? Buffer.alloc(0);
  }

  /** A readable dump of what every connection received, for failure messages. */
  describe(): string {
    return this.connections
      .map((c) => `--- backend connection ${c.id} (${c.closed ? 'closed' : 'open'}):\n${printable(c.received())}`)
      .join('\n');
  }

  /** One line per connection: its state and the requests it carried (method, target, X-Request-Id). */
  summary(): string {
    return this.connections
      .map(
        (c) =>
          `--- ${this.name} connection ${c.id} (${c.closed ? 'closed' : 'open'}${c.peerClosed ? ', proxy closed it' : ''}` +
          `${c.faulted ? ', faulted' : ''}): ${c.requests.length} requests: ` +
          c.requests.map((r) => `${r.method} ${r.target} [${header(r, 'x-request-id') ?? ''}]`).join(', '),
      )
      .join('\n');
  }

  /** Replaces the script (a scripted backend). */
  setScript(script: Script): void {
    this.driver = { kind: 'script', script };
  }

  waitForRequests(n: number, timeoutMs = 5_000): Promise<unknown> {
    return waitUntil(`${n} requests at ${this.name}`, () => this.#requestCount >= n, { timeoutMs });
  }

  waitForConnections(n: number, timeoutMs = 5_000): Promise<unknown> {
    return waitUntil(`${n} connections at ${this.name}`, () => this.acceptedCount >= n, { timeoutMs });
  }

  /** Waits until no connection has a delayed write or close pending, and all writes are flushed. */
  waitForQuiet(timeoutMs = 5_000): Promise<unknown> {
    return waitUntil(
      `${this.name}'s writes done`,
      () => this.connections.every((c) => c.scheduled === 0 && c.socket.writableLength === 0),
      {
        timeoutMs,
      },
    );
  }

  /** Waits until every accepted connection is closed. */
  waitForAllClosed(timeoutMs = 5_000): Promise<unknown> {
    return waitUntil(`all ${this.name} connections closed`, () => this.openCount === 0, { timeoutMs });
  }

  /** Stops listening and destroys every connection. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      for (const conn of this.connections) conn.socket.destroy();
      this.server.close(() => resolve());
    });
    return this.#closing;
  }

  #accept(socket: net.Socket): void {
    let drain = (): void => {};
    const conn = new BackendConnection(this.connections.length, socket, () => drain());
    this.connections.push(conn);
    if (this.closeOnAccept > 0) {
      this.closeOnAccept--;
      conn.faulted = true;
      conn.faultedAt = 0;
      socket.destroy();
      return;
    }
    const driver = this.driver;
    if (driver.kind === 'stepwise') {
      const index = conn.id;
      Promise.resolve()
        .then(() => driver.onConnection(conn, index))
        .catch(() => socket.destroy());
      return;
    }
    let queue: Promise<void> = Promise.resolve();
    let indexOnConnection = 0;
    drain = () => {
      for (;;) {
        if (conn.parseError !== undefined) return;
        let request: HttpMessage | undefined;
        try {
          request = conn.takeRequest();
        } catch (error) {
          conn.parseError = (error as Error).message;
          socket.destroy();
          return;
        }
        if (!request) return;
        conn.requests.push(request);
        const context: ScriptContext = { connection: conn, indexOnConnection: indexOnConnection++, index: this.#requestCount++ };
        const answered = request;
        // Answer strictly in order on a connection, even if a later reply is quicker.
        queue = queue
          .then(() => this.#answer(conn, answered, context))
          .catch(() => {
            socket.destroy();
          });
      }
    };
    socket.on('end', () => {
      // Answer what is queued, then close this side too.
      void queue.then(() => {
        if (!socket.destroyed) socket.end();
      });
    });
  }

  async #answer(conn: BackendConnection, request: HttpMessage, context: ScriptContext): Promise<void> {
    this.#inFlight++;
    this.peakInFlight = Math.max(this.peakInFlight, this.#inFlight);
    try {
      if (this.driver.kind !== 'script') return;
      const reply = await this.driver.script(request, context);
      if (reply.faulted) {
        conn.faulted = true;
        conn.faultedAt ??= context.indexOnConnection;
      }
      const socket = conn.socket;
      if (reply.delayMs) await delay(reply.delayMs);
      if (socket.destroyed) return;
      const writes = reply.bytes !== undefined || reply.pieces !== undefined || reply.stream !== undefined;
      if (reply.reset && !writes) {
        socket.resetAndDestroy();
        return;
      }
      if (reply.bytes !== undefined) socket.write(reply.bytes);
      for (const [i, piece] of (reply.pieces ?? []).entries()) {
        if (i > 0) await delay(reply.pauseMs ?? 20);
        if (socket.destroyed) return;
        socket.write(piece);
      }
      if (reply.stream && !(await this.#stream(conn, reply.stream))) return;
      if (reply.extra !== undefined) {
        const extra = reply.extra;
        this.#later(conn, reply.extraDelayMs, () => {
          if (!socket.writable) return;
          socket.write(extra);
          conn.extraState = 'written';
          // Written to the kernel in this turn unless queued behind earlier writes.
          const settle = (): void => {
            if (socket.writableLength === 0) conn.extraState = 'delivered';
            else setImmediate(settle);
          };
          setImmediate(settle);
        });
      }
      if (reply.reset) {
        // Let the bytes leave first: a reset discards what is still queued.
        await waitUntil('the reply flushed before the reset', () => socket.writableLength === 0 || socket.destroyed, {
          timeoutMs: 10_000,
        });
        await delay(20);
        if (!socket.destroyed) socket.resetAndDestroy();
        return;
      }
      if (reply.close) this.#later(conn, reply.closeDelayMs, () => socket.end());
    } finally {
      this.#inFlight--;
    }
  }

  /** Writes a streamed body with backpressure; false if the connection went away first. */
  async #stream(conn: BackendConnection, body: StreamedBody): Promise<boolean> {
    const socket = conn.socket;
    const limit = body.failAfter ?? body.total;
    let sent = 0;
    while (sent < limit) {
      if (socket.destroyed || !socket.writable) return false;
      const offset = sent % bodyPattern.length;
      const n = Math.min(bodyPattern.length - offset, limit - sent);
      const piece = bodyPattern.subarray(offset, offset + n);
      const ok =
        body.framing === 'chunked'
          ? socket.write(Buffer.concat([Buffer.from(`${n.toString(16)}\r\n`), piece, Buffer.from('\r\n')]))
          : socket.write(piece);
      sent += n;
      conn.streamed = sent;
      conn.lastProgressAt = Date.now();
      if (!ok) {
        const closed = await new Promise<boolean>((resolve) => {
          const onDrain = (): void => {
            cleanup();
            resolve(false);
          };
          const onClose = (): void => {
            cleanup();
            resolve(true);
          };
          const cleanup = (): void => {
            socket.off('drain', onDrain);
            socket.off('close', onClose);
          };
          socket.on('drain', onDrain);
          socket.on('close', onClose);
        });
        if (closed) return false;
        conn.lastProgressAt = Date.now();
      }
      if (body.pauseMs) await delay(body.pauseMs);
    }
    if (body.failAfter === undefined && body.framing === 'chunked') socket.write('0\r\n\r\n');
    return true;
  }

  /** Runs `action` now, or `ms` later unless the socket is gone by then (counted in `scheduled` meanwhile). */
  #later(conn: BackendConnection, ms: number | undefined, action: () => void): void {
    if (!ms) {
      action();
      return;
    }
    conn.scheduled++;
    setTimeout(() => {
      conn.scheduled--;
      if (!conn.socket.destroyed) action();
    }, ms);
  }
}

// ---- Ready-made replies -------------------------------------------------------------

/** The body `namedReply` answers a request without a body with: `<name> <method> <target> id=<x-request-id>`. */
export function describeBody(name: string, method: string, target: string, id: string): string {
  return `${name} ${method} ${target} id=${id}`;
}

/** A 200 whose body is the request body, with the request's X-Request-Id echoed. */
export function echoReply(request: HttpMessage): Reply {
  const id = header(request, 'x-request-id');
  return {
    bytes: buildResponse(200, request.body, {
      reason: 'OK',
      headers: id === undefined ? {} : { 'X-Request-Id': id },
    }),
  };
}

/** A 200 whose body names the backend, the request target and its X-Request-Id. */
export function describeReply(name: string, request: HttpMessage): Reply {
  const id = header(request, 'x-request-id') ?? '';
  return {
    bytes: buildResponse(200, describeBody(name, request.method, request.target, id), {
      reason: 'OK',
      headers: { 'X-Backend': name, 'X-Request-Id': id },
    }),
  };
}

/**
 * A 200 as test/helpers/http-backend.ts answers: the request body echoed, or for a request
 * without one `describeBody`; X-Backend and X-Request-Id set.
 */
export function namedReply(name: string, request: HttpMessage): Reply {
  const id = header(request, 'x-request-id') ?? '';
  const body = request.body.length > 0 ? request.body : Buffer.from(describeBody(name, request.method, request.target, id));
  const head =
    `HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: ${body.length}\r\n` +
    `X-Backend: ${name}\r\nX-Request-Id: ${id}\r\n\r\n`;
  return { bytes: Buffer.concat([Buffer.from(head, 'latin1'), body]) };
}

/** A 200 whose `body` is streamed (Content-Length or chunked), naming the backend and echoing X-Request-Id. */
export function streamReply(name: string, request: HttpMessage, body: StreamedBody): Reply {
  const framing = body.framing === 'chunked' ? 'Transfer-Encoding: chunked' : `Content-Length: ${body.total}`;
  const id = header(request, 'x-request-id') ?? '';
  return { bytes: `HTTP/1.1 200 OK\r\n${framing}\r\nX-Backend: ${name}\r\nX-Request-Id: ${id}\r\n\r\n`, stream: body };
}
