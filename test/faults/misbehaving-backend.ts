// A backend that answers well-behaved requests correctly and misbehaves on request: for each
// request a script picks a Fault (close, reset, stall, raw bytes, a streamed body cut short,
// unsolicited bytes later, ...). It records every connection, what arrived on it, and whether
// the proxy closed it, so a test can tell a tainted connection was never reused.
import net from 'node:net';
import { parseMessage, header, type HttpMessage } from '../helpers/http-message.js';
import { delay, waitUntil } from '../helpers/wait.js';
import { onCleanup } from '../helpers/cleanup.js';

/** What the backend does with one request. */
export type Fault =
  /** Answer correctly: echo a body, or describe the request (same format as http-backend.ts). */
  | { kind: 'ok'; delayMs?: number }
  /** Close (FIN) without writing a byte. */
  | { kind: 'close'; delayMs?: number }
  /** Reset (RST) without writing a byte. */
  | { kind: 'reset'; delayMs?: number }
  /** Never answer; keep the connection open. */
  | { kind: 'stall' }
  /**
   * Write `bytes` (or `pieces`, `pauseMs` apart), then: keep the connection open ('keep'),
   * close it ('close'), reset it ('reset'). `extra` is written `extraDelayMs` later (bytes
   * nobody asked for, on what the proxy may have pooled by then).
   */
  | {
      kind: 'raw';
      bytes?: string | Buffer;
      pieces?: Array<string | Buffer>;
      pauseMs?: number;
      then?: 'keep' | 'close' | 'reset';
      extra?: string | Buffer;
      extraDelayMs?: number;
    }
  /**
   * A 200 with a `total`-byte body of `patternBlock` bytes, Content-Length or chunked,
   * written with backpressure (never more than the socket takes). With `failAfter`, stop
   * after that many body bytes and close or reset.
   */
  | {
      kind: 'stream';
      total: number;
      framing: 'content-length' | 'chunked';
      failAfter?: number;
      failWith?: 'close' | 'reset';
      /** Pause between 64 KiB writes (a slow backend). */
      pauseMs?: number;
    };

export interface FaultContext {
  connection: BackendConn;
  indexOnConnection: number;
}

export type FaultScript = (request: HttpMessage, context: FaultContext) => Fault;

export interface BackendConn {
  id: number;
  socket: net.Socket;
  bytesIn: number;
  requests: HttpMessage[];
  /** A fault other than 'ok' was applied on this connection. */
  faulted: boolean;
  /** Index (on this connection) of the first request that got a fault. */
  faultedAt: number | undefined;
  /**
   * Unsolicited bytes ('raw' extra): 'none' before they are written; 'written' in the
   * event-loop turn they were written in; 'delivered' from the next turn on. Bytes on
   * loopback are in the peer's receive queue when write() returns, and a request already
   * in our receive queue at that moment is read in the same turn (the poll phase runs before
   * setImmediate callbacks). So a request seen while 'delivered' was written by the proxy
   * after the unsolicited bytes had reached it.
   */
  extraState: 'none' | 'written' | 'delivered';
  /** The proxy closed its side (FIN) or reset the connection. */
  peerClosed: boolean;
  closed: boolean;
  /** Response body bytes written by 'stream' faults. */
  streamed: number;
  /** Last time a 'stream' write was accepted by the socket (ms since epoch). */
  lastProgressAt: number;
}

/** 64 KiB of a fixed pattern: body byte i is PATTERN[i % 65536]. */
export const PATTERN = Buffer.alloc(65_536, 0);
for (let i = 0; i < PATTERN.length; i++) PATTERN[i] = (i * 131 + (i >> 8) * 7 + 13) & 0xff;

/** The 'ok' answer's body for a request without a body, as http-backend.ts writes it. */
export function describeBody(name: string, method: string, target: string, id: string): string {
  return `${name} ${method} ${target} id=${id}`;
}

export class MisbehavingBackend {
  readonly connections: BackendConn[] = [];
  /** The script in force; the default answers everything correctly. */
  script: FaultScript = () => ({ kind: 'ok' });
  /** Destroy this many of the next accepted connections at once, before reading a byte. */
  closeOnAccept = 0;

  private constructor(readonly name: string, private readonly server: net.Server) {
    server.on('connection', (socket) => this.accept(socket));
  }

  /** Listens on 127.0.0.1 (`port` 0: a free one); closed by the cleanup after each test. */
  static async start(name: string, { port = 0 }: { port?: number } = {}): Promise<MisbehavingBackend> {
    const server = net.createServer({ allowHalfOpen: true, noDelay: true });
    const backend = new MisbehavingBackend(name, server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: '127.0.0.1', port, backlog: 4096 }, resolve);
    });
    onCleanup(() => backend.close());
    return backend;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  get openCount(): number {
    return this.connections.filter((c) => !c.closed).length;
  }

  requests(): HttpMessage[] {
    return this.connections.flatMap((c) => c.requests);
  }

  /** X-Request-Id of every request received. */
  ids(): string[] {
    return this.requests().map((r) => header(r, 'x-request-id') ?? '');
  }

  bytesReceived(): number {
    return this.connections.reduce((n, c) => n + c.bytesIn, 0);
  }

  describe(): string {
    return this.connections
      .map((c) =>
        `--- ${this.name} connection ${c.id} (${c.closed ? 'closed' : 'open'}${c.peerClosed ? ', proxy closed it' : ''}` +
        `${c.faulted ? ', faulted' : ''}): ${c.requests.length} requests: ` +
        c.requests.map((r) => `${r.method} ${r.target} [${header(r, 'x-request-id') ?? ''}]`).join(', '),
      )
      .join('\n');
  }

  waitForRequests(n: number, timeoutMs = 5_000): Promise<unknown> {
    return waitUntil(`${n} requests at ${this.name}`, () => this.requests().length >= n, { timeoutMs });
  }

  private accept(socket: net.Socket): void {
    const conn: BackendConn = {
      id: this.connections.length,
      socket,
      bytesIn: 0,
      requests: [],
      faulted: false,
      faultedAt: undefined,
      extraState: 'none',
      peerClosed: false,
      closed: false,
      streamed: 0,
      lastProgressAt: Date.now(),
    };
    this.connections.push(conn);
    if (this.closeOnAccept > 0) {
      this.closeOnAccept--;
      conn.faulted = true;
      conn.faultedAt = 0;
      socket.on('error', () => undefined);
      socket.on('close', () => (conn.closed = true));
      socket.destroy();
      return;
    }
    let pending: Buffer = Buffer.alloc(0);
    let queue: Promise<void> = Promise.resolve();
    let index = 0;
    let broken = false;
    socket.on('data', (data: Buffer) => {
      conn.bytesIn += data.length;
      if (broken) return;
      pending = pending.length === 0 ? data : Buffer.concat([pending, data]);
      for (;;) {
        const result = parseMessage(pending, 'request');
        if (result.state === 'need-more') return;
        if (result.state === 'error') {
          broken = true;
          socket.destroy();
          return;
        }
        pending = pending.subarray(result.consumed);
        const request = result.message;
        conn.requests.push(request);
        const context: FaultContext = { connection: conn, indexOnConnection: index++ };
        queue = queue.then(() => this.answer(conn, request, context)).catch(() => {
          socket.destroy();
        });
      }
    });
    socket.on('end', () => {
      conn.peerClosed = true;
      void queue.then(() => {
        if (!socket.destroyed) socket.end();
      });
    });
    socket.on('error', () => {
      conn.peerClosed = true;
    });
    socket.on('close', () => {
      conn.closed = true;
    });
  }

  private async answer(conn: BackendConn, request: HttpMessage, context: FaultContext): Promise<void> {
    const socket = conn.socket;
    const fault = this.script(request, context);
    if (fault.kind !== 'ok') {
      conn.faulted = true;
      conn.faultedAt ??= context.indexOnConnection;
    }
    const id = header(request, 'x-request-id') ?? '';
    switch (fault.kind) {
      case 'ok': {
        if (fault.delayMs) await delay(fault.delayMs);
        if (socket.destroyed) return;
        const body = request.body.length > 0
          ? request.body
          : Buffer.from(describeBody(this.name, request.method, request.target, id));
        const head =
          `HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: ${body.length}\r\n` +
          `X-Backend: ${this.name}\r\nX-Request-Id: ${id}\r\n\r\n`;
        socket.write(Buffer.concat([Buffer.from(head, 'latin1'), body]));
        return;
      }
      case 'close':
        if (fault.delayMs) await delay(fault.delayMs);
        socket.end();
        return;
      case 'reset':
        if (fault.delayMs) await delay(fault.delayMs);
        if (!socket.destroyed) socket.resetAndDestroy();
        return;
      case 'stall':
        return;
      case 'raw': {
        if (fault.bytes !== undefined) socket.write(fault.bytes);
        for (const [i, piece] of (fault.pieces ?? []).entries()) {
          if (i > 0) await delay(fault.pauseMs ?? 20);
          if (socket.destroyed) return;
          socket.write(piece);
        }
        if (fault.extra !== undefined) {
          const extra = fault.extra;
          setTimeout(() => {
            if (socket.destroyed || !socket.writable) return;
            socket.write(extra);
            conn.extraState = 'written';
            // Written to the kernel in this turn unless queued behind earlier writes.
            const settle = (): void => {
              if (socket.writableLength === 0) conn.extraState = 'delivered';
              else setImmediate(settle);
            };
            setImmediate(settle);
          }, fault.extraDelayMs ?? 30).unref();
        }
        if (fault.then === 'close') socket.end();
        else if (fault.then === 'reset') {
          // Let the bytes leave first: a reset discards what is still queued.
          await waitUntil('raw bytes flushed', () => socket.writableLength === 0 || socket.destroyed);
          await delay(20);
          if (!socket.destroyed) socket.resetAndDestroy();
        }
        return;
      }
      case 'stream':
        await this.stream(conn, fault, id);
        return;
    }
  }

  private async stream(conn: BackendConn, fault: Extract<Fault, { kind: 'stream' }>, id: string): Promise<void> {
    const socket = conn.socket;
    const framing = fault.framing === 'chunked' ? 'Transfer-Encoding: chunked' : `Content-Length: ${fault.total}`;
    socket.write(`HTTP/1.1 200 OK\r\n${framing}\r\nX-Backend: ${this.name}\r\nX-Request-Id: ${id}\r\n\r\n`);
    const limit = fault.failAfter ?? fault.total;
    let sent = 0;
    while (sent < limit) {
      if (socket.destroyed || !socket.writable) return;
      const offset = sent % PATTERN.length;
      const n = Math.min(PATTERN.length - offset, limit - sent);
      const piece = PATTERN.subarray(offset, offset + n);
      const ok = fault.framing === 'chunked'
        ? socket.write(Buffer.concat([Buffer.from(`${n.toString(16)}\r\n`), piece, Buffer.from('\r\n')]))
        : socket.write(piece);
      sent += n;
      conn.streamed = sent;
      conn.lastProgressAt = Date.now();
      if (!ok) {
        const closed = await new Promise<boolean>((resolve) => {
          const onDrain = (): void => { cleanup(); resolve(false); };
          const onClose = (): void => { cleanup(); resolve(true); };
          const cleanup = (): void => {
            socket.off('drain', onDrain);
            socket.off('close', onClose);
          };
          socket.on('drain', onDrain);
          socket.on('close', onClose);
        });
        if (closed) return;
        conn.lastProgressAt = Date.now();
      }
      if (fault.pauseMs) await delay(fault.pauseMs);
    }
    if (fault.failAfter !== undefined) {
      if (fault.failWith === 'reset') {
        await waitUntil('stream flushed', () => socket.writableLength === 0 || socket.destroyed, { timeoutMs: 10_000 });
        await delay(20);
        if (!socket.destroyed) socket.resetAndDestroy();
      } else {
        socket.end();
      }
      return;
    }
    if (fault.framing === 'chunked') socket.write('0\r\n\r\n');
  }

  async close(): Promise<void> {
    for (const conn of this.connections) conn.socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
