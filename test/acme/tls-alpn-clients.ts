// The clients of the TLS-ALPN-01 tests: a validator's connection (ALPN acme-tls/1, SNI,
// no verification, no data sent) and ordinary h2 and HTTP/1.1 requests that report the
// protocol ALPN chose and the serial of the certificate they were shown.
import http2 from 'node:http2';
import https from 'node:https';
import tls from 'node:tls';

export interface AlpnProbe {
  ok: boolean;
  alpn?: string | false | null;
  certPem?: string;
  /** The server closed the connection after the handshake, with nothing sent. */
  closedByServer?: boolean;
  error?: string;
}

/** A TLS-ALPN-01 validator's connection: ALPN `protocols`, SNI `servername`, no verification. */
export function probe(port: number, servername: string, protocols = ['acme-tls/1']): Promise<AlpnProbe> {
  return new Promise((resolve) => {
    let received = 0;
    const socket = tls.connect({ host: '127.0.0.1', port, servername, ALPNProtocols: protocols, rejectUnauthorized: false });
    socket.setTimeout(5_000, () => socket.destroy(new Error('no answer within 5 s')));
    socket.on('data', (chunk: Buffer) => (received += chunk.length));
    socket.once('secureConnect', () => {
      const alpn = socket.alpnProtocol;
      const certPem = socket.getPeerX509Certificate()?.toString() ?? '';
      // No data from us: RFC 8737 has the client close at once; we wait to see whether the server does.
      socket.once('end', () => resolve({ ok: true, alpn, certPem, closedByServer: received === 0 }));
      socket.once('close', () => resolve({ ok: true, alpn, certPem, closedByServer: received === 0 }));
    });
    socket.once('error', (error) => resolve({ ok: false, error: error.message }));
  });
}

export interface Answer {
  status: number;
  body: string;
  /** The protocol ALPN chose. */
  alpn: string;
  /** The serial of the certificate the server showed. */
  serial: string;
}

export function h2Get(port: number, servername: string, path: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`https://127.0.0.1:${port}`, { servername, rejectUnauthorized: false });
    session.on('error', reject);
    const req = session.request({ ':path': path });
    let status = 0;
    let body = '';
    req.on('response', (headers) => (status = Number(headers[':status'])));
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const alpn = String(session.alpnProtocol);
      const serial = (session.socket as tls.TLSSocket).getPeerX509Certificate()?.serialNumber ?? '';
      session.close();
      resolve({ status, body, alpn, serial });
    });
    req.on('error', reject);
    req.end();
  });
}

export function http1Get(port: number, servername: string, path: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = https.get(
      // ALPN offered explicitly, as a browser does: the listener must choose http/1.1.
      {
        host: '127.0.0.1',
        port,
        path,
        servername,
        rejectUnauthorized: false,
        agent: false,
        ALPNProtocols: ['http/1.1'],
      } as https.RequestOptions,
      (res) => {
        const socket = res.socket as tls.TLSSocket;
        const alpn = String(socket.alpnProtocol);
        const serial = socket.getPeerX509Certificate()?.serialNumber ?? '';
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, alpn, serial }));
      },
    );
    req.on('error', reject);
  });
}
