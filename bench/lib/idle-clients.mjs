#!/usr/bin/env node
// Opens N keep-alive HTTP/1.1 connections to 127.0.0.1:PORT, sends one GET on each,
// reads the response, then leaves the connection idle. Connections are opened with a
// bounded concurrency so the proxy's upstream pool stays small.
// --protocol h2 (HTTP/2 over TLS, ALPN) or h2c (HTTP/2 with prior knowledge) does the same
// with node:http2 sessions: SETTINGS exchanged, one GET stream answered, then idle.
//   node idle-clients.mjs --port P [--count 10000] [--concurrency 50] [--path /] [--protocol h1|h2|h2c]
// Prints `READY {json}` once done; answers a stdin line "count" with `COUNT {json}`;
// exits (closing everything) on stdin EOF, SIGTERM or after --max-seconds.
import http2 from 'node:http2';
import net from 'node:net';
import readline from 'node:readline';

const opts = { port: 0, count: 10000, concurrency: 50, path: '/', maxSeconds: 120, protocol: 'h1' };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const k = /** @type {string} */ (argv[i]).replace(/^--/, '').replace(/-(\w)/g, (_, c) => c.toUpperCase());
  // Flags as given: --path and --protocol take text, the others numbers.
  /** @type {Record<string, string | number | undefined>} */ (opts)[k] =
    k === 'path' || k === 'protocol' ? argv[++i] : Number(argv[++i]);
}
if (!opts.port) {
  console.error('--port is required');
  process.exit(2);
}
if (!['h1', 'h2', 'h2c'].includes(opts.protocol)) {
  console.error('--protocol is h1, h2 or h2c');
  process.exit(2);
}

const req = Buffer.from(`GET ${opts.path} HTTP/1.1\r\nHost: 127.0.0.1:${opts.port}\r\nUser-Agent: lb-bench-idle\r\n\r\n`);
/** @type {Set<{ destroy(): void }>} */
const sockets = new Set();
let open = 0;
let ok = 0;
let failed = 0;
let badStatus = 0;
let closedAfterOk = 0;
/** @type {string[]} */
const firstErrors = [];

/** @returns {Promise<void>} */
function one() {
  return new Promise((resolve) => {
    const s = net.connect({ port: opts.port, host: '127.0.0.1' });
    let buf = Buffer.alloc(0);
    let settled = false;
    let counted = false;
    let wasOk = false;
    /**
     * @param {boolean} good
     * @param {string} [why]
     */
    const finish = (good, why) => {
      if (settled) return;
      settled = true;
      if (good) {
        ok++;
        wasOk = true;
      } else {
        failed++;
        if (firstErrors.length < 5) firstErrors.push(why ?? '');
        s.destroy();
      }
      resolve();
    };
    s.setTimeout(15000, () => finish(false, 'timeout'));
    s.once('connect', () => {
      open++;
      counted = true;
      sockets.add(s);
      s.write(req);
    });
    s.on('data', (d) => {
      if (settled) return;
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buf.subarray(0, end).toString('latin1');
      const status = Number(head.slice(9, 12));
      const m = /\r\ncontent-length:\s*(\d+)/i.exec(head);
      const need = m ? Number(m[1]) : 0;
      if (buf.length - end - 4 < need) return;
      if (status < 200 || status >= 400) badStatus++;
      s.setTimeout(0);
      finish(true);
    });
    s.on('error', (/** @type {NodeJS.ErrnoException} */ e) => finish(false, e.code || e.message));
    s.on('close', () => {
      if (counted) {
        open--;
        sockets.delete(s);
        if (wasOk) closedAfterOk++;
      }
      finish(false, 'closed before response');
    });
  });
}

/**
 * One HTTP/2 session (TLS with ALPN h2, or h2c): one GET stream read to its end, then the
 * session stays open and silent.
 * @returns {Promise<void>}
 */
function oneH2() {
  return new Promise((resolve) => {
    const tls = opts.protocol === 'h2';
    const session = http2.connect(
      `${tls ? 'https' : 'http'}://127.0.0.1:${opts.port}`,
      tls ? { rejectUnauthorized: false, servername: 'localhost' } : {},
    );
    let settled = false;
    let counted = false;
    let wasOk = false;
    /**
     * @param {boolean} good
     * @param {string} [why]
     */
    const finish = (good, why) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (good) {
        ok++;
        wasOk = true;
      } else {
        failed++;
        if (firstErrors.length < 5) firstErrors.push(why ?? '');
        session.destroy();
      }
      resolve();
    };
    const timer = setTimeout(() => finish(false, 'timeout'), 15000);
    session.once('connect', () => {
      open++;
      counted = true;
      sockets.add(session);
    });
    const req = session.request({ ':path': opts.path, 'user-agent': 'lb-bench-idle' });
    req.on('response', (h) => {
      const status = Number(h[':status']);
      if (status < 200 || status >= 400) badStatus++;
    });
    req.resume();
    req.on('end', () => finish(true));
    req.on('error', (e) => finish(false, /** @type {NodeJS.ErrnoException} */ (e).code || e.message));
    session.on('error', (/** @type {NodeJS.ErrnoException} */ e) => finish(false, e.code || e.message));
    session.on('close', () => {
      if (counted) {
        open--;
        sockets.delete(session);
        if (wasOk) closedAfterOk++;
      }
      finish(false, 'closed before response');
    });
  });
}

const t0 = Date.now();
let next = 0;
async function lane() {
  while (next < opts.count) {
    next++;
    await (opts.protocol === 'h1' ? one() : oneH2());
  }
}
await Promise.all(Array.from({ length: Math.max(1, opts.concurrency) }, lane));
const state = () => ({ open, ok, failed, badStatus, closedAfterOk, ms: Date.now() - t0, firstErrors });
process.stdout.write(`READY ${JSON.stringify(state())}\n`);

const rl = readline.createInterface({ input: process.stdin });
rl.on('line', (l) => {
  if (l.trim() === 'count') process.stdout.write(`COUNT ${JSON.stringify(state())}\n`);
});
const quit = () => {
  for (const s of sockets) s.destroy();
  process.exit(0);
};
rl.on('close', quit);
process.on('SIGTERM', quit);
setTimeout(quit, opts.maxSeconds * 1000).unref();
