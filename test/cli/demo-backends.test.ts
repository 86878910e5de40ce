// The demo backends behind `lb-native start --demo`, tested on their own with real sockets.
import { Agent, request } from 'node:http';
import { type Server, createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';

import { type DemoBackends, startDemoBackends } from '../../src/demo/demo-backends.js';

interface Reply {
  status: number;
  body: string;
  reusedSocket: boolean;
}

function send(agent: Agent, port: number, method: string, path: string, body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, agent }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, reusedSocket: req.reusedSocket }));
    });
    req.setTimeout(5_000, () => req.destroy(new Error('no answer within 5 s')));
    req.on('error', reject);
    req.end(body);
  });
}

/** Holds a port busy, to see the demo move off it. */
function occupyPort(): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

let demo: DemoBackends | undefined;
let busy: Server | undefined;
afterEach(async () => {
  await demo?.close();
  demo = undefined;
  await new Promise<void>((resolve) => (busy ? busy.close(() => resolve()) : resolve()));
  busy = undefined;
});

describe('startDemoBackends', () => {
  it('answers with its name, the method and the path, on one kept-alive connection', async () => {
    busy = await occupyPort();
    const busyPort = (busy.address() as { port: number }).port;
    // The first preferred port is busy: that backend must take a free one instead.
    demo = await startDemoBackends({ count: 3, firstPort: busyPort });
    expect(demo.backends.map((b) => b.name)).toEqual(['demo-backend-1', 'demo-backend-2', 'demo-backend-3']);
    expect(demo.backends[0]?.port).not.toBe(busyPort);
    expect(new Set(demo.backends.map((b) => b.port)).size).toBe(3);
    for (const backend of demo.backends) expect(backend.address).toBe(`127.0.0.1:${backend.port}`);

    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const [second] = demo.backends.slice(1);
      const first = await send(agent, second!.port, 'GET', '/some/path?x=1');
      expect(first).toEqual({ status: 200, body: 'hello from demo-backend-2\nGET /some/path?x=1\n', reusedSocket: false });
      const post = await send(agent, second!.port, 'POST', '/upload', 'x'.repeat(100_000));
      expect(post).toEqual({ status: 200, body: 'hello from demo-backend-2\nPOST /upload\n', reusedSocket: true });
    } finally {
      agent.destroy();
    }
  });

  it('close() frees the ports, even with idle keep-alive connections open', async () => {
    demo = await startDemoBackends({ count: 1, firstPort: 0 });
    const port = demo.backends[0]!.port;
    const agent = new Agent({ keepAlive: true });
    try {
      await send(agent, port, 'GET', '/');
      await demo.close();
      demo = undefined;
      const again = await startDemoBackends({ count: 1, firstPort: port });
      demo = again;
      expect(again.backends[0]?.port).toBe(port);
    } finally {
      agent.destroy();
    }
  });
});
