// A TLS listener in front of one backend that answers every request with "ok": the setup
// of tests about the TLS layer itself (handshakes, tickets, counters), not the proxying.
import http from 'node:http';
import type net from 'node:net';

import { startBalancer, type Balancer } from '../helpers/balancer.js';
import { onCleanup } from '../helpers/cleanup.js';
import type { FixtureCertificate } from '../helpers/tls-fixtures.js';

/**
 * Starts the "ok" backend and a balancer whose listener presents `cert`; `tlsExtra` adds
 * to the listener's `tls` settings, `extra` to the balancer's. Both stop after the test.
 */
export async function startOkTlsBalancer(
  cert: FixtureCertificate,
  tlsExtra: Record<string, unknown> = {},
  extra: Record<string, unknown> = {},
): Promise<Balancer> {
  const server = http.createServer((_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onCleanup(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const port = (server.address() as net.AddressInfo).port;
  return startBalancer({
    backends: [`127.0.0.1:${port}`],
    tls: { certificates: [{ cert: cert.chainFile, key: cert.keyFile }], ...tlsExtra },
    ...extra,
  });
}
