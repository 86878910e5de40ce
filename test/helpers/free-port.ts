// A port for a process the test starts itself (a CLI, dnsmasq, etcd), which has to be
// told the port up front. The port is chosen at random below the kernel's ephemeral
// range (32768-60999 on Linux by default) and checked by binding it: ports that other,
// parallel test files get by binding port 0 come from the ephemeral range, so between
// this check and the child's own bind no one else is likely to take it.
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';

const lowest = 20000;
const highest = 32000;

function tcpFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

function udpFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    socket.once('error', () => resolve(false));
    socket.bind({ address: host, port, exclusive: true }, () => socket.close(() => resolve(true)));
  });
}

/** A TCP port (and, with `udp`, the same UDP port) free on `host` right now. */
export async function freePort(host = '127.0.0.1', udp = false): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = lowest + Math.floor(Math.random() * (highest - lowest));
    if (!(await tcpFree(host, port))) continue;
    if (udp && !(await udpFree(host, port))) continue;
    return port;
  }
  throw new Error(`no free port found between ${lowest} and ${highest}`);
}
