// A small, deliberately independent HTTP/1.x message reader for tests. It does not use
// Node's http parser, so a framing bug in the proxy is seen as the proxy wrote it.
// It understands exactly what the tests need: Content-Length, chunked, close-delimited
// responses, and the no-body cases (HEAD, 1xx, 204, 304). It expects CRLF line endings
// everywhere (a proxy must write them) and reports anything else as an error.

export interface HttpMessage {
  kind: 'request' | 'response';
  /** The request line or status line, without CRLF. */
  startLine: string;
  /** "HTTP/1.1" or "HTTP/1.0". */
  version: string;
  /** Requests only. */
  method: string;
  target: string;
  /** Responses only. */
  status: number;
  reason: string;
  /** Header fields in the order received, names as written. */
  headers: Array<[string, string]>;
  /** The decoded body (chunked framing removed). */
  body: Buffer;
  /** How the body was delimited. */
  framing: 'none' | 'content-length' | 'chunked' | 'close';
  /** Trailer fields of a chunked body. */
  trailers: Array<[string, string]>;
  /** The exact bytes of this message as received, head and body. */
  raw: Buffer;
  /** Length of the head including the final CRLF CRLF. */
  headLength: number;
}

export type ParseResult =
  { state: 'done'; message: HttpMessage; consumed: number } | { state: 'need-more' } | { state: 'error'; reason: string };

export interface ParseOptions {
  /** The method of the request this response answers (HEAD responses have no body). */
  requestMethod?: string;
  /** The peer has closed: a close-delimited body is complete, anything partial is an error. */
  eof?: boolean;
}

const CRLF = Buffer.from('\r\n');
const CRLFCRLF = Buffer.from('\r\n\r\n');

/** All values of header `name` (case-insensitive), in order. */
export function headerValues(message: Pick<HttpMessage, 'headers'>, name: string): string[] {
  const lower = name.toLowerCase();
  return message.headers.filter(([n]) => n.toLowerCase() === lower).map(([, v]) => v);
}

/** The value of header `name`, several fields joined with ", "; undefined if absent. */
export function header(message: Pick<HttpMessage, 'headers'>, name: string): string | undefined {
  const values = headerValues(message, name);
  return values.length === 0 ? undefined : values.join(', ');
}

/** Whether a comma-separated header (Connection, Transfer-Encoding) lists `token`. */
export function headerHasToken(message: Pick<HttpMessage, 'headers'>, name: string, token: string): boolean {
  const wanted = token.toLowerCase();
  return headerValues(message, name).some((v) => v.split(',').some((t) => t.trim().toLowerCase() === wanted));
}

/** Bytes made readable for failure messages: CR and LF shown, long runs cut. */
export function printable(bytes: Buffer | string, max = 1_500): string {
  const buf = typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes;
  const shown = buf
    .subarray(0, max)
    .toString('latin1')
    .replace(/\r/g, '\\r')
    .replace(/\n/g, '\\n\n')
    .replace(/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return buf.length > max ? `${shown}... (${buf.length - max} more bytes)` : shown;
}

/**
 * Tries to read one complete message at the start of `buf`. On success `consumed` is the
 * number of bytes it occupied; the rest of `buf` belongs to whatever follows.
 */
export function parseMessage(buf: Buffer, kind: 'request' | 'response', options: ParseOptions = {}): ParseResult {
  const headEnd = buf.indexOf(CRLFCRLF);
  if (headEnd < 0) {
    if (options.eof) {
      return buf.length === 0
        ? { state: 'error', reason: 'connection closed with no message' }
        : { state: 'error', reason: `connection closed inside a message head (${buf.length} bytes)` };
    }
    return { state: 'need-more' };
  }
  const headLength = headEnd + 4;
  const headText = buf.subarray(0, headEnd).toString('latin1');
  const lines = headText.split('\r\n');
  const startLine = lines[0] ?? '';
  if (/[\r\n]/.test(headText.replace(/\r\n/g, ''))) {
    return { state: 'error', reason: 'bare CR or LF in head' };
  }

  const message: HttpMessage = {
    kind,
    startLine,
    version: '',
    method: '',
    target: '',
    status: 0,
    reason: '',
    headers: [],
    body: Buffer.alloc(0),
    framing: 'none',
    trailers: [],
    raw: Buffer.alloc(0),
    headLength,
  };
  if (kind === 'response') {
    const m = /^(HTTP\/\d\.\d) (\d{3})(?: (.*))?$/.exec(startLine);
    if (!m) return { state: 'error', reason: `bad status line: ${JSON.stringify(startLine)}` };
    message.version = m[1]!;
    message.status = Number(m[2]);
    message.reason = m[3] ?? '';
  } else {
    const m = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) (\S+) (HTTP\/\d\.\d)$/.exec(startLine);
    if (!m) return { state: 'error', reason: `bad request line: ${JSON.stringify(startLine)}` };
    message.method = m[1]!;
    message.target = m[2]!;
    message.version = m[3]!;
  }
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) return { state: 'error', reason: `bad header line: ${JSON.stringify(line)}` };
    message.headers.push([line.slice(0, colon), line.slice(colon + 1).trim()]);
  }

  // Body framing, RFC 9112 section 6.3, as far as tests need it.
  const te = headerValues(message, 'transfer-encoding');
  const cl = headerValues(message, 'content-length');
  const noBody =
    kind === 'response' &&
    (options.requestMethod?.toUpperCase() === 'HEAD' ||
      (message.status >= 100 && message.status < 200) ||
      message.status === 204 ||
      message.status === 304);
  if (noBody) {
    message.framing = 'none';
  } else if (te.length > 0) {
    const codings = te
      .join(',')
      .split(',')
      .map((t) => t.trim().toLowerCase());
    if (codings[codings.length - 1] === 'chunked') message.framing = 'chunked';
    else if (kind === 'response') message.framing = 'close';
    else return { state: 'error', reason: 'request with a Transfer-Encoding that does not end in chunked' };
  } else if (cl.length > 0) {
    const distinct = new Set(cl.flatMap((v) => v.split(',').map((x) => x.trim())));
    if (distinct.size !== 1) return { state: 'error', reason: `conflicting Content-Length: ${cl.join(' | ')}` };
    const text = [...distinct][0]!;
    if (!/^\d+$/.test(text)) return { state: 'error', reason: `bad Content-Length: ${text}` };
    message.framing = 'content-length';
  } else {
    message.framing = kind === 'response' ? 'close' : 'none';
  }

  let end = headLength;
  switch (message.framing) {
    case 'none':
      break;
    case 'content-length': {
      const length = Number(cl[0]!.split(',')[0]!.trim());
      if (buf.length < headLength + length) {
        return options.eof
          ? { state: 'error', reason: `connection closed after ${buf.length - headLength} of ${length} body bytes` }
          : { state: 'need-more' };
      }
      message.body = Buffer.from(buf.subarray(headLength, headLength + length));
      end = headLength + length;
      break;
    }
    case 'chunked': {
      const result = decodeChunked(buf, headLength);
      if (result.state === 'need-more') {
        return options.eof ? { state: 'error', reason: 'connection closed inside a chunked body' } : result;
      }
      if (result.state === 'error') return result;
      message.body = result.body;
      message.trailers = result.trailers;
      end = result.end;
      break;
    }
    case 'close':
      if (!options.eof) return { state: 'need-more' };
      message.body = Buffer.from(buf.subarray(headLength));
      end = buf.length;
      break;
  }
  message.raw = Buffer.from(buf.subarray(0, end));
  return { state: 'done', message, consumed: end };
}

type ChunkedResult =
  | { state: 'done'; body: Buffer; trailers: Array<[string, string]>; end: number }
  | { state: 'need-more' }
  | { state: 'error'; reason: string };

function decodeChunked(buf: Buffer, start: number): ChunkedResult {
  const parts: Buffer[] = [];
  let pos = start;
  for (;;) {
    const lineEnd = buf.indexOf(CRLF, pos);
    if (lineEnd < 0) return { state: 'need-more' };
    const sizeText = buf.subarray(pos, lineEnd).toString('latin1').split(';')[0]!.trim();
    if (!/^[0-9a-fA-F]{1,15}$/.test(sizeText)) {
      return { state: 'error', reason: `bad chunk size line: ${JSON.stringify(sizeText)}` };
    }
    const size = parseInt(sizeText, 16);
    pos = lineEnd + 2;
    if (size === 0) break;
    if (buf.length < pos + size + 2) return { state: 'need-more' };
    parts.push(buf.subarray(pos, pos + size));
    if (buf[pos + size] !== 0x0d || buf[pos + size + 1] !== 0x0a) {
      return { state: 'error', reason: 'chunk data not followed by CRLF' };
    }
    pos += size + 2;
  }
  const trailers: Array<[string, string]> = [];
  for (;;) {
    const lineEnd = buf.indexOf(CRLF, pos);
    if (lineEnd < 0) return { state: 'need-more' };
    const line = buf.subarray(pos, lineEnd).toString('latin1');
    pos = lineEnd + 2;
    if (line === '') break;
    const colon = line.indexOf(':');
    if (colon <= 0) return { state: 'error', reason: `bad trailer line: ${JSON.stringify(line)}` };
    trailers.push([line.slice(0, colon), line.slice(colon + 1).trim()]);
  }
  return { state: 'done', body: Buffer.concat(parts), trailers, end: pos };
}

/** Builds response bytes with a Content-Length (or none, for `framing: 'close'`), or chunked. */
export function buildResponse(
  status: number,
  body: string | Buffer = '',
  {
    headers = {},
    framing = 'content-length',
    chunkSize = 16_384,
    reason = 'Reason',
    version = 'HTTP/1.1',
  }: {
    headers?: Record<string, string>;
    framing?: 'content-length' | 'chunked' | 'close' | 'none';
    chunkSize?: number;
    reason?: string;
    version?: string;
  } = {},
): Buffer {
  const bodyBuf = typeof body === 'string' ? Buffer.from(body, 'latin1') : body;
  let head = `${version} ${status} ${reason}\r\n`;
  for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`;
  if (framing === 'content-length') head += `Content-Length: ${bodyBuf.length}\r\n`;
  if (framing === 'chunked') head += 'Transfer-Encoding: chunked\r\n';
  head += '\r\n';
  if (framing === 'chunked') return Buffer.concat([Buffer.from(head, 'latin1'), encodeChunked(bodyBuf, chunkSize)]);
  return Buffer.concat([Buffer.from(head, 'latin1'), bodyBuf]);
}

/** Chunked encoding of `body` in chunks of `chunkSize` bytes, with the last-chunk. */
export function encodeChunked(body: Buffer, chunkSize = 16_384): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < body.length; i += chunkSize) {
    const piece = body.subarray(i, i + chunkSize);
    parts.push(Buffer.from(`${piece.length.toString(16)}\r\n`), piece, CRLF);
  }
  parts.push(Buffer.from('0\r\n\r\n'));
  return Buffer.concat(parts);
}
