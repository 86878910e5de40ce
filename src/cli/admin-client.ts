// A small HTTP client for the admin API, for `lb-native reload` and `lb-native top`.
import { request } from 'node:http';

import { parseAddress } from '../config/address.js';
import type { AdminTarget } from './args.js';

export interface AdminResponse {
  status: number;
  body: unknown;
}

/** Why the admin API could not be asked (not running, refused, timed out). */
export class AdminUnreachableError extends Error {}

/** `method path` on the admin API; resolves with the status and the parsed JSON body. */
export function adminRequest(
  target: AdminTarget,
  method: 'GET' | 'POST',
  path: string,
  timeoutMs = 10_000,
): Promise<AdminResponse> {
  const parsed = parseAddress(target.admin);
  if (!parsed.ok) return Promise.reject(new AdminUnreachableError(`--admin '${target.admin}': ${parsed.message}`));
  const { host, port } = parsed.address;
  const headers: Record<string, string> = { accept: 'application/json' };
  if (target.token !== undefined) headers.authorization = `Bearer ${target.token}`;
  if (method === 'POST') headers['content-length'] = '0';
  return new Promise((resolve, reject) => {
    const req = request({ host, port, method, path, headers, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', (error) => reject(new AdminUnreachableError(error.message)));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = text;
        try {
          body = text === '' ? undefined : JSON.parse(text);
        } catch {
          // Not JSON: keep the text.
        }
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (error: NodeJS.ErrnoException) => {
      const reason = error.code === 'ECONNREFUSED' ? 'connection refused (is lb-native running with --admin?)' : error.message;
      reject(new AdminUnreachableError(`cannot reach the admin API at ${target.admin}: ${reason}`));
    });
    req.end();
  });
}

/** The message of an admin API error body, `{ error: { message } }`, or a fallback. */
export function errorMessage(response: AdminResponse): string {
  const body = response.body as { error?: { message?: unknown; errors?: unknown } } | undefined;
  const message = body?.error?.message;
  return typeof message === 'string' ? message : `HTTP ${response.status}`;
}
