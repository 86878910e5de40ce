// A node:https backend on 127.0.0.1, for tests of TLS towards backends: the test says how
// it answers and with which certificate; the helper records how each TLS connection came
// (the SNI sent, whether a session was resumed) and closes everything after the test (loopback-server.ts).
import type http from 'node:http';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';

import { listenOnLoopback } from './loopback-server.js';
import type { FixtureCertificate } from './tls-fixtures.js';

export interface TlsConnectionSeen {
  /** The SNI the client sent; false when it sent none. */
  servername: string | false | null;
  reused: boolean;
}

export interface TlsBackend {
  port: number;
  /** "127.0.0.1:port" */
  address: string;
  /** One entry per TLS connection the backend accepted (after its handshake). */
  connections: TlsConnectionSeen[];
  server: https.Server;
}

/**
 * Starts an HTTPS server presenting `cert` (its chain) that answers with `answer`, on a free
 * port. `keepAliveTimeoutMs` sets how long it keeps an idle connection (node's default
 * when left out). Closed, with its connections, by the cleanup after each test.
 */
export async function startTlsBackend(
  cert: FixtureCertificate,
  answer: http.RequestListener,
  options: { keepAliveTimeoutMs?: number } = {},
): Promise<TlsBackend> {
  const connections: TlsConnectionSeen[] = [];
  const server = https.createServer({ cert: cert.chainPem, key: cert.keyPem }, answer);
  if (options.keepAliveTimeoutMs !== undefined) server.keepAliveTimeout = options.keepAliveTimeoutMs;
  server.on('secureConnection', (socket: TLSSocket) => {
    connections.push({ servername: socket.servername, reused: socket.isSessionReused() });
  });
  const port = await listenOnLoopback(server);
  return { port, address: `127.0.0.1:${port}`, connections, server };
}
