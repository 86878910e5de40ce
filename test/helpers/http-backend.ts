// A node:http backend: answers with its name, echoes X-Request-Id and any request body,
// keeps connections alive, and counts connections, requests and concurrency.
import http from 'node:http';
import type net from 'node:net';
import { createHash } from 'node:crypto';
import { onCleanup } from './cleanup.js';

export interface HttpBackendOptions {
  /** Milliseconds to wait before answering a request (may depend on the request). */
  delayMs?: (req: http.IncomingMessage) => number;
  /** How long node keeps an idle keep-alive connection (default 60 s, above the proxy's pool idle time). */
  keepAliveTimeoutMs?: number;
}

export interface HttpBackend {
  name: string;
  port: number;
  /** "127.0.0.1:port" */
  address: string;
  server: http.Server;
  /** Connections accepted so far. */
  connections: number;
  /** Requests answered so far. */
  requests: number;
  /** Requests being answered now, and the most at once. */
  inFlight: number;
  peakInFlight: number;
  /** X-Request-Id of every request, in arrival order. */
  ids: string[];
  close(): Promise<void>;
}

/**
 * Starts a backend on 127.0.0.1 on a free port. For a request with a body it answers
 * 200 with the same body (and X-Body-Sha256); otherwise with the text
 * `<name> <method> <url> id=<x-request-id>`. Every response carries X-Backend and X-Request-Id.
 * Closed by the cleanup after each test.
 */
export async function startHttpBackend(name: string, options: HttpBackendOptions = {}): Promise<HttpBackend> {
  const sockets = new Set<net.Socket>();
  const backend: HttpBackend = {
    name,
    port: 0,
    address: '',
    server: undefined as unknown as http.Server,
    connections: 0,
    requests: 0,
    inFlight: 0,
    peakInFlight: 0,
    ids: [],
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => backend.server.close(() => resolve()));
    },
  };
  const server = http.createServer({ keepAliveTimeout: options.keepAliveTimeoutMs ?? 60_000 }, (req, res) => {
    backend.inFlight++;
    backend.peakInFlight = Math.max(backend.peakInFlight, backend.inFlight);
    const id = String(req.headers['x-request-id'] ?? '');
    backend.ids.push(id);
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => {
      const answer = (): void => {
        const body = Buffer.concat(parts);
        const out = body.length > 0 ? body : Buffer.from(`${name} ${req.method} ${req.url} id=${id}`);
        res.writeHead(200, {
          'Content-Type': 'application/octet-stream',
          'Content-Length': out.length,
          'X-Backend': name,
          'X-Request-Id': id,
          'X-Body-Sha256': createHash('sha256').update(body).digest('hex'),
        });
        res.end(out);
        backend.requests++;
        backend.inFlight--;
      };
      const wait = options.delayMs?.(req) ?? 0;
      if (wait > 0) setTimeout(answer, wait);
      else answer();
    });
  });
  server.headersTimeout = 30_000;
  server.requestTimeout = 30_000;
  server.maxHeadersCount = 0;
  server.on('connection', (socket: net.Socket) => {
    backend.connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  backend.server = server;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, backlog: 4096 }, resolve);
  });
  backend.port = (server.address() as net.AddressInfo).port;
  backend.address = `127.0.0.1:${backend.port}`;
  onCleanup(() => backend.close());
  return backend;
}
