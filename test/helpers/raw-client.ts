// A raw TCP client: writes exact bytes (whole, or in pieces with pauses), reads responses
// with the independent reader in http-message.ts, and tells whether the server closed.
import net from 'node:net';
import { parseMessage, printable, type HttpMessage } from './http-message.js';
import { ChangeSignal, delay, withTimeout } from './wait.js';
import { onCleanup } from './cleanup.js';

export class RawClient {
  /** Every byte received, in order. */
  private readonly chunks: Buffer[] = [];
  /** Bytes received and not yet returned as a response. */
  private pending: Buffer = Buffer.alloc(0);
  private readonly changed = new ChangeSignal();
  /** The server sent FIN (or the connection was reset). */
  serverClosed = false;
  /** The socket is fully closed. */
  closed = false;
  /** A socket error such as ECONNRESET, if one happened. */
  error: Error | undefined;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (data: Buffer) => {
      this.chunks.push(data);
      this.pending = this.pending.length === 0 ? data : Buffer.concat([this.pending, data]);
      this.changed.notify();
    });
    socket.on('end', () => {
      this.serverClosed = true;
      this.changed.notify();
    });
    socket.on('error', (err) => {
      this.error = err;
      this.serverClosed = true;
      this.changed.notify();
    });
    socket.on('close', () => {
      this.closed = true;
      this.serverClosed = true;
      this.changed.notify();
    });
  }

  /** Connects to 127.0.0.1:`port`; the client is destroyed by the cleanup after each test. */
  static async connect(port: number, { host = '127.0.0.1', timeoutMs = 5_000 } = {}): Promise<RawClient> {
    const socket = net.connect({ port, host, noDelay: true });
    const client = new RawClient(socket);
    onCleanup(() => socket.destroy());
    await withTimeout(
      `connect to ${host}:${port}`,
      new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('error', reject);
      }),
      timeoutMs,
    );
    return client;
  }

  /** Writes `data` and resolves once it is handed to the kernel. */
  write(data: string | Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data, (err) => (err ? reject(err) : resolve()));
    });
  }

  /** Writes each piece separately, pausing `pauseMs` between them (to split heads and bodies). */
  async writePieces(pieces: Array<string | Buffer>, pauseMs = 20): Promise<void> {
    for (let i = 0; i < pieces.length; i++) {
      if (i > 0) await delay(pauseMs);
      await this.write(pieces[i]!);
    }
  }

  /** Every byte received so far. */
  received(): Buffer {
    return Buffer.concat(this.chunks);
  }

  /** Bytes received that no readResponse has consumed. */
  unread(): Buffer {
    return this.pending;
  }

  /**
   * Reads the next complete response. `method` is the method of the request it answers
   * (HEAD responses have no body). Rejects, showing the bytes received, when the server
   * closes first, the bytes are not a valid response, or `timeoutMs` passes.
   */
  readResponse({ method = 'GET', timeoutMs = 10_000 }: { method?: string; timeoutMs?: number } = {}): Promise<HttpMessage> {
    return this.changed.until(
      () => {
        const result = parseMessage(this.pending, 'response', { requestMethod: method, eof: this.serverClosed });
        if (result.state === 'error') {
          throw new Error(`bad response (${result.reason}); received:\n${printable(this.received())}`);
        }
        if (result.state === 'need-more') return undefined;
        this.pending = this.pending.subarray(result.consumed);
        return result.message;
      },
      timeoutMs,
      () => new Error(`no complete response within ${timeoutMs} ms; received:\n${printable(this.received())}`),
    );
  }

  /** Reads one response per entry of `methods`, in order. */
  async readResponses(methods: string[], timeoutMs = 10_000): Promise<HttpMessage[]> {
    const out: HttpMessage[] = [];
    for (const method of methods) out.push(await this.readResponse({ method, timeoutMs }));
    return out;
  }

  /** Resolves true once the server has closed its side, false if `timeoutMs` passes first. */
  waitForServerClose(timeoutMs = 5_000): Promise<boolean> {
    return this.changed
      .until(
        () => (this.serverClosed ? true : undefined),
        timeoutMs,
        () => new Error('server still open'),
      )
      .catch(() => this.serverClosed);
  }

  /** Half-closes: sends FIN, keeps reading. */
  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** The result of a one-shot exchange. */
export interface Exchange {
  responses: HttpMessage[];
  /** Whether the server closed the connection (within `closeWaitMs` after the last response). */
  serverClosed: boolean;
  /** Every byte received. */
  received: Buffer;
}

/**
 * Connects, writes `request` (a string/Buffer, or pieces written with pauses), reads one
 * response per entry of `methods`, then waits up to `closeWaitMs` for the server to close.
 */
export async function exchange(
  port: number,
  request: string | Buffer | Array<string | Buffer>,
  {
    methods = ['GET'],
    closeWaitMs = 0,
    pauseMs = 20,
    timeoutMs = 10_000,
  }: {
    methods?: string[];
    closeWaitMs?: number;
    pauseMs?: number;
    timeoutMs?: number;
  } = {},
): Promise<Exchange> {
  const client = await RawClient.connect(port);
  try {
    if (Array.isArray(request)) await client.writePieces(request, pauseMs);
    else await client.write(request);
    const responses = await client.readResponses(methods, timeoutMs);
    const serverClosed = closeWaitMs > 0 ? await client.waitForServerClose(closeWaitMs) : client.serverClosed;
    return { responses, serverClosed, received: client.received() };
  } finally {
    client.destroy();
  }
}
