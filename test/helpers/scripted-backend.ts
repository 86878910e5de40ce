// A backend that records exactly the bytes it received on each connection and answers
// each request as a script says: fixed bytes, an echo, after a delay, in pieces, then
// optionally closing. In the spirit of "a server that checks exactly what it received".
import net from 'node:net';
import { EventEmitter } from 'node:events';
import { buildResponse, header, parseMessage, printable, type HttpMessage } from './http-message.js';
import { delay, waitUntil } from './wait.js';
import { onCleanup } from './cleanup.js';

/** What the backend does for one request. */
export interface Reply {
  /** Wait this long before writing anything. */
  delayMs?: number;
  /** Bytes written in one write. */
  bytes?: string | Buffer;
  /** Or: pieces written one by one with `pauseMs` between them. */
  pieces?: Array<string | Buffer>;
  pauseMs?: number;
  /** Bytes written `extraDelayMs` after the reply (unsolicited data on an idle connection). */
  extra?: string | Buffer;
  extraDelayMs?: number;
  /** Close the connection (FIN) after writing, immediately or `closeDelayMs` later. */
  close?: boolean;
  closeDelayMs?: number;
  /** Reset the connection (RST) instead of answering. */
  reset?: boolean;
}

export interface ScriptContext {
  connection: ScriptedConnection;
  /** Index of this request on its connection, from 0. */
  indexOnConnection: number;
  /** Index of this request on the whole backend, from 0. */
  index: number;
}

export type Script = (request: HttpMessage, context: ScriptContext) => Reply | Promise<Reply>;

export interface ScriptedConnection {
  id: number;
  socket: net.Socket;
  /** Raw bytes received, in order. */
  chunks: Buffer[];
  /** Requests parsed from those bytes. */
  requests: HttpMessage[];
  /** The peer (the proxy) closed its side. */
  peerClosed: boolean;
  /** This backend closed its side (FIN sent). */
  ended: boolean;
  /** Delayed writes or closes (extraDelayMs, closeDelayMs) not done yet. */
  scheduled: number;
  /** The socket is fully closed. */
  closed: boolean;
  /** Set when the bytes received were not a valid request (the connection is then closed). */
  parseError: string | undefined;
}

export class ScriptedBackend extends EventEmitter {
  readonly connections: ScriptedConnection[] = [];
  private requestCount = 0;
  private inFlightNow = 0;
  /** The most requests being answered at once. */
  peakInFlight = 0;

  private constructor(private readonly server: net.Server, private script: Script) {
    super();
    server.on('connection', (socket) => this.accept(socket));
  }

  /** Starts listening on 127.0.0.1 on a free port; closed by the cleanup after each test. */
  static async start(script: Script): Promise<ScriptedBackend> {
    const server = net.createServer({ allowHalfOpen: true, noDelay: true });
    const backend = new ScriptedBackend(server, script);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: '127.0.0.1', port: 0, backlog: 4096 }, resolve);
    });
    onCleanup(() => backend.close());
    return backend;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  /** "127.0.0.1:port", as a balancer backend address. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
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

  /** Total bytes received on all connections. */
  bytesReceived(): number {
    return this.connections.reduce((n, c) => n + c.chunks.reduce((m, b) => m + b.length, 0), 0);
  }

  /** Every byte received on connection `i`. */
  received(i: number): Buffer {
    const conn = this.connections[i];
    return conn ? Buffer.concat(conn.chunks) : Buffer.alloc(0);
  }

  /** A readable dump of what every connection received, for failure messages. */
  describe(): string {
    return this.connections
      .map((c) => `--- backend connection ${c.id} (${c.closed ? 'closed' : 'open'}):\n${printable(Buffer.concat(c.chunks))}`)
      .join('\n');
  }

  setScript(script: Script): void {
    this.script = script;
  }

  waitForRequests(n: number, timeoutMs = 5_000): Promise<unknown> {
    return waitUntil(`${n} requests at the scripted backend`, () => this.requestCount >= n, { timeoutMs });
  }

  waitForConnections(n: number, timeoutMs = 5_000): Promise<unknown> {
    return waitUntil(`${n} connections at the scripted backend`, () => this.acceptedCount >= n, { timeoutMs });
  }

  /** Waits until no connection has a delayed write or close pending, and all writes are flushed. */
  waitForQuiet(timeoutMs = 5_000): Promise<unknown> {
    return waitUntil('scripted backend writes done', () =>
      this.connections.every((c) => c.scheduled === 0 && c.socket.writableLength === 0), { timeoutMs });
  }

  /** Waits until every accepted connection is closed. */
  waitForAllClosed(timeoutMs = 5_000): Promise<unknown> {
    return waitUntil('all scripted backend connections closed', () => this.openCount === 0, { timeoutMs });
  }

  private accept(socket: net.Socket): void {
    const conn: ScriptedConnection = {
      id: this.connections.length,
      socket,
      chunks: [],
      requests: [],
      peerClosed: false,
      ended: false,
      scheduled: 0,
      closed: false,
      parseError: undefined,
    };
    this.connections.push(conn);
    this.emit('connection', conn);
    let pending: Buffer = Buffer.alloc(0);
    let queue: Promise<void> = Promise.resolve();
    let indexOnConnection = 0;

    const drain = (): void => {
      for (;;) {
        if (conn.parseError !== undefined) return;
        const result = parseMessage(pending, 'request', { eof: false });
        if (result.state === 'need-more') return;
        if (result.state === 'error') {
          conn.parseError = result.reason;
          socket.destroy();
          return;
        }
        pending = pending.subarray(result.consumed);
        const request = result.message;
        conn.requests.push(request);
        const context: ScriptContext = { connection: conn, indexOnConnection: indexOnConnection++, index: this.requestCount++ };
        this.emit('request', request, context);
        // Answer strictly in order on a connection, even if a later reply is quicker.
        queue = queue.then(() => this.answer(conn, request, context)).catch(() => {
          socket.destroy();
        });
      }
    };

    socket.on('data', (data: Buffer) => {
      conn.chunks.push(data);
      pending = pending.length === 0 ? data : Buffer.concat([pending, data]);
      drain();
    });
    socket.on('end', () => {
      conn.peerClosed = true;
      // Answer what is queued, then close our side too.
      void queue.then(() => socket.end());
    });
    socket.on('finish', () => {
      conn.ended = true;
    });
    socket.on('error', () => {
      conn.peerClosed = true;
    });
    socket.on('close', () => {
      conn.closed = true;
      this.emit('close', conn);
    });
  }

  private async answer(conn: ScriptedConnection, request: HttpMessage, context: ScriptContext): Promise<void> {
    this.inFlightNow++;
    this.peakInFlight = Math.max(this.peakInFlight, this.inFlightNow);
    try {
      const reply = await this.script(request, context);
      const socket = conn.socket;
      if (reply.delayMs) await delay(reply.delayMs);
      if (socket.destroyed) return;
      if (reply.reset) {
        socket.resetAndDestroy();
        return;
      }
      if (reply.bytes !== undefined) socket.write(reply.bytes);
      if (reply.pieces) {
        for (let i = 0; i < reply.pieces.length; i++) {
          if (i > 0) await delay(reply.pauseMs ?? 20);
          if (socket.destroyed) return;
          socket.write(reply.pieces[i]!);
        }
      }
      const later = (ms: number | undefined, action: () => void): void => {
        if (!ms) return action();
        conn.scheduled++;
        setTimeout(() => {
          conn.scheduled--;
          if (!socket.destroyed) action();
        }, ms);
      };
      if (reply.extra !== undefined) {
        const extra = reply.extra;
        later(reply.extraDelayMs, () => socket.write(extra));
      }
      if (reply.close) later(reply.closeDelayMs, () => socket.end());
    } finally {
      this.inFlightNow--;
    }
  }

  async close(): Promise<void> {
    for (const conn of this.connections) conn.socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

// ---- Ready-made replies -------------------------------------------------------------

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
    bytes: buildResponse(200, `${name} ${request.method} ${request.target} id=${id}`, {
      reason: 'OK',
      headers: { 'X-Backend': name, 'X-Request-Id': id },
    }),
  };
}
