// Servers a test writes for itself (a backend with one behaviour, a relay): listening on
// 127.0.0.1 on a free port, and closed after the test together with every connection
// they still hold, so that no test leaves a socket behind for the next one.
import type net from 'node:net';

import { onCleanup } from './cleanup.js';

/** Starts `server` (net, http or https) on 127.0.0.1:0 and returns its port; closed by the cleanup after each test. */
export async function listenOnLoopback(server: net.Server): Promise<number> {
  const sockets = new Set<net.Socket>();
  server.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  onCleanup(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  );
  return (server.address() as net.AddressInfo).port;
}
