// The HTTP/1.1 backend the HTTP/2 tests talk to through the balancer: it answers each
// request with what it saw, or with the body a path asks for, and records how each
// exchange ended (completed, or its connection closed mid-response).
import { createHash } from 'node:crypto';
import http from 'node:http';
import type net from 'node:net';
import type { AddressInfo } from 'node:net';

import { onCleanup } from '../helpers/cleanup.js';

export interface H2Backend {
  port: number;
  /** Requests seen, by x-test-id. */
  seen: Map<string, { method: string; path: string; headers: http.IncomingHttpHeaders }>;
  /** x-test-id of /slow responses whose connection closed before they ended. */
  cut: Set<string>;
  /** x-test-id of /slow responses that ended normally. */
  completed: Set<string>;
}

/** Deterministic bytes: the same `size` always gives the same body. */
export function patternBytes(size: number): Buffer {
  const body = Buffer.alloc(size);
  for (let i = 0; i < size; i++) body[i] = (i * 31 + (i >> 8)) & 0xff;
  return body;
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export async function startH2Backend(): Promise<H2Backend> {
  const sockets = new Set<net.Socket>();
  const seen: H2Backend['seen'] = new Map();
  const cut = new Set<string>();
  const completed = new Set<string>();
  const server = http.createServer((req, res) => {
    const id = String(req.headers['x-test-id'] ?? '');
    const url = new URL(req.url ?? '/', 'http://backend');
    seen.set(id, { method: req.method ?? '', path: req.url ?? '', headers: req.headers });
    if (url.pathname === '/download') {
      const body = patternBytes(Number(url.searchParams.get('size')));
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
      res.end(body);
      return;
    }
    if (url.pathname === '/chunked-trailers') {
      res.writeHead(200, { 'content-type': 'text/plain', trailer: 'x-checksum' });
      res.write('part one;');
      res.write('part two');
      res.addTrailers({ 'x-checksum': 'abc123' });
      res.end();
      return;
    }
    if (url.pathname === '/slow') {
      // A response that takes its time: 20 pieces 100 ms apart.
      res.writeHead(200, { 'content-type': 'text/plain' });
      let sent = 0;
      const timer = setInterval(() => {
        res.write(`piece ${sent}\n`);
        if (++sent === 20) {
          clearInterval(timer);
          res.end();
          completed.add(id);
        }
      }, 100);
      res.on('close', () => {
        clearInterval(timer);
        if (!res.writableFinished) cut.add(id);
      });
      return;
    }
    const hash = createHash('sha256');
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      hash.update(chunk);
    });
    req.on('end', () => {
      const body = JSON.stringify({
        id,
        method: req.method,
        path: req.url,
        size,
        sha256: hash.digest('hex'),
        trailers: req.trailers,
        host: req.headers.host,
        proto: req.headers['x-forwarded-proto'],
        forwardedFor: req.headers['x-forwarded-for'],
        transferEncoding: req.headers['transfer-encoding'],
      });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-echo-id': id });
      res.end(body);
    });
  });
  server.keepAliveTimeout = 5000;
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onCleanup(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  );
  return { port: (server.address() as AddressInfo).port, seen, cut, completed };
}
