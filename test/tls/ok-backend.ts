// A backend that answers every request with "ok", and a TLS listener in front of it: the
// setup of tests about the TLS layer itself (handshakes, tickets, counters, scanners),
// not the proxying.
import http from 'node:http';

import { startBalancer, type Balancer } from '../helpers/balancer.js';
import { listenOnLoopback } from '../helpers/loopback-server.js';
import type { FixtureCertificate } from '../helpers/tls-fixtures.js';

/** Starts the "ok" backend; resolves with its address, "127.0.0.1:port". Closed after the test. */
export async function startOkBackend(): Promise<string> {
  return `127.0.0.1:${await listenOnLoopback(http.createServer((_req, res) => res.end('ok')))}`;
}

/**
 * Starts an "ok" backend and a balancer whose listener presents `cert`; `tlsExtra` adds
 * to the listener's `tls` settings, `extra` to the balancer's. Both stop after the test.
 */
export async function startOkTlsBalancer(
  cert: FixtureCertificate,
  tlsExtra: Record<string, unknown> = {},
  extra: Record<string, unknown> = {},
): Promise<Balancer> {
  return startBalancer({
    backends: [await startOkBackend()],
    tls: { certificates: [{ cert: cert.chainFile, key: cert.keyFile }], ...tlsExtra },
    ...extra,
  });
}
