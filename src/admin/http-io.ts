// Reading requests and writing responses for the admin API: JSON bodies with a size cap,
// JSON answers, and the one error shape every failure uses:
// `{ "error": { "code": "...", "message": "...", "issues"?: [{ "path", "message" }], "errors"?: ["..."] } }`.
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';

import type { ConfigIssue } from '../errors.js';

/** Request bodies over this are refused with 413. */
export const maxBodyBytes = 64 * 1024;
/** An over-long body is read and discarded up to this, so the 413 reaches the client; past it the connection is closed. */
const maxDiscardBytes = 1024 * 1024;

/** A failure with its HTTP status, a stable `code` and a message for people. */
export class AdminHttpError extends Error {
  readonly status: number;
  readonly code: string;
  readonly headers: OutgoingHttpHeaders;
  /** Extra fields of the error object, e.g. `issues` (validation) or `errors` (reload). */
  readonly details: { issues?: readonly ConfigIssue[]; errors?: readonly string[] };

  constructor(
    status: number,
    code: string,
    message: string,
    extra: { headers?: OutgoingHttpHeaders; issues?: readonly ConfigIssue[]; errors?: readonly string[] } = {},
  ) {
    super(message);
    this.status = status;
    this.code = code;
    this.headers = extra.headers ?? {};
    this.details = {};
    if (extra.issues && extra.issues.length > 0) this.details.issues = extra.issues;
    if (extra.errors) this.details.errors = extra.errors;
  }
}

const commonHeaders: OutgoingHttpHeaders = {
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
};

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: OutgoingHttpHeaders = {}): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, {
    ...commonHeaders,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

export function sendText(
  res: ServerResponse,
  status: number,
  contentType: string,
  text: string,
  headers: OutgoingHttpHeaders = {},
): void {
  res.writeHead(status, {
    ...commonHeaders,
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

export function sendError(res: ServerResponse, error: AdminHttpError): void {
  sendJson(res, error.status, { error: { code: error.code, message: error.message, ...error.details } }, error.headers);
}

/**
 * Reads a JSON request body of at most `maxBodyBytes`. Rejects with 415 unless the
 * Content-Type is application/json (which also makes browsers preflight cross-origin
 * requests, that this API never allows), 413 when too large, 400 when not JSON; an
 * empty body reads as `undefined`.
 */
export async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const declared = req.headers['content-length'];
  const hasBody = (declared !== undefined && declared !== '0') || req.headers['transfer-encoding'] !== undefined;
  if (!hasBody) return undefined;
  const type = (req.headers['content-type'] ?? '').split(';', 1)[0]?.trim().toLowerCase();
  if (type !== 'application/json') {
    req.resume();
    throw new AdminHttpError(
      415,
      'unsupported_media_type',
      `expected Content-Type: application/json, got ${type ? `'${type}'` : 'none'}`,
    );
  }
  if (declared !== undefined && Number(declared) > maxDiscardBytes) {
    throw new AdminHttpError(413, 'payload_too_large', `request body over ${maxBodyBytes} bytes`, {
      headers: { Connection: 'close' },
    });
  }
  const text = await new Promise<string>((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBodyBytes) parts.push(chunk);
      else if (size > maxDiscardBytes) req.destroy();
    });
    req.on('end', () => {
      if (size > maxBodyBytes) {
        reject(new AdminHttpError(413, 'payload_too_large', `request body over ${maxBodyBytes} bytes`));
      } else {
        resolve(Buffer.concat(parts).toString('utf8'));
      }
    });
    req.on('error', reject);
  });
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new AdminHttpError(400, 'bad_json', `request body is not valid JSON: ${(error as Error).message}`);
  }
}
