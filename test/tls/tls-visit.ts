// One visit to a TLS listener: a new connection (resuming `session` if given) that sends
// one request with Connection: close and reads to the end. What session resumption tests
// need to know: whether the session resumed, the last ticket the server sent, the status.
import tls from 'node:tls';

import type { FixtureCa } from '../helpers/tls-fixtures.js';

export interface Visit {
  reused: boolean;
  status: string;
  session: Buffer | undefined;
}

/** Visits 127.0.0.1:`port` as "localhost", trusting `ca`, at most at `maxVersion`. */
export function visit(ca: FixtureCa, port: number, session?: Buffer, maxVersion: tls.SecureVersion = 'TLSv1.3'): Promise<Visit> {
  return new Promise((resolve, reject) => {
    let newest: Buffer | undefined;
    let response = '';
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      servername: 'localhost',
      ca: ca.certPem,
      maxVersion,
      session,
    });
    socket.on('session', (ticket: Buffer) => (newest = ticket));
    let reused = false; // read while connected: after the close the answer is gone
    socket.on('secureConnect', () => {
      reused = socket.isSessionReused();
      socket.write('GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    });
    socket.on('data', (data: Buffer) => (response += data.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () => resolve({ reused, status: response.split('\r\n')[0] ?? '', session: newest }));
    socket.setTimeout(10_000, () => socket.destroy(new Error('no answer in 10 s')));
  });
}
