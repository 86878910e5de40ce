// The balancer and its host process: exiting with workers running, and running inside a
// worker_threads Worker (the addon must be loadable in several JS environments).
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { onCleanup, runCleanups } from '../helpers/cleanup.js';
import { RawClient } from '../helpers/raw-client.js';
import { startHttpBackend } from '../helpers/http-backend.js';
import { printable } from '../helpers/http-message.js';
import { runNodeScript } from '../helpers/child-node.js';
import { withTimeout } from '../helpers/wait.js';

afterEach(runCleanups);

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

describe('process exit', () => {
  for (const mode of ['idle', 'in-flight']) {
    it(`process.exit(0) with 2 workers running and a ${mode} client connection exits with code 0`, async () => {
      const result = await runNodeScript(fixture('exit-while-running.mjs'), { args: [mode], timeoutMs: 20_000 });
      const context = `stdout: ${result.stdout}\nstderr: ${result.stderr}`;
      expect(result.timedOut, context).toBe(false);
      expect(result.signal, context).toBeNull();
      expect(result.code, context).toBe(0);
      expect(result.stderr, context).not.toMatch(/abort|segmentation|terminate called|fatal|core dumped/i);
      const report = JSON.parse(result.stdout.trim()) as { status: string; port: number };
      expect(report.status).toBe('200');
      expect(report.port).toBeGreaterThan(0);
    });
  }
});

describe('worker_threads', () => {
  it('starts in a Worker, serves a request, stops, and the Worker terminates', async () => {
    const backend = await startHttpBackend('b');
    const worker = new Worker(fixture('worker-balancer.mjs'), { workerData: { backendPort: backend.port } });
    onCleanup(() => worker.terminate());
    const messages: Array<{ type: string; port?: number; requests?: number; state?: string }> = [];
    let wake: (() => void) | undefined;
    worker.on('message', (m) => {
      messages.push(m);
      wake?.();
    });
    const failed = new Promise<never>((_, reject) => {
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`worker exited early with code ${code}`)));
    });
    failed.catch(() => undefined); // observed through the races below
    const next = (type: string): Promise<(typeof messages)[number]> =>
      withTimeout(
        `worker message '${type}'`,
        Promise.race([
          failed,
          (async () => {
            for (;;) {
              const found = messages.find((m) => m.type === type);
              if (found) return found;
              await new Promise<void>((resolve) => (wake = resolve));
            }
          })(),
        ]),
        15_000,
      );

    const listening = await next('listening');
    const client = await RawClient.connect(listening.port!);
    await client.write('GET /in-worker HTTP/1.1\r\nHost: test.local\r\nX-Request-Id: w1\r\n\r\n');
    const res = await client.readResponse();
    expect(res.status, printable(res.raw)).toBe(200);
    expect(res.body.toString()).toBe('b GET /in-worker id=w1');
    client.destroy();

    worker.postMessage('stop');
    const stopped = await next('stopped');
    expect(stopped.requests).toBe(1);
    expect(stopped.state).toBe('stopped');
    const exitCode = await withTimeout('worker terminate', worker.terminate(), 10_000);
    expect(exitCode).toBe(1); // terminate() reports 1 for a worker it stopped
  });
});
