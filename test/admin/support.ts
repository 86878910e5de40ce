// Helpers for the admin suite: an admin server for a test (closed by the cleanup), HTTP
// requests to it with full control of the headers (node:http, no agent), and steady
// traffic through the balancer so that counters move.
import http from 'node:http';

import { type AdminServer, type AdminServerOptions, startAdminServer } from '../../src/admin/admin-server.js';
import type { AdminBalancer } from '../../src/admin/routes.js';
import { onCleanup } from '../helpers/cleanup.js';

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  /** The body parsed as JSON (undefined when it is not JSON). */
  json: any;
}

/** Starts an admin server on 127.0.0.1:0 (unless `listen` says otherwise), closed after the test. */
export async function startAdmin(balancer: AdminBalancer, options: Partial<AdminServerOptions> = {}): Promise<AdminServer> {
  const admin = await startAdminServer(balancer, { listen: '127.0.0.1:0', ...options });
  onCleanup(() => admin.close());
  return admin;
}

export interface RequestOptions {
  method?: string;
  /** A string or Buffer is sent as is, anything else as JSON; Content-Type is application/json unless `headers` say otherwise. */
  body?: unknown;
  token?: string;
  headers?: Record<string, string>;
  port?: number;
}

/** One request on a fresh connection to the admin server. */
export function adminRequest(admin: Pick<AdminServer, 'port'>, path: string, options: RequestOptions = {}): Promise<Reply> {
  const { method = 'GET', token } = options;
  const headers: Record<string, string> = { ...options.headers };
  let payload: Buffer | undefined;
  if (options.body !== undefined) {
    payload =
      typeof options.body === 'string' || Buffer.isBuffer(options.body)
        ? Buffer.from(options.body)
        : Buffer.from(JSON.stringify(options.body));
    headers['Content-Type'] ??= 'application/json';
    headers['Content-Length'] = String(payload.length);
  }
  if (token !== undefined) headers.Authorization = `Bearer ${token}`;
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port: options.port ?? admin.port, path, method, headers, agent: false, timeout: 10_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer to ${method} ${path}`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** GETs through the balancer on keep-alive connections: `count` requests, `concurrency` at a time. */
export async function sendTraffic(port: number, count: number, { concurrency = 4, path = '/' } = {}): Promise<number[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const statuses: number[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      next += 1;
      statuses.push(
        await new Promise<number>((resolve, reject) => {
          const req = http.get({ host: '127.0.0.1', port, path, agent, timeout: 10_000 }, (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          });
          req.on('timeout', () => req.destroy(new Error('no answer from the balancer')));
          req.on('error', reject);
        }),
      );
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    agent.destroy();
  }
  return statuses;
}

/**
 * Keeps `concurrency` requests in flight through the balancer until the returned stop()
 * is called (or `maxMs` passes, so a failed test never leaves it running).
 */
export function steadyTraffic(
  port: number,
  { concurrency = 4, maxMs = 25_000, path = () => '/' } = {},
): { stop: () => Promise<void>; sent: () => number } {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const deadline = Date.now() + maxMs;
  let stopped = false;
  let sent = 0;
  const worker = async (): Promise<void> => {
    while (!stopped && Date.now() < deadline) {
      sent += 1;
      await new Promise<void>((resolve) => {
        const req = http.get({ host: '127.0.0.1', port, path: path(), agent, timeout: 10_000 }, (res) => {
          res.resume();
          res.on('end', () => resolve());
          res.on('error', () => resolve());
        });
        req.on('timeout', () => req.destroy());
        req.on('error', () => resolve());
      });
    }
  };
  const running = Promise.all(Array.from({ length: concurrency }, worker));
  const stop = async (): Promise<void> => {
    stopped = true;
    await running;
    agent.destroy();
  };
  onCleanup(stop);
  return { stop, sent: () => sent };
}
