#!/usr/bin/env node
// Opens C HTTP/2 sessions to 127.0.0.1:PORT (TLS with ALPN h2, or h2c with prior knowledge)
// and on each S GET streams for a large body (--path, /1m) whose DATA it never reads: the
// streams stay paused, so no WINDOW_UPDATE goes out for them: each stream's window (--window,
// 16 KiB: one full DATA frame) fills and the stream stays open at the proxy with its response
// stalled (what the proxy holds per open stream: its state, its backend exchange, the body it
// buffered). The connection window is opened to 2 x S x window so that each stream stalls on
// its own window, not on the shared one: with node's 64 KiB connection window HAProxy 2.6
// sent some streams no response headers at all, and with 64 KiB stream windows it still left
// ~90 of 2,000 streams without headers for 20 s (not investigated; 16 KiB: none).
//   node stalled-streams.mjs --port P [--conns 20] [--streams 100] [--path /1m] [--window 16384] [--protocol h2|h2c]
// Prints `READY {json}` once every stream has its response headers (or failed); answers a
// stdin line "count" with `COUNT {json}`; exits (closing everything) on stdin EOF, SIGTERM
// or after --max-seconds.
import http2 from 'node:http2';
import readline from 'node:readline';

const opts = { port: 0, conns: 20, streams: 100, path: '/1m', window: 16384, maxSeconds: 60, protocol: 'h2c' };
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
if (!['h2', 'h2c'].includes(opts.protocol)) {
  console.error('--protocol is h2 or h2c');
  process.exit(2);
}

/** @type {Set<import('node:http2').ClientHttp2Session>} */
const sessions = new Set();
let sessionsOpen = 0;
let open = 0; // streams with response headers, not closed
let answered = 0;
let failed = 0;
let badStatus = 0;
let closedAfterHeaders = 0;
/** @type {string[]} */
const firstErrors = [];
/** @param {string} why */
const fail = (why) => {
  failed++;
  if (firstErrors.length < 5 && !firstErrors.includes(why)) firstErrors.push(why);
};

/**
 * One session with S stalled streams: `connected` once the session is up (or failed),
 * `done` once each stream has its headers or failed (at most 20 s after it was sent).
 * @returns {{ connected: Promise<void>, done: Promise<void> }}
 */
function oneSession() {
  /** @type {() => void} */
  let up = () => {};
  const connected = new Promise((/** @type {(v: void) => void} */ r) => (up = r));
  const done = new Promise((/** @type {(v: void) => void} */ resolve) => {
    const tls = opts.protocol === 'h2';
    const session = http2.connect(
      `${tls ? 'https' : 'http'}://127.0.0.1:${opts.port}`,
      // every stream's window (the connection's is raised below)
      { settings: { initialWindowSize: opts.window }, ...(tls ? { rejectUnauthorized: false, servername: 'localhost' } : {}) },
    );
    sessions.add(session);
    let pending = opts.streams;
    const settle = () => {
      if (--pending === 0) resolve();
    };
    session.once('connect', () => {
      up();
      sessionsOpen++;
      session.setLocalWindowSize(opts.streams * 2 * opts.window);
    });
    session.on('error', (/** @type {NodeJS.ErrnoException} */ e) => {
      if (firstErrors.length < 5) firstErrors.push(`session: ${e.code || e.message}`);
      up();
    });
    session.on('close', () => sessionsOpen > 0 && sessionsOpen--);
    for (let i = 0; i < opts.streams; i++) {
      let settled = false;
      let gotHeaders = false;
      const req = session.request({ ':path': opts.path, 'user-agent': 'lb-bench-streams' });
      const timer = setTimeout(() => {
        if (settled) return;
        settled = true;
        fail('timeout before response headers');
        settle();
      }, 20000);
      req.on('response', (h) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        gotHeaders = true;
        answered++;
        open++;
        const status = Number(h[':status']);
        if (status < 200 || status >= 400) badStatus++;
        settle();
      });
      // No 'data' listener and no resume(): the body is never read.
      req.on('error', (/** @type {NodeJS.ErrnoException} */ e) => {
        if (!settled) {
          settled = true;
          clearTimeout(timer);
          fail(e.code || e.message);
          settle();
        }
      });
      req.on('close', () => {
        if (gotHeaders) {
          open--;
          closedAfterHeaders++;
        } else if (!settled) {
          settled = true;
          clearTimeout(timer);
          fail(`closed before response (rst ${req.rstCode})`);
          settle();
        }
      });
    }
  });
  return { connected, done };
}

const t0 = Date.now();
// Sessions connect in groups of 5 so the proxy's accept queue stays short; their streams are
// all sent at once.
/** @type {Promise<void>[]} */
const pendingStreams = [];
for (let i = 0; i < opts.conns; i += 5) {
  const group = Array.from({ length: Math.min(5, opts.conns - i) }, oneSession);
  pendingStreams.push(...group.map((g) => g.done));
  await Promise.all(group.map((g) => g.connected));
}
await Promise.all(pendingStreams);
const state = () => ({ sessionsOpen, open, answered, failed, badStatus, closedAfterHeaders, ms: Date.now() - t0, firstErrors });
process.stdout.write(`READY ${JSON.stringify(state())}\n`);

const rl = readline.createInterface({ input: process.stdin });
rl.on('line', (l) => {
  if (l.trim() === 'count') process.stdout.write(`COUNT ${JSON.stringify(state())}\n`);
});
const quit = () => {
  for (const s of sessions) s.destroy();
  process.exit(0);
};
rl.on('close', quit);
process.on('SIGTERM', quit);
setTimeout(quit, opts.maxSeconds * 1000).unref();
