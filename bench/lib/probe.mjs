// One-shot correctness probe of a freshly started proxy: a few requests, each on a new
// connection, checking status, body and (for proxies) that both backends answer. Over TLS
// it also checks the version (TLS 1.3) and that a second connection offering the first one's
// session resumes it (wrk offers its last session on every new connection: see README).
// HTTP/2 variants (`h2`, `h2c`) are probed with node:http2, a new session per request.
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import { BODY_FILES } from './servers.mjs';

/**
 * A response (a client request always has a status), or `error` alone: why there was
 * none (callers look at `error` first).
 * @typedef {{ error?: string, status: number, headers: import('node:http').IncomingHttpHeaders, body: string, tlsVersion?: string | null, session?: Buffer, reused?: boolean }} ProbeAnswer
 */

/**
 * The TLS side of a probe: the certificate to trust and a session to offer.
 * @typedef {{ ca: string, session?: Buffer }} ProbeTls
 */

/**
 * @param {number} port
 * @param {string} path
 * @param {ProbeTls} [tls]
 * @returns {Promise<ProbeAnswer>}
 */
function get(port, path, tls) {
  return new Promise((resolve) => {
    const options = { host: '127.0.0.1', port, path, agent: false, headers: { connection: 'close' } };
    /** @param {import('node:http').IncomingMessage} res */
    const onResponse = (res) => {
      let body = '';
      const socket = /** @type {import('node:tls').TLSSocket} */ (res.socket);
      const tlsVersion = tls ? socket.getProtocol() : undefined;
      const reused = tls ? socket.isSessionReused() : undefined;
      res.setEncoding('latin1');
      res.on('data', (d) => (body += d));
      res.on('end', () =>
        resolve({ status: /** @type {number} */ (res.statusCode), headers: res.headers, body, tlsVersion, session, reused }),
      );
      res.on('error', (e) => resolve(/** @type {ProbeAnswer} */ ({ error: e.message })));
    };
    /** @type {Buffer | undefined} */
    let session;
    /** @type {import('node:https').RequestOptions & import('node:tls').ConnectionOptions} */
    const tlsOptions = { ...options, ca: tls?.ca, servername: 'localhost', session: tls?.session };
    const req = tls ? https.request(tlsOptions, onResponse) : http.request(options, onResponse);
    // TLS 1.3 tickets come after the handshake; node hands each over as a 'session' event.
    if (tls) req.on('socket', (s) => s.on('session', (/** @type {Buffer} */ b) => (session = b)));
    req.setTimeout(5000, () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve(/** @type {ProbeAnswer} */ ({ error: e.message })));
    req.end();
  });
}

/**
 * One GET on a new HTTP/2 session (over TLS with ALPN h2 when `ca` is given, else h2c with
 * prior knowledge), closed after the answer.
 * @param {number} port
 * @param {string} path
 * @param {string} [ca]
 * @returns {Promise<ProbeAnswer>}
 */
function getH2(port, path, ca) {
  return new Promise((resolve) => {
    const session = http2.connect(`${ca ? 'https' : 'http'}://127.0.0.1:${port}`, ca ? { ca, servername: 'localhost' } : {});
    const timer = setTimeout(() => session.destroy(new Error('timeout')), 5000);
    /** @param {ProbeAnswer} a */
    const done = (a) => {
      clearTimeout(timer);
      session.close();
      resolve(a);
    };
    session.on('error', (e) => done(/** @type {ProbeAnswer} */ ({ error: e.message })));
    const req = session.request({ ':path': path });
    let status = 0;
    /** @type {import('node:http').IncomingHttpHeaders} */
    let headers = {};
    let body = '';
    req.on('response', (h) => {
      status = Number(h[':status']);
      headers = /** @type {import('node:http').IncomingHttpHeaders} */ (h);
    });
    req.setEncoding('latin1');
    req.on('data', (d) => (body += d));
    req.on('end', () => done({ status, headers, body }));
    req.on('error', (e) => done(/** @type {ProbeAnswer} */ ({ error: e.message })));
  });
}

/**
 * Returns a list of problems (empty when the proxy behaves).
 * @param {number} port
 * @param {string} variant
 * @param {number[]} backendPorts
 * @param {string} [ca] the certificate a TLS listener serves (variants `https` and `h2`)
 * @returns {Promise<string[]>}
 */
export async function probe(port, variant, backendPorts, ca) {
  /** @type {string[]} */
  const problems = [];
  const bodies = new Set();
  const tls = variant === 'https' && ca ? { ca } : undefined;
  const h2 = variant === 'h2' || variant === 'h2c';
  /**
   * @param {string} path
   * @param {ProbeTls} [t]
   */
  const fetchOne = (path, t) => (h2 ? getH2(port, path, variant === 'h2' ? ca : undefined) : get(port, path, t));
  /** @type {Buffer | undefined} */
  let session;
  for (let i = 0; i < 4; i++) {
    const r = await fetchOne('/', tls && { ...tls, session });
    if (r.error) {
      problems.push(`request ${i + 1}: ${r.error}`);
      continue;
    }
    if (tls) {
      if (r.tlsVersion !== 'TLSv1.3') problems.push(`negotiated ${r.tlsVersion}, expected TLSv1.3`);
      if (session && !r.reused) problems.push('a new connection offering the last session did not resume it');
      session = r.session ?? session;
    }
    if (variant === 'redirect') {
      const loc = r.headers.location ?? '';
      if (r.status < 300 || r.status > 399) problems.push(`expected a 3xx redirect, got ${r.status}`);
      else if (!backendPorts.some((p) => loc.startsWith(`http://127.0.0.1:${p}/`)))
        problems.push(`redirect Location "${loc}" is not a backend`);
    } else {
      if (r.status !== 200) problems.push(`expected 200, got ${r.status}`);
      else if (r.body !== 'hello\n' && r.body !== 'hallo\n')
        problems.push(`unexpected body ${JSON.stringify(r.body.slice(0, 40))}`);
      bodies.add(r.body);
    }
  }
  if (variant !== 'redirect' && !problems.length && bodies.size < 2)
    problems.push('4 requests all went to the same backend (no round-robin)');
  if (variant !== 'redirect') {
    for (const [name, size] of BODY_FILES) {
      const r = await fetchOne(`/${name}`, tls);
      if (r.error) problems.push(`/${name}: ${r.error}`);
      else if (r.status !== 200 || r.body.length !== size)
        problems.push(`/${name}: status ${r.status}, ${r.body.length} bytes (expected 200, ${size})`);
    }
  }
  return [...new Set(problems)];
}
