// Issue 14 B: a recovered backend must not stay shut out while the only other one is dead.
// Two workers, two backends, a hundred keep-alive clients: backend 1 dies and is ejected
// by both workers (30 s by default); it comes back; then backend 2 dies for 3 s. Backend 2
// cannot be ejected while backend 1 is (the 50 % cap), so before the fix every request
// went to the dead one: 502s (or, with active checks marking 2 down, 503s) while a live
// backend stood by. Now: a request that finds no eligible backend tries an ejected one, or
// failing that one down by health checks (panic routing), a backend that answers is
// readmitted at once, and a passing active health check ends a passive ejection.
import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { BackendRecoveredEvent, PanicRoutingEvent } from '../../src/index.js';
import { startBalancer } from '../helpers/balancer.js';
import { onCleanup, runCleanups } from '../helpers/cleanup.js';
import { delay, waitUntil } from '../helpers/wait.js';

afterEach(runCleanups);

/** A backend on a fixed port that the test kills (listener and connections closed) and revives. */
class KillableBackend {
  port = 0;
  #server: http.Server | undefined;
  readonly #sockets = new Set<net.Socket>();

  constructor(readonly name: string) {
    onCleanup(() => this.kill());
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const server = http.createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
      req.resume();
      res.writeHead(200, { 'x-backend': this.name, 'content-type': 'text/plain' }).end(req.url === '/health' ? 'ok' : this.name);
    });
    server.on('connection', (socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: '127.0.0.1', port: this.port }, resolve);
    });
    this.port = (server.address() as net.AddressInfo).port;
    this.#server = server;
  }

  async kill(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

interface Sample {
  startedAt: number;
  endedAt: number;
  /** HTTP status, or 0 when the request failed without one. */
  status: number;
  detail: string;
}

/** `clients` keep-alive loops of GETs until stopped; every outcome with its times. */
function runClients(port: number, clients: number) {
  const samples: Sample[] = [];
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
  onCleanup(() => agent.destroy());
  let stopping = false;
  const one = (i: number) =>
    new Promise<void>((resolve) => {
      const startedAt = performance.now();
      const done = (status: number, detail: string) => {
        samples.push({ startedAt, endedAt: performance.now(), status, detail });
        resolve();
      };
      const req = http.get({ host: '127.0.0.1', port, path: `/r${i}`, agent }, (res) => {
        res.resume();
        res.on('end', () => done(res.statusCode ?? 0, String(res.headers['x-backend'] ?? '')));
        res.on('error', (err) => done(0, err.message));
      });
      req.on('error', (err) => done(0, err.message));
    });
  const loops = Array.from({ length: clients }, async (_, c) => {
    for (let i = 0; !stopping; i++) await one(c * 1_000_000 + i);
  });
  return {
    samples,
    async stop(): Promise<Sample[]> {
      stopping = true;
      await Promise.all(loops);
      return samples;
    },
  };
}

/** Failures among requests that started inside [from, to) (times from performance.now()). */
function failuresBetween(samples: Sample[], from: number, to: number): string[] {
  return samples
    .filter((s) => s.startedAt >= from && s.startedAt < to && s.status !== 200)
    .map((s) => `${s.status || 'no status'} ${s.detail} at +${Math.round(s.startedAt - from)} ms`);
}

/** How long a request already in flight when a backend dies may take to fail over. */
const IN_FLIGHT_GRACE_MS = 200;

async function killRestartKillTheOther(options: { healthChecks: boolean }) {
  const one = new KillableBackend('b1');
  const two = new KillableBackend('b2');
  await one.start();
  await two.start();
  const lb = await startBalancer({
    workers: 2,
    backends: [one.address, two.address],
    ...(options.healthChecks ? { healthCheck: { path: '/health', intervalMs: 500, rise: 2, fall: 2, timeoutMs: 400 } } : {}),
  });
  const recovered: BackendRecoveredEvent[] = [];
  const panics: PanicRoutingEvent[] = [];
  lb.on('backend-recovered', (event) => recovered.push(event));
  lb.on('panic-routing', (event) => panics.push(event));

  const load = runClients(lb.port, 100);
  await delay(500);

  await one.kill();
  const oneDied = performance.now();
  // Both workers eject it (the default: 5 consecutive failures, 30 s).
  await waitUntil('b1 ejected by both workers', () => lb.stats().backends[0]!.ejectedWorkers === 2, { timeoutMs: 5_000 });
  await delay(3_000);
  await one.start();
  const oneBack = performance.now();
  if (options.healthChecks) {
    // Its checks pass again (rise 2): readmitted by them, not by traffic.
    await waitUntil(
      'b1 up and readmitted by both workers',
      () => lb.backends()[0]!.health === 'up' && lb.stats().backends[0]!.ejectedWorkers === 0,
      {
        timeoutMs: 8_000,
      },
    );
  } else {
    await delay(1_000);
  }

  await two.kill();
  const twoDied = performance.now();
  await delay(3_000);
  const twoBackAt = performance.now();
  await two.start();
  await delay(500);
  const samples = await load.stop();

  return { lb, samples, recovered, panics, oneDied, oneBack, twoDied, twoBackAt };
}

describe('a recovered backend is taken back while the other one is dead', () => {
  it('without health checks: panic routing tries the ejected live backend and readmits it; no 502/503', async () => {
    const run = await killRestartKillTheOther({ healthChecks: false });
    expect(run.samples.length).toBeGreaterThan(500);
    // b1 dead, b2 alive: every request that did not already have b1 gets b2.
    expect(failuresBetween(run.samples, run.oneDied + IN_FLIGHT_GRACE_MS, run.oneBack)).toEqual([]);
    // b1 back (still ejected), b2 dead: b1 must serve.
    expect(failuresBetween(run.samples, run.twoDied + IN_FLIGHT_GRACE_MS, run.twoBackAt)).toEqual([]);
    expect(run.lb.stats().panicRouted).toBeGreaterThan(0);
    expect(run.panics.length).toBeGreaterThan(0);
    expect(run.panics.every((p) => p.backend.id === 0)).toBe(true);
    expect(run.recovered.some((r) => r.backend.id === 0 && /answered while ejected/.test(r.reason))).toBe(true);
  });

  it('with health checks: b1 passing its checks ends its ejection before b2 dies; no 502/503', async () => {
    const run = await killRestartKillTheOther({ healthChecks: true });
    expect(run.samples.length).toBeGreaterThan(500);
    expect(failuresBetween(run.samples, run.oneDied + IN_FLIGHT_GRACE_MS, run.oneBack)).toEqual([]);
    expect(failuresBetween(run.samples, run.twoDied + IN_FLIGHT_GRACE_MS, run.twoBackAt)).toEqual([]);
    // The checks readmitted b1 in both workers before b2 died.
    const readmittedByChecks = run.recovered.filter((r) => r.backend.id === 0 && /health check/.test(r.reason));
    expect(new Set(readmittedByChecks.map((r) => r.worker)).size).toBe(2);
  });
});

describe('a passing active health check ends a passive ejection', () => {
  it('an ejected backend whose checks keep passing is readmitted within one check interval', async () => {
    // The backend fails real requests with 500 but its /health passes: ejected by traffic,
    // readmitted by the next passing check (Envoy's default), not after 30 s.
    let failing = true;
    const server = http.createServer((req, res) => {
      if (req.url === '/health') return void res.end('ok');
      res.writeHead(failing ? 500 : 200, { 'x-backend': 'flaky' }).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    onCleanup(() => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    });
    const good = new KillableBackend('good');
    await good.start();
    const lb = await startBalancer({
      workers: 1,
      backends: [`127.0.0.1:${(server.address() as net.AddressInfo).port}`, good.address],
      healthCheck: { path: '/health', intervalMs: 300, rise: 1, fall: 2 },
      outlierDetection: { consecutiveFailures: 2, baseEjectionMs: 30_000, maxEjectionPercent: 50 },
    });
    const ejectedAt: number[] = [];
    const recovered: Array<BackendRecoveredEvent & { at: number }> = [];
    lb.on('backend-ejected', () => {
      ejectedAt.push(performance.now());
      failing = false; // from now on only the checks can bring it back early
    });
    lb.on('backend-recovered', (event) => recovered.push({ ...event, at: performance.now() }));
    for (let i = 0; i < 10 && ejectedAt.length === 0; i++) {
      await new Promise<void>((resolve) =>
        http.get({ port: lb.port, host: '127.0.0.1', path: `/x${i}`, agent: false }, (r) => r.resume().on('end', resolve)),
      );
    }
    expect(ejectedAt.length, 'the 500s never ejected the backend').toBe(1);
    await waitUntil('a passing check to readmit it', () => recovered.length > 0, { timeoutMs: 3_000 });
    expect(lb.stats().backends[0]!.ejectedWorkers).toBe(0);
    expect(recovered[0]!.reason).toMatch(/active health check passed/);
    // One check interval (300 ms) and change, not the 30 s ejection.
    expect(recovered[0]!.at - ejectedAt[0]!).toBeLessThan(2_000);
  });
});
