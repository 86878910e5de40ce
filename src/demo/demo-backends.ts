// Small HTTP backends for `lb-native start --demo`: each answers
// `hello from demo-backend-N` and the request's method and path, with keep-alive.
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

import { formatAddress } from '../config/address.js';

export interface DemoBackendOptions {
  /** How many backends. Default 3. */
  count?: number;
  /** Default '127.0.0.1'. */
  host?: string;
  /** Backend N tries port `firstPort + N - 1` and takes a free port if that one is busy. Default 9001. */
  firstPort?: number;
}

export interface DemoBackend {
  /** `demo-backend-N`, N from 1. */
  name: string;
  /** `host:port`, as a `--backend` value. */
  address: string;
  port: number;
}

export interface DemoBackends {
  backends: DemoBackend[];
  /** Closes every backend and its connections. */
  close(): Promise<void>;
}

function createDemoServer(name: string): Server {
  const server = createServer((req, res) => {
    // Read (and drop) any body before answering, so the connection stays reusable.
    req.resume();
    req.on('end', () => {
      const body = `hello from ${name}\n${req.method ?? ''} ${req.url ?? ''}\n`;
      res.writeHead(200, {
        'content-type': 'text/plain; charset=utf-8',
        'content-length': Buffer.byteLength(body),
        'x-demo-backend': name,
      });
      res.end(body);
    });
  });
  server.on('clientError', (_error, socket) => socket.destroy());
  return server;
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => {
      server.off('listening', onListening);
      reject(error);
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** Starts the demo backends; a busy preferred port is replaced by a free one. */
export async function startDemoBackends(options: DemoBackendOptions = {}): Promise<DemoBackends> {
  const { count = 3, host = '127.0.0.1', firstPort = 9001 } = options;
  const servers: Server[] = [];
  const backends: DemoBackend[] = [];
  const closeAll = async () => {
    await Promise.all(servers.map(close));
  };
  try {
    for (let n = 1; n <= count; n += 1) {
      const name = `demo-backend-${n}`;
      let server = createDemoServer(name);
      try {
        await listen(server, host, firstPort + n - 1);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
        server = createDemoServer(name);
        await listen(server, host, 0);
      }
      servers.push(server);
      const { port } = server.address() as AddressInfo;
      backends.push({ name, address: formatAddress(host, port), port });
    }
  } catch (error) {
    await closeAll();
    throw error;
  }
  return { backends, close: closeAll };
}
