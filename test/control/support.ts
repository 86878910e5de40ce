// Local helpers for the control-plane suite (test/control/**): HTTP requests through the
// balancer with a real client (node:http, keep-alive), counting which backend answered,
// a backend whose health endpoint the test flips, and free/refused ports. The shared
// helpers (test/helpers/) start balancers and backends and clean them up.
import http from 'node:http';
import net from 'node:net';

import { onCleanup } from '../helpers/cleanup.js';

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A keep-alive agent for one test, destroyed by the cleanup. */
export function keepAliveAgent(maxSockets = 16): http.Agent {
  const agent = new http.Agent({ keepAlive: true, maxSockets });
  onCleanup(() => agent.destroy());
  return agent;
}

/** GET (or `method`) `path` on 127.0.0.1:`port`; resolves with status, headers and body. */
export function request(
  port: number,
  path: string,
  {
    headers = {},
    agent,
    method = 'GET',
    timeoutMs = 10_000,
    localAddress,
  }: {
    headers?: Record<string, string>;
    agent?: http.Agent | false;
    method?: string;
    timeoutMs?: number;
    localAddress?: string;
  } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path, method, headers, agent: agent ?? false, localAddress, timeout: timeoutMs },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer to ${method} ${path} within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** Which backend answered (the X-Backend header of test/helpers/http-backend.ts). */
export function backendOf(reply: Reply): string {
  return String(reply.headers['x-backend'] ?? `status ${reply.status}`);
}

/**
 * Sends `total` GETs, `concurrency` at a time over keep-alive connections, and counts
 * answers per backend name (non-200s are counted as `status N`).
 */
export async function countBackends(
  port: number,
  total: number,
  {
    concurrency = 8,
    path = (i: number) => `/r${i}`,
    headers = {},
  }: {
    concurrency?: number;
    path?: (i: number) => string;
    headers?: Record<string, string>;
  } = {},
): Promise<Map<string, number>> {
  const agent = keepAliveAgent(concurrency);
  const counts = new Map<string, number>();
  let next = 0;
  const worker = async () => {
    while (next < total) {
      const i = next++;
      const reply = await request(port, path(i), { agent, headers });
      const name = reply.status === 200 ? backendOf(reply) : `status ${reply.status}`;
      counts.set(name, (counts.get(name) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return counts;
}

/** A 127.0.0.1 port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * An HTTP backend with a health endpoint the test controls: `/healthz` answers
 * `healthStatus`; everything else answers 200 with the name in X-Backend. Counts requests
 * other than health checks. Closed by the cleanup.
 */
export interface FlippableBackend {
  name: string;
  port: number;
  address: string;
  healthStatus: number;
  /** Requests other than /healthz. */
  requests: number;
  /** /healthz requests, and the Host header of the last one. */
  healthChecks: number;
  lastHealthHost: string | undefined;
  server: http.Server;
  /** Closes the listener and destroys its connections. */
  close(): Promise<void>;
}

export async function startFlippableBackend(name: string): Promise<FlippableBackend> {
  const sockets = new Set<net.Socket>();
  const server = http.createServer((req, res) => {
    if (req.url === '/healthz') {
      backend.healthChecks += 1;
      backend.lastHealthHost = req.headers.host;
      res.writeHead(backend.healthStatus, { 'content-type': 'text/plain' });
      res.end(`${name} health ${backend.healthStatus}`);
      return;
    }
    backend.requests += 1;
    res.writeHead(200, { 'x-backend': name, 'content-type': 'text/plain' });
    res.end(name);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  let closed = false;
  const backend: FlippableBackend = {
    name,
    port,
    address: `127.0.0.1:${port}`,
    healthStatus: 200,
    requests: 0,
    healthChecks: 0,
    lastHealthHost: undefined,
    server,
    close: async () => {
      if (closed) return;
      closed = true;
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  onCleanup(() => backend.close());
  return backend;
}
