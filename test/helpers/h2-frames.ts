// A small HTTP/2 frame writer and reader for attack tests: raw frames on a raw socket,
// with header blocks as HPACK literals (no Huffman, no indexing), so a test says exactly
// which bytes go out.
import net from 'node:net';
import tls from 'node:tls';

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export const FrameType = {
  data: 0x0,
  headers: 0x1,
  priority: 0x2,
  rstStream: 0x3,
  settings: 0x4,
  pushPromise: 0x5,
  ping: 0x6,
  goaway: 0x7,
  windowUpdate: 0x8,
  continuation: 0x9,
} as const;

export const Flags = { endStream: 0x1, ack: 0x1, endHeaders: 0x4 } as const;

export const ErrorCode = { noError: 0x0, protocolError: 0x1, cancel: 0x8, enhanceYourCalm: 0xb } as const;

export function frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId & 0x7fffffff, 5);
  return Buffer.concat([head, payload]);
}

function hpackLength(length: number): Buffer {
  // A 7-bit prefix integer (RFC 7541 §5.1), the H bit clear.
  if (length < 127) return Buffer.from([length]);
  const bytes = [127];
  let rest = length - 127;
  while (rest >= 128) {
    bytes.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}

/** A header block of literal fields without indexing (RFC 7541 §6.2.2, new name). */
export function headerBlock(fields: [string, string][]): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of fields) {
    parts.push(Buffer.from([0x00]), hpackLength(Buffer.byteLength(name)), Buffer.from(name, 'latin1'));
    parts.push(hpackLength(Buffer.byteLength(value)), Buffer.from(value, 'latin1'));
  }
  return Buffer.concat(parts);
}

export function requestFields(authority: string, path = '/', method = 'GET', scheme = 'https'): [string, string][] {
  return [
    [':method', method],
    [':scheme', scheme],
    [':authority', authority],
    [':path', path],
  ];
}

export function settingsFrame(entries: [number, number][] = []): Buffer {
  const payload = Buffer.alloc(entries.length * 6);
  entries.forEach(([id, value], i) => {
    payload.writeUInt16BE(id, i * 6);
    payload.writeUInt32BE(value, i * 6 + 2);
  });
  return frame(FrameType.settings, 0, 0, payload);
}

export function rstStream(streamId: number, code: number): Buffer {
  const payload = Buffer.alloc(4);
  payload.writeUInt32BE(code);
  return frame(FrameType.rstStream, 0, streamId, payload);
}

export interface ParsedFrame {
  type: number;
  flags: number;
  streamId: number;
  payload: Buffer;
}

/** The GOAWAY error code of a frame, or undefined for another type. */
export function goawayCode(parsed: ParsedFrame): number | undefined {
  return parsed.type === FrameType.goaway ? parsed.payload.readUInt32BE(4) : undefined;
}

/** Collects the frames a server sends on `socket` (after its own preface-free start). */
export class FrameReader {
  readonly frames: ParsedFrame[] = [];
  closed = false;
  private pending = Buffer.alloc(0);

  constructor(socket: net.Socket | tls.TLSSocket) {
    socket.on('data', (chunk: Buffer) => {
      this.pending = Buffer.concat([this.pending, chunk]);
      while (this.pending.length >= 9) {
        const length = this.pending.readUIntBE(0, 3);
        if (this.pending.length < 9 + length) break;
        this.frames.push({
          type: this.pending[3]!,
          flags: this.pending[4]!,
          streamId: this.pending.readUInt32BE(5) & 0x7fffffff,
          payload: this.pending.subarray(9, 9 + length),
        });
        this.pending = this.pending.subarray(9 + length);
      }
    });
    socket.on('close', () => {
      this.closed = true;
    });
    socket.on('error', () => {
      this.closed = true;
    });
  }

  goaway(): ParsedFrame | undefined {
    return this.frames.find((f) => f.type === FrameType.goaway);
  }
}

/** Opens an h2 connection over TLS (ALPN h2), sends the preface and empty SETTINGS. */
export async function connectH2Tls(port: number, ca: string): Promise<tls.TLSSocket> {
  const socket = tls.connect({ host: '127.0.0.1', port, ca, servername: 'localhost', ALPNProtocols: ['h2'] });
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', () => resolve());
    socket.once('error', reject);
  });
  if (socket.alpnProtocol !== 'h2') throw new Error(`ALPN chose ${String(socket.alpnProtocol)}, not h2`);
  socket.write(Buffer.concat([PREFACE, settingsFrame()]));
  return socket;
}

/** Opens an h2c (prior knowledge) connection, sends the preface and empty SETTINGS. */
export async function connectH2c(port: number): Promise<net.Socket> {
  const socket = net.connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  socket.write(Buffer.concat([PREFACE, settingsFrame()]));
  return socket;
}
