// Helpers of the reload tests: plain node:http requests through a balancer, and a load
// generator (bounded: a few keep-alive and new-connection clients) that counts every
// failed request and can be told to move to another port.
import http from 'node:http';

import { waitUntil } from '../helpers/wait.js';

export interface Reply {
  status: number;
  backend: string;
  body: string;
}

/** GET `path` on 127.0.0.1:`port`; resolves with the status, X-Backend and the body. */
export function get(port: number, path = '/', agent: http.Agent | false = false, timeoutMs = 10_000): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          backend: String(res.headers['x-backend'] ?? ''),
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      );
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path} on port ${port}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

/** Which backends answer `count` GETs (new connections), by X-Backend. */
export async function backendCounts(port: number, count: number): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < count; i += 1) {
    const reply = await get(port, `/n${i}`);
    const key = reply.status === 200 ? reply.backend : `status ${reply.status}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

/**
 * Resolves once `port`, the address a listener moved away from, refuses connections. The
 * old listener goes on taking connections for a grace period of about 2 s (so that a
 * client between its handshake and its first bytes is still answered), then closes.
 */
export async function oldPortReleased(port: number, timeoutMs = 6_000): Promise<void> {
  await waitUntil(
    `the old port ${port} to refuse connections`,
    () =>
      get(port).then(
        () => false,
        (error: Error) => /ECONNREFUSED/.test(error.message),
      ),
    { timeoutMs, intervalMs: 100 },
  );
}

export interface LoadStats {
  ok: number;
  failed: number;
  /** The first few failures, for the assertion message. */
  failures: string[];
  byBackend: Record<string, number>;
}

/**
 * Clients that send GETs back to back until stopped: `keepAlive` of them reuse one
 * connection each, `fresh` open a new connection per request. Every answer that is not a
 * 200, and every error, is a failure.
 *
 * Clients follow a listener move the way a client of a real move would: the test calls
 * `holdNewConnections()` before it makes the balancer move, new connections wait (keep-
 * alive clients go on over the connections they have, which the move keeps), and
 * `moveTo(port)` once the balancer says it listens on the new port lets them go on there.
 */
export class LoadGenerator {
  readonly stats: LoadStats = { ok: 0, failed: 0, failures: [], byBackend: {} };
  #port: number;
  #running = true;
  #held: Promise<void> | undefined;
  #release: (() => void) | undefined;
  readonly #loops: Promise<void>[] = [];
  readonly #agents: http.Agent[] = [];

  constructor(port: number, { keepAlive = 4, fresh = 4 }: { keepAlive?: number; fresh?: number } = {}) {
    this.#port = port;
    for (let i = 0; i < keepAlive; i += 1) {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      this.#agents.push(agent);
      this.#loops.push(this.#loop(agent, `ka${i}`));
    }
    for (let i = 0; i < fresh; i += 1) this.#loops.push(this.#loop(false, `new${i}`));
  }

  get port(): number {
    return this.#port;
  }

  holdNewConnections(): void {
    this.#held ??= new Promise<void>((resolve) => (this.#release = resolve));
  }

  moveTo(port: number): void {
    this.#port = port;
    // Keep-alive connections to the old port stay open and in use; new ones go to `port`.
    this.#held = undefined;
    this.#release?.();
    this.#release = undefined;
  }

  /** Resolves once `count` more requests have succeeded. */
  async waitForRequests(count: number, timeoutMs = 10_000): Promise<void> {
    const target = this.stats.ok + count;
    const deadline = Date.now() + timeoutMs;
    while (this.stats.ok < target) {
      if (Date.now() > deadline)
        throw new Error(`only ${this.stats.ok} of ${target} requests within ${timeoutMs} ms; ${JSON.stringify(this.stats)}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  async stop(): Promise<LoadStats> {
    this.#running = false;
    this.#release?.();
    await Promise.all(this.#loops);
    for (const agent of this.#agents) agent.destroy();
    return this.stats;
  }

  async #loop(agent: http.Agent | false, name: string): Promise<void> {
    let n = 0;
    while (this.#running) {
      // A keep-alive client with an open connection goes on using it; the others wait
      // while new connections are held.
      const hasConnection = agent !== false && Object.values(agent.freeSockets).some((list) => (list?.length ?? 0) > 0);
      if (this.#held && !hasConnection) await this.#held;
      if (!this.#running) break;
      const port = agent !== false && hasConnection ? this.#portOf(agent) : this.#port;
      try {
        const reply = await get(port, `/${name}/${n}`, agent, 5_000);
        if (reply.status === 200) {
          this.stats.ok += 1;
          this.stats.byBackend[reply.backend] = (this.stats.byBackend[reply.backend] ?? 0) + 1;
        } else {
          this.#fail(`${name} #${n} on port ${port}: status ${reply.status} ${reply.body.slice(0, 100)}`);
        }
      } catch (error) {
        this.#fail(`${name} #${n} on port ${port}: ${(error as Error).message}`);
      }
      n += 1;
    }
  }

  /** The port of the keep-alive connection `agent` holds (its pool key is host:port:...). */
  #portOf(agent: http.Agent): number {
    const key = Object.keys(agent.freeSockets).find((k) => (agent.freeSockets[k]?.length ?? 0) > 0) ?? '';
    const port = Number(key.split(':')[1]);
    return Number.isInteger(port) && port > 0 ? port : this.#port;
  }

  #fail(message: string): void {
    this.stats.failed += 1;
    if (this.stats.failures.length < 10) this.stats.failures.push(message);
  }
}
