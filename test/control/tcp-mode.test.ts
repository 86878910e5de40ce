// TCP mode end to end: bytes relayed untouched both ways, half-closes passed on, PROXY
// protocol v1 and v2 headers that a test backend parses (the v2 parser is written here),
// and the next backend when one refuses.
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';

import { startBalancer } from '../helpers/balancer.js';
import { onCleanup, runCleanups } from '../helpers/cleanup.js';
import { withTimeout } from '../helpers/wait.js';
import { closedPort } from './support.js';

afterEach(runCleanups);

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** A TCP server on 127.0.0.1 whose connections `onConnection` handles; closed by the cleanup. */
async function tcpServer(
  onConnection: (socket: net.Socket) => void,
): Promise<{ port: number; address: string; connections: number }> {
  const sockets = new Set<net.Socket>();
  const info = { port: 0, address: '', connections: 0 };
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    info.connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    onConnection(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  info.port = (server.address() as net.AddressInfo).port;
  info.address = `127.0.0.1:${info.port}`;
  onCleanup(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return info;
}

/** Connects to the balancer; the socket is destroyed by the cleanup. */
async function connect(port: number): Promise<net.Socket> {
  const socket = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
  onCleanup(() => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return socket;
}

/** Everything `socket` receives until the peer's FIN (or `count` bytes). */
function readAll(socket: net.Socket, count = Number.POSITIVE_INFINITY): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    const done = () => resolve(Buffer.concat(chunks));
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      length += chunk.length;
      if (length >= count) done();
    });
    socket.once('end', done);
    socket.once('error', reject);
  });
}

/** Reads exactly `n` bytes, then pauses the socket and puts back what came after. */
function readExactly(socket: net.Socket, n: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let buffered = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length >= n) {
        socket.off('data', onData);
        socket.pause();
        if (buffered.length > n) socket.unshift(buffered.subarray(n));
        resolve(buffered.subarray(0, n));
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.resume();
  });
}

// ---- PROXY protocol parsers (the test's own, independent of the data path) ------------

interface ProxyHeader {
  version: 1 | 2;
  family: string;
  source: string;
  sourcePort: number;
  destination: string;
  destinationPort: number;
  /** Bytes of the header on the wire. */
  length: number;
}

function parseProxyV1(data: Buffer): ProxyHeader | undefined {
  const end = data.indexOf('\r\n');
  if (end === -1 || end > 105) return undefined;
  const line = data.subarray(0, end).toString('latin1');
  const match = /^PROXY (TCP4|TCP6) (\S+) (\S+) (\d+) (\d+)$/.exec(line);
  if (!match) throw new Error(`not a PROXY v1 line: ${JSON.stringify(line)}`);
  return {
    version: 1,
    family: match[1] ?? '',
    source: match[2] ?? '',
    destination: match[3] ?? '',
    sourcePort: Number(match[4]),
    destinationPort: Number(match[5]),
    length: end + 2,
  };
}

const v2Signature = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);

function parseProxyV2(data: Buffer): ProxyHeader | undefined {
  if (data.length < 16) return undefined;
  if (!data.subarray(0, 12).equals(v2Signature))
    throw new Error(`no PROXY v2 signature: ${data.subarray(0, 16).toString('hex')}`);
  const versionCommand = data[12] ?? 0;
  if (versionCommand >> 4 !== 2) throw new Error(`PROXY v2: version ${versionCommand >> 4}`);
  if ((versionCommand & 0x0f) !== 1) throw new Error(`PROXY v2: command ${versionCommand & 0x0f}, expected PROXY (1)`);
  const familyProtocol = data[13] ?? 0;
  const length = data.readUInt16BE(14);
  if (data.length < 16 + length) return undefined;
  const body = data.subarray(16, 16 + length);
  if (familyProtocol === 0x11) {
    if (length < 12) throw new Error(`PROXY v2 TCP4: address block of ${length} bytes`);
    const ip = (offset: number) => [...body.subarray(offset, offset + 4)].join('.');
    return {
      version: 2,
      family: 'TCP4',
      source: ip(0),
      destination: ip(4),
      sourcePort: body.readUInt16BE(8),
      destinationPort: body.readUInt16BE(10),
      length: 16 + length,
    };
  }
  if (familyProtocol === 0x21) {
    if (length < 36) throw new Error(`PROXY v2 TCP6: address block of ${length} bytes`);
    const ip = (offset: number) => {
      const groups: string[] = [];
      for (let i = 0; i < 16; i += 2) groups.push(body.readUInt16BE(offset + i).toString(16));
      return groups.join(':');
    };
    return {
      version: 2,
      family: 'TCP6',
      source: ip(0),
      destination: ip(16),
      sourcePort: body.readUInt16BE(32),
      destinationPort: body.readUInt16BE(34),
      length: 16 + length,
    };
  }
  throw new Error(`PROXY v2: unexpected family/protocol 0x${familyProtocol.toString(16)}`);
}

/**
 * A backend that reads a PROXY header (v1 or v2) first, records it, then echoes the rest
 * of the stream.
 */
async function proxyProtocolBackend(parse: (data: Buffer) => ProxyHeader | undefined) {
  const headers: ProxyHeader[] = [];
  const server = await tcpServer((socket) => {
    let buffered = Buffer.alloc(0);
    let parsed = false;
    socket.on('data', (chunk: Buffer) => {
      if (parsed) {
        socket.write(chunk);
        return;
      }
      buffered = Buffer.concat([buffered, chunk]);
      const header = parse(buffered);
      if (!header) return;
      parsed = true;
      headers.push(header);
      const rest = buffered.subarray(header.length);
      if (rest.length > 0) socket.write(rest);
    });
    socket.on('end', () => socket.end());
  });
  return { ...server, headers };
}

async function echoServer() {
  return tcpServer((socket) => {
    socket.pipe(socket);
  });
}

describe('tcp mode', () => {
  it('relays 10 MiB each way intact (hash), written and read at once', async () => {
    const echo = await echoServer();
    const lb = await startBalancer({ mode: 'tcp', workers: 2, backends: [echo.address] });
    const client = await connect(lb.port);
    const payload = randomBytes(10 * 1024 * 1024);
    const received = readAll(client, payload.length);
    client.end(payload);
    const echoed = await withTimeout('10 MiB echoed', received, 20_000);
    expect(echoed.length).toBe(payload.length);
    expect(sha256(echoed)).toBe(sha256(payload));
  });

  it('passes a half-close on in both directions', async () => {
    const events: string[] = [];
    const backend = await tcpServer((socket) => {
      const chunks: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      socket.on('end', () => {
        // The client's FIN arrived; this side still writes, then closes its own.
        events.push(`backend got FIN after '${Buffer.concat(chunks).toString()}'`);
        socket.write('reply after your FIN');
        socket.end();
      });
    });
    const lb = await startBalancer({ mode: 'tcp', workers: 1, backends: [backend.address] });
    const client = await connect(lb.port);
    const reply = readAll(client);
    client.end('request then FIN');
    expect((await withTimeout('reply and FIN', reply, 5_000)).toString()).toBe('reply after your FIN');
    expect(events).toEqual(["backend got FIN after 'request then FIN'"]);

    // The other way: the backend closes its side first, the client keeps sending.
    const received: string[] = [];
    let finished!: () => void;
    const backendDone = new Promise<void>((resolve) => (finished = resolve));
    const first = await tcpServer((socket) => {
      socket.end('server done talking');
      socket.on('data', (chunk: Buffer) => received.push(chunk.toString()));
      socket.on('end', () => finished());
    });
    const lb2 = await startBalancer({ mode: 'tcp', workers: 1, backends: [first.address] });
    const client2 = await connect(lb2.port);
    const greeting = await withTimeout('server FIN', readAll(client2), 5_000);
    expect(greeting.toString()).toBe('server done talking');
    client2.write('client still talking');
    // (Data and FIN back to back: see the next test.)
    await new Promise((resolve) => setTimeout(resolve, 20));
    client2.end();
    await withTimeout('client bytes and FIN after the server FIN', backendDone, 5_000);
    expect(received.join('')).toBe('client still talking');
  });

  it('after the backend’s FIN, a client’s last bytes and its FIN sent right after both arrive (100 times)', async () => {
    let current: { data: string; done: () => void } | undefined;
    const backend = await tcpServer((socket) => {
      const mine = current;
      let data = '';
      socket.end('bye');
      socket.on('data', (chunk: Buffer) => (data += chunk.toString()));
      socket.on('end', () => {
        if (mine) {
          mine.data = data;
          mine.done();
        }
      });
    });
    const lb = await startBalancer({ mode: 'tcp', workers: 1, backends: [backend.address] });
    const lost: number[] = [];
    for (let i = 0; i < 100; i += 1) {
      let done!: () => void;
      const finished = new Promise<void>((resolve) => (done = resolve));
      const attempt = { data: '', done };
      current = attempt;
      const client = await connect(lb.port);
      await withTimeout('the backend FIN', readAll(client), 5_000);
      client.write(`last words ${i}`);
      client.end();
      await withTimeout(`the backend to see FIN #${i}`, finished, 5_000);
      if (attempt.data !== `last words ${i}`) lost.push(i);
      client.destroy();
    }
    expect(lost, 'attempts whose bytes were lost while the FIN arrived').toEqual([]);
  });

  it('PROXY v1: the backend reads the client address and the balancer address first', async () => {
    const backend = await proxyProtocolBackend(parseProxyV1);
    const lb = await startBalancer({ mode: 'tcp', proxyProtocol: 'v1', workers: 1, backends: [backend.address] });
    const client = await connect(lb.port);
    const echoed = readAll(client, 5);
    client.write('hello');
    expect((await withTimeout('echo', echoed, 5_000)).toString()).toBe('hello');
    expect(backend.headers).toEqual([
      {
        version: 1,
        family: 'TCP4',
        source: '127.0.0.1',
        sourcePort: client.localPort,
        destination: '127.0.0.1',
        destinationPort: lb.port,
        length: expect.any(Number),
      },
    ]);
  });

  it('PROXY v2: a binary header with the client and balancer addresses, then the stream', async () => {
    const backend = await proxyProtocolBackend(parseProxyV2);
    const lb = await startBalancer({ mode: 'tcp', proxyProtocol: 'v2', workers: 1, backends: [backend.address] });
    const client = await connect(lb.port);
    const payload = randomBytes(100_000);
    const echoed = readAll(client, payload.length);
    client.write(payload);
    expect(sha256(await withTimeout('echo', echoed, 5_000))).toBe(sha256(payload));
    expect(backend.headers).toEqual([
      {
        version: 2,
        family: 'TCP4',
        source: '127.0.0.1',
        sourcePort: client.localPort,
        destination: '127.0.0.1',
        destinationPort: lb.port,
        length: expect.any(Number),
      },
    ]);
  });

  it('PROXY v2 over IPv6', async () => {
    const headers: ProxyHeader[] = [];
    const sockets = new Set<net.Socket>();
    const server = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
      void readExactly(socket, 16).then(async (fixed) => {
        const rest = await readExactly(socket, fixed.readUInt16BE(14));
        const header = parseProxyV2(Buffer.concat([fixed, rest]));
        if (header) headers.push(header);
        socket.end('ok');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '::1', resolve));
    onCleanup(async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });
    const port = (server.address() as net.AddressInfo).port;
    const lb = await startBalancer({
      listen: '[::1]:0',
      mode: 'tcp',
      proxyProtocol: 'v2',
      workers: 1,
      backends: [`[::1]:${port}`],
    });
    const client = net.connect({ host: '::1', port: lb.port });
    onCleanup(() => client.destroy());
    expect((await withTimeout('ok', readAll(client), 5_000)).toString()).toBe('ok');
    expect(headers).toEqual([
      {
        version: 2,
        family: 'TCP6',
        source: '0:0:0:0:0:0:0:1',
        sourcePort: client.localPort,
        destination: '0:0:0:0:0:0:0:1',
        destinationPort: lb.port,
        length: 52,
      },
    ]);
  });

  it('a backend that refuses is skipped: every connection reaches the next one', async () => {
    const echo = await echoServer();
    const refused = await closedPort();
    const lb = await startBalancer({ mode: 'tcp', workers: 2, backends: [`127.0.0.1:${refused}`, echo.address] });
    for (let i = 0; i < 10; i += 1) {
      const client = await connect(lb.port);
      const echoed = readAll(client);
      client.end(`ping ${i}`);
      expect((await withTimeout(`echo ${i}`, echoed, 5_000)).toString()).toBe(`ping ${i}`);
    }
    expect(echo.connections).toBe(10);
    expect(lb.stats().backends[0]?.connectErrors).toBeGreaterThan(0);
  });

  it('ip-hash: connections from one address stick to one backend', async () => {
    const names: string[] = [];
    const backends = await Promise.all(['x', 'y', 'z'].map((name) => tcpServer((socket) => socket.end(name))));
    const lb = await startBalancer({ mode: 'tcp', strategy: 'ip-hash', workers: 2, backends: backends.map((b) => b.address) });
    for (let i = 0; i < 8; i += 1) {
      const client = await connect(lb.port);
      names.push((await withTimeout('name', readAll(client), 5_000)).toString());
    }
    expect(new Set(names).size, names.join(',')).toBe(1);
  });
});
