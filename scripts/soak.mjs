#!/usr/bin/env node
// Soak test: lb-native under mixed load, with misbehaving and restarting backends, for N
// minutes; every response is checked to be the one that was asked for.
//
//   npm run soak -- --minutes N      (default 1; fractions allowed)
//   options: --concurrency C (32)  --unsolicited (the faulty backend also writes unsolicited
//            responses on idle connections)  --seed S
//
// Processes (all on 127.0.0.1, all stopped by PID at the end, each also exits by itself):
//   - the balancer (built dist/), so its RSS and fds can be read from /proc/PID;
//   - three healthy node:http backends and a faulty one (resets, stalls, closes, truncates,
//     sends garbage when asked with X-Fault-Me), in a second process;
//   - a backend restarted every ~20 s (alternately SIGKILL and a graceful SIGTERM);
//   - the load generator (this process): keep-alive GETs, Connection: close GETs, chunked
//     uploads, 1 MiB bodies both ways, upgrades with a short echo, requests to the faulty
//     backend; bounded concurrency.
// Exit status 1 on any mix-up (a response that is not the one asked for), any unexpected
// error, fds at the end above fds at the start (after idle timeouts), RSS growth over 5%
// after warm-up, or a balancer that died.
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import http from 'node:http';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const flag = (name) => args.includes(`--${name}`);
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback;
};
const role = option('role', 'main');

// ---------------------------------------------------------------------------------------
// Backends (children)

/** Body of a /big download: `${id}|` repeated to `size` bytes (so a mix-up is visible). */
function bigBody(id, size) {
  const unit = Buffer.from(`${id}|`);
  const out = Buffer.alloc(size);
  for (let i = 0; i < size; i += unit.length) unit.copy(out, i, 0, Math.min(unit.length, size - i));
  return out;
}

/** A healthy backend: describe a GET, echo a body, stream /big?size=N, echo upgraded bytes. */
function healthyHandler(name) {
  return (req, res) => {
    const id = String(req.headers['x-request-id'] ?? '');
    const url = new URL(req.url, 'http://x');
    const parts = [];
    req.on('data', (d) => parts.push(d));
    req.on('end', () => {
      const headers = { 'X-Backend': name, 'X-Request-Id': id, 'Content-Type': 'application/octet-stream' };
      if (url.pathname === '/big') {
        const body = bigBody(id, Number(url.searchParams.get('size') ?? 0));
        res.writeHead(200, { ...headers, 'Content-Length': body.length });
        res.end(body);
        return;
      }
      const body = Buffer.concat(parts);
      const out = body.length > 0 ? body : Buffer.from(`${name} ${req.method} ${req.url} id=${id}`);
      res.writeHead(200, { ...headers, 'Content-Length': out.length });
      res.end(out);
    });
  };
}

function onUpgrade(name) {
  return (req, socket, head) => {
    const id = String(req.headers['x-request-id'] ?? '');
    socket.on('error', () => {});
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\nX-Backend: ${name}\r\nX-Request-Id: ${id}\r\n\r\n`,
    );
    if (head.length > 0) socket.write(head);
    socket.on('data', (d) => socket.write(d));
    socket.on('end', () => socket.end());
  };
}

function startHttp(name, port, handler = healthyHandler(name)) {
  const server = http.createServer({ keepAliveTimeout: 10_000, requestTimeout: 0, headersTimeout: 20_000 }, handler);
  server.on('upgrade', onUpgrade(name));
  server.on('clientError', (_err, socket) => socket.destroy());
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port, backlog: 4096 }, () => resolve(server));
  });
}

/** The faulty backend: healthy, except for requests with X-Fault-Me, which get a random fault. */
function faultyHandler(name, unsolicited) {
  const healthy = healthyHandler(name);
  const faults = [
    'reset',
    'close',
    'stall',
    'half-head',
    'truncated',
    'reset-mid-body',
    'garbage',
    'longer-than-announced',
    'ok',
  ];
  if (unsolicited) faults.push('unsolicited-later');
  return (req, res) => {
    if (!req.headers['x-fault-me']) return healthy(req, res);
    const id = String(req.headers['x-request-id'] ?? '');
    const socket = req.socket;
    const fault = faults[Math.floor(Math.random() * faults.length)];
    req.resume();
    req.on('end', () => {
      switch (fault) {
        case 'reset':
          socket.resetAndDestroy();
          return;
        case 'close':
          socket.destroy();
          return;
        case 'stall':
          return; // the balancer answers 504 and closes
        case 'half-head':
          socket.end('HTTP/1.1 200 OK\r\nContent-Le');
          return;
        case 'garbage':
          socket.write('SSH-2.0-not-http\r\n\x00\x01\r\n\r\n');
          return;
        case 'truncated':
          res.writeHead(200, { 'X-Backend': name, 'X-Request-Id': id, 'Content-Length': 1000 });
          res.write(Buffer.alloc(300, 0x74), () => socket.destroy());
          return;
        case 'reset-mid-body':
          res.writeHead(200, { 'X-Backend': name, 'X-Request-Id': id, 'Content-Length': 1 << 20 });
          res.write(Buffer.alloc(256 << 10, 0x72), () => setTimeout(() => socket.resetAndDestroy(), 10));
          return;
        case 'longer-than-announced': {
          const body = `${name} ${req.method} ${req.url} id=${id}`;
          socket.write(
            `HTTP/1.1 200 OK\r\nX-Backend: ${name}\r\nX-Request-Id: ${id}\r\nContent-Length: ${body.length}\r\n\r\n${body}` +
              'HTTP/1.1 200 OK\r\nX-Request-Id: SMUGGLED\r\nContent-Length: 8\r\n\r\nSMUGGLED',
          );
          return;
        }
        case 'unsolicited-later': {
          const body = `${name} ${req.method} ${req.url} id=${id}`;
          socket.write(
            `HTTP/1.1 200 OK\r\nX-Backend: ${name}\r\nX-Request-Id: ${id}\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
          );
          setTimeout(
            () =>
              !socket.destroyed && socket.write('HTTP/1.1 200 OK\r\nX-Request-Id: SMUGGLED\r\nContent-Length: 8\r\n\r\nSMUGGLED'),
            30,
          );
          return;
        }
        default: {
          const body = `${name} ${req.method} ${req.url} id=${id}`;
          res.writeHead(200, { 'X-Backend': name, 'X-Request-Id': id, 'Content-Length': Buffer.byteLength(body) });
          res.end(body);
        }
      }
    });
  };
}

async function runBackends() {
  const lifetimeMs = Number(option('lifetime-ms', '3600000'));
  const names = ['B1', 'B2', 'B3'];
  const ports = {};
  for (const name of names) ports[name] = (await startHttp(name, 0)).address().port;
  ports.F = (await startHttp('F', 0, faultyHandler('F', flag('unsolicited')))).address().port;
  process.stdout.write(`${JSON.stringify({ ports })}\n`);
  setTimeout(() => process.exit(0), lifetimeMs).unref();
  setInterval(() => {}, 1_000);
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
}

async function runRestartable() {
  const lifetimeMs = Number(option('lifetime-ms', '3600000'));
  const name = option('name', 'R');
  const server = await startHttp(name, Number(option('port', '0')));
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
  process.on('SIGTERM', () => {
    // Graceful: stop accepting, close idle keep-alive connections, finish in-flight ones.
    server.close(() => process.exit(0));
    server.closeIdleConnections();
    setTimeout(() => process.exit(0), 1_000).unref();
  });
  setTimeout(() => process.exit(0), lifetimeMs).unref();
  setInterval(() => {}, 1_000);
}

async function runBalancer() {
  const lifetimeMs = Number(option('lifetime-ms', '3600000'));
  const { createBalancer } = await import(join(root, 'dist', 'index.js'));
  const lb = createBalancer(JSON.parse(option('config', '{}')));
  await lb.start();
  process.stdout.write(`${JSON.stringify({ port: lb.port })}\n`);
  const stop = async () => {
    await lb.stop({ deadlineMs: 2_000 }).catch(() => {});
    process.exit(0);
  };
  setTimeout(stop, lifetimeMs).unref();
  setInterval(() => {}, 1_000);
  createInterface({ input: process.stdin }).on('line', (line) => {
    const [command, ...rest] = line.trim().split(' ');
    if (command === 'stats') process.stdout.write(`${JSON.stringify(lb.stats())}\n`);
    else if (command === 'state') process.stdout.write(`${JSON.stringify(lb.setBackendState(rest[0], rest[1]))}\n`);
    else if (command === 'stop') void stop();
  });
  process.stdin.on('end', () => void stop());
}

// ---------------------------------------------------------------------------------------
// Main: processes

const children = new Set();

/** Starts this script in `childRole`; resolves with the child and a reader of its JSON lines. */
async function startChild(childRole, extra = []) {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--role', childRole, ...extra], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  children.add(child);
  child.on('exit', () => children.delete(child));
  const lines = [];
  let wake;
  createInterface({ input: child.stdout }).on('line', (line) => {
    lines.push(line);
    wake?.();
  });
  const exited = new Promise((resolve) =>
    child.once('exit', (code, signal) => {
      wake?.();
      resolve({ code, signal });
    }),
  );
  let gone = false;
  void exited.then(() => (gone = true));
  const next = async (timeoutMs = 20_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = lines.shift();
      if (line !== undefined) return JSON.parse(line);
      if (gone) throw new Error(`${childRole} child exited`);
      if (Date.now() > deadline) throw new Error(`${childRole} child: no answer within ${timeoutMs} ms`);
      await new Promise((resolve) => {
        wake = resolve;
        setTimeout(resolve, 100);
      });
    }
  };
  const ready = await next(60_000);
  return {
    child,
    pid: child.pid,
    ready,
    exited,
    get alive() {
      return !gone;
    },
    send(command) {
      child.stdin.write(`${command}\n`);
    },
    async ask(command) {
      child.stdin.write(`${command}\n`);
      return next();
    },
    async kill(signal = 'SIGKILL') {
      if (gone) return;
      process.kill(child.pid, signal);
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
      if (!gone) {
        process.kill(child.pid, 'SIGKILL');
        await exited;
      }
    },
  };
}

function rss(pid) {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}
const fds = (pid) => readdirSync(`/proc/${pid}/fd`).length;
const mib = (n) => `${(n / (1 << 20)).toFixed(1)} MiB`;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function newestMtime(dir, ext) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(path, ext));
    else if (entry.name.endsWith(ext)) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

function ensureBuilt() {
  const dist = join(root, 'dist', 'index.js');
  if (existsSync(dist) && statSync(dist).mtimeMs >= newestMtime(join(root, 'src'), '.ts')) return;
  console.log('dist/ is stale: npm run build:ts');
  const result = spawnSync('npm', ['run', 'build:ts'], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    console.error('build:ts failed');
    process.exit(2);
  }
}

// ---------------------------------------------------------------------------------------
// Main: load

const tally = {
  served: 0,
  byType: {},
  mixups: [],
  expected: {},
  unexpected: {},
  samples: [],
};
const count = (bucket, key) => (bucket[key] = (bucket[key] ?? 0) + 1);

/** One HTTP request; resolves { res, body } or rejects. Never hangs longer than timeoutMs. */
function request({ port, method = 'GET', path, headers, body, chunks, agent, timeoutMs = 15_000 }) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers, agent }, (res) => {
      const parts = [];
      res.on('data', (d) => parts.push(d));
      res.on('end', () => (res.complete ? resolve({ res, body: Buffer.concat(parts) }) : reject(new Error('incomplete body'))));
      res.on('aborted', () => reject(new Error('aborted mid-body')));
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error('client timeout')));
    req.on('error', reject);
    if (chunks) {
      (async () => {
        for (const c of chunks) {
          if (!req.write(c)) await new Promise((r) => req.once('drain', r));
        }
        req.end();
      })();
    } else {
      req.end(body);
    }
  });
}

function upgrade({ port, path, id, key, timeoutMs = 10_000 }) {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1',
      port,
      path,
      agent: false,
      headers: { Connection: 'Upgrade', Upgrade: 'echo', 'X-Request-Id': id, 'X-Session-Id': key },
    });
    const timer = setTimeout(() => req.destroy(new Error('upgrade timeout')), timeoutMs);
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.on('response', (res) => {
      clearTimeout(timer);
      res.resume();
      reject(Object.assign(new Error(`status ${res.statusCode}`), { status: res.statusCode }));
    });
    req.on('upgrade', (res, socket, head) => {
      if (res.headers['x-request-id'] !== id) {
        clearTimeout(timer);
        socket.destroy();
        resolve({ mixup: `101 carried X-Request-Id ${res.headers['x-request-id']}` });
        return;
      }
      const messages = [0, 1, 2].map((k) => `${id}:${k}:${randomBytes(8).toString('hex')};`);
      const want = messages.join('');
      let got = head.toString('latin1');
      socket.setEncoding('latin1');
      socket.on('error', () => {});
      // Ping-pong: each short message is sent once the previous one has come back.
      let sent = 0;
      let expected = 0;
      const sendNext = () => {
        expected += messages[sent].length;
        socket.write(messages[sent++]);
      };
      socket.on('data', (d) => {
        got += d;
        if (want.startsWith(got)) {
          if (got.length === want.length) {
            clearTimeout(timer);
            socket.end();
            resolve({ ok: true });
          } else if (got.length === expected) {
            sendNext();
          }
        } else {
          clearTimeout(timer);
          socket.destroy();
          resolve({ mixup: `echo ${JSON.stringify(got.slice(0, 80))} is not ${JSON.stringify(want.slice(0, 80))}` });
        }
      });
      socket.on('close', () => {
        clearTimeout(timer);
        if (got.length < want.length) reject(new Error('tunnel closed early'));
      });
      if (got.length === 0) sendNext();
      else {
        clearTimeout(timer);
        socket.destroy();
        resolve({ mixup: `bytes before any were sent: ${JSON.stringify(got.slice(0, 80))}` });
      }
    });
    req.end();
  });
}

async function main() {
  const minutes = Number(option('minutes', '1'));
  const concurrency = Number(option('concurrency', '32'));
  if (!(minutes > 0) || !(concurrency > 0)) {
    console.error('usage: npm run soak -- --minutes N [--concurrency C] [--unsolicited]');
    process.exit(2);
  }
  ensureBuilt();
  const durationMs = minutes * 60_000;
  const warmupMs = Math.min(30_000, Math.max(5_000, durationMs * 0.1));
  const lifetime = String(durationMs + 120_000);
  console.log(
    `soak: ${minutes} min, concurrency ${concurrency}, warm-up ${warmupMs / 1000} s${flag('unsolicited') ? ', unsolicited bytes on' : ''}`,
  );

  const backends = await startChild('backends', ['--lifetime-ms', lifetime, ...(flag('unsolicited') ? ['--unsolicited'] : [])]);
  const ports = backends.ready.ports;
  let restartable = await startChild('restartable', ['--lifetime-ms', lifetime, '--name', 'R']);
  const rPort = restartable.ready.port;
  const config = {
    listen: '127.0.0.1:0',
    backends: ['B1', 'B2', 'B3', 'F'].map((n) => `127.0.0.1:${ports[n]}`).concat(`127.0.0.1:${rPort}`),
    strategy: 'header-hash',
    workers: 2,
    timeouts: {
      responseMs: 2_000,
      keepAliveMs: 5_000,
      backendIdleMs: 2_000,
      clientBodyMs: 10_000,
      clientHeadMs: 5_000,
      tunnelIdleMs: 10_000,
    },
    outlierDetection: { consecutiveFailures: 5, baseEjectionMs: 2_000 },
  };
  const balancer = await startChild('balancer', ['--lifetime-ms', lifetime, '--config', JSON.stringify(config)]);
  const port = balancer.ready.port;
  const names = ['B1', 'B2', 'B3', 'F', 'R'];

  // Session keys by the backend header-hash picks for them (everything is healthy now).
  const keysFor = Object.fromEntries(names.map((n) => [n, []]));
  for (let k = 0; k < 400 && names.some((n) => keysFor[n].length < 8); k++) {
    const key = `s${k}`;
    const { res } = await request({
      port,
      path: '/probe',
      headers: { 'X-Session-Id': key, 'X-Request-Id': `probe${k}` },
      agent: false,
    });
    keysFor[res.headers['x-backend']]?.push(key);
  }
  for (const n of names) if (keysFor[n].length === 0) throw new Error(`no session key maps to ${n}`);
  const keyOwner = new Map(names.flatMap((n) => keysFor[n].map((k) => [k, n])));
  const allKeys = [...keyOwner.keys()];
  // Where F's keys go while F is ejected (F is often ejected: it keeps failing).
  const fallbackOfF = new Map();
  await balancer.ask(`state 127.0.0.1:${ports.F} maint`);
  await sleep(300);
  for (const key of keysFor.F) {
    const { res } = await request({
      port,
      path: '/probe',
      headers: { 'X-Session-Id': key, 'X-Request-Id': `fb-${key}` },
      agent: false,
    });
    fallbackOfF.set(key, res.headers['x-backend']);
  }
  await balancer.ask(`state 127.0.0.1:${ports.F} ready`);
  await sleep(300);
  console.log(
    `session keys per backend: ${JSON.stringify(Object.fromEntries(names.map((n) => [n, keysFor[n].length])))}; F's keys go to ${JSON.stringify(Object.fromEntries(fallbackOfF))} while F is ejected`,
  );
  await sleep(500);
  const fdsStart = fds(balancer.pid);
  console.log(`balancer pid ${balancer.pid} port ${port}; fds before load ${fdsStart}; RSS ${mib(rss(balancer.pid))}`);

  // Restarts of R: windows in which failures of requests keyed to R are expected.
  const restartWindows = [];
  let stopping = false;
  const restarter = (async () => {
    for (let n = 0; !stopping; n++) {
      const wait = 18_000 + Math.random() * 4_000;
      const until = Date.now() + wait;
      while (!stopping && Date.now() < until) await sleep(200);
      if (stopping) break;
      const window = { from: Date.now() - 200, to: Infinity };
      restartWindows.push(window);
      await restartable.kill(n % 2 === 0 ? 'SIGKILL' : 'SIGTERM');
      await sleep(300 + Math.random() * 700);
      restartable = await startChild('restartable', ['--lifetime-ms', lifetime, '--name', 'R', '--port', String(rPort)]);
      window.to = Date.now() + 3_000;
    }
  })();
  const inRestartWindow = (t0, t1) => restartWindows.some((w) => t1 >= w.from && t0 <= w.to);

  const started = Date.now();
  const endAt = started + durationMs;
  const rssSamples = [];
  let rssPeak = 0;
  const sampler = setInterval(() => {
    try {
      const v = rss(balancer.pid);
      rssSamples.push({ t: Date.now() - started, v });
      rssPeak = Math.max(rssPeak, v);
    } catch {
      // the process is gone: no sample this second
    }
  }, 1_000);

  const keepAlive = new http.Agent({ keepAlive: true, maxSockets: concurrency, keepAliveMsecs: 1_000 });
  const types = [
    ['get-keepalive', 40],
    ['get-close', 10],
    ['chunked-upload', 10],
    ['upload-1MiB', 5],
    ['download-1MiB', 5],
    ['upgrade', 5],
    ['fault', 15],
    ['post-small', 10],
  ];
  const totalWeight = types.reduce((n, [, w]) => n + w, 0);
  const pickType = () => {
    let r = Math.random() * totalWeight;
    for (const [t, w] of types) if ((r -= w) < 0) return t;
    return types[0][0];
  };
  let serial = 0;

  const one = async (vu) => {
    const type = pickType();
    const id = `q${++serial}-${vu}`;
    const key = type === 'fault' ? keysFor.F[serial % keysFor.F.length] : allKeys[serial % allKeys.length];
    const owner = keyOwner.get(key);
    const t0 = Date.now();
    const headers = { 'X-Request-Id': id, 'X-Session-Id': key };
    let expectBody;
    let outcome;
    try {
      if (type === 'upgrade') {
        outcome = await upgrade({ port, path: `/ws/${id}`, id, key });
        if (outcome.mixup) throw Object.assign(new Error(outcome.mixup), { mixup: true });
      } else {
        const path = `/${type}/${id}`;
        let req = { port, path, headers, agent: keepAlive };
        if (type === 'get-close') req = { ...req, agent: false, headers: { ...headers, Connection: 'close' } };
        if (type === 'fault') req.headers = { ...headers, 'X-Fault-Me': '1' };
        if (type === 'post-small' || type === 'upload-1MiB') {
          expectBody = Buffer.concat([
            Buffer.from(`${id}:`),
            randomBytes(type === 'post-small' ? 1 + Math.floor(Math.random() * 4096) : 1 << 20),
          ]);
          req = { ...req, method: 'POST', body: expectBody, headers: { ...req.headers, 'Content-Length': expectBody.length } };
        }
        if (type === 'chunked-upload') {
          const pieces = Array.from({ length: 1 + Math.floor(Math.random() * 8) }, (_, i) =>
            Buffer.concat([Buffer.from(`${id}:${i}:`), randomBytes(Math.floor(Math.random() * 8192))]),
          );
          expectBody = Buffer.concat(pieces);
          req = { ...req, method: 'POST', chunks: pieces, headers: { ...req.headers, 'Transfer-Encoding': 'chunked' } };
        }
        if (type === 'download-1MiB') req.path = `/big?size=${1 << 20}&id=${id}`;
        const { res, body } = await request(req);
        if (res.statusCode !== 200) throw Object.assign(new Error(`status ${res.statusCode}`), { status: res.statusCode });
        const backend = res.headers['x-backend'];
        const method = req.method ?? 'GET';
        const want =
          type === 'download-1MiB'
            ? bigBody(id, 1 << 20)
            : (expectBody ?? Buffer.from(`${backend} ${method} ${req.path} id=${id}`));
        if (res.headers['x-request-id'] !== id || !names.includes(backend) || !body.equals(want)) {
          throw Object.assign(
            new Error(
              `200 from ${backend} with X-Request-Id ${res.headers['x-request-id']}, ${body.length} body bytes (sha ${createHash('sha256').update(body).digest('hex').slice(0, 12)}), expected ${want.length}`,
            ),
            { mixup: true },
          );
        }
      }
      tally.served++;
      count(tally.byType, type);
    } catch (err) {
      const what = err.status ? `status-${err.status}` : (err.code ?? err.message.replace(/\d+/g, 'N'));
      if (err.mixup) {
        tally.mixups.push(`${type} ${id}: ${err.message}`);
      } else if (type === 'fault') {
        count(tally.expected, `faulty backend: ${what}`);
      } else if (owner === 'R' && inRestartWindow(t0, Date.now())) {
        count(tally.expected, `restarting backend: ${type} ${what}`);
      } else if (owner === 'F' && fallbackOfF.get(key) === 'R' && inRestartWindow(t0, Date.now())) {
        // F ejected (by its faults), so its key went to its second choice R, mid-restart.
        count(tally.expected, `restarting backend (as F's fallback): ${type} ${what}`);
      } else {
        count(tally.unexpected, `${type} (key of ${owner}) ${what}`);
        if (tally.samples.length < 20)
          tally.samples.push(`${new Date().toISOString()} ${type} ${id} key ${key}->${owner}: ${err.message}`);
      }
    }
  };

  let warmRss;
  let warmFds;
  const vus = Array.from({ length: concurrency }, async (_, vu) => {
    while (Date.now() < endAt) await one(vu);
  });
  const progress = setInterval(() => {
    const t = Date.now() - started;
    if (warmRss === undefined && t >= warmupMs) {
      warmFds = fds(balancer.pid);
      console.log(`warm-up done at ${(t / 1000).toFixed(0)} s: fds ${warmFds}, RSS ${mib(rss(balancer.pid))}`);
      warmRss = 0;
    }
    const unexpected = Object.values(tally.unexpected).reduce((a, b) => a + b, 0);
    console.log(
      `${(t / 1000).toFixed(0)} s: served ${tally.served}, mix-ups ${tally.mixups.length}, unexpected ${unexpected}, RSS ${mib(rss(balancer.pid))}, fds ${fds(balancer.pid)}`,
    );
  }, 10_000);
  await Promise.all(vus);
  clearInterval(progress);
  stopping = true;
  await restarter;
  clearInterval(sampler);
  const loadEnd = Date.now() - started;

  // RSS after warm-up vs at the end: medians of the first and last 10 s of samples under load.
  const afterWarm = rssSamples.filter((s) => s.t >= warmupMs && s.t < warmupMs + 10_000).map((s) => s.v);
  const atEnd = rssSamples.filter((s) => s.t > loadEnd - 10_000).map((s) => s.v);
  const rssStart = median(afterWarm);
  const rssEnd = median(atEnd);
  const stats = await balancer.ask('stats');

  // Let idle timeouts expire, then count fds again.
  keepAlive.destroy();
  const settleUntil = Date.now() + config.timeouts.keepAliveMs + config.timeouts.backendIdleMs + 15_000;
  let fdsEnd = fds(balancer.pid);
  while (fdsEnd > fdsStart && Date.now() < settleUntil) {
    await sleep(500);
    fdsEnd = fds(balancer.pid);
  }
  const statsIdle = await balancer.ask('stats');
  const alive = balancer.alive;

  // Report.
  const sum = (o) => Object.values(o).reduce((a, b) => a + b, 0);
  const growth = rssStart > 0 ? (rssEnd - rssStart) / rssStart : 0;
  console.log('\n==== soak report ====');
  console.log(
    `duration ${(loadEnd / 1000).toFixed(0)} s, concurrency ${concurrency}, restarts of R: ${restartWindows.length}` +
      ` (windows ${restartWindows.map((w) => `${new Date(w.from).toISOString().slice(11, 23)}..${new Date(w.to).toISOString().slice(11, 23)}`).join(', ')})`,
  );
  console.log(`requests served OK: ${tally.served}  ${JSON.stringify(tally.byType)}`);
  console.log(`mix-ups (fatal): ${tally.mixups.length}`);
  for (const m of tally.mixups.slice(0, 10)) console.log(`  ${m}`);
  console.log(`expected errors: ${sum(tally.expected)}`);
  for (const [k, v] of Object.entries(tally.expected).sort((a, b) => b[1] - a[1])) console.log(`  ${v}\t${k}`);
  console.log(`unexpected errors: ${sum(tally.unexpected)}`);
  for (const [k, v] of Object.entries(tally.unexpected).sort((a, b) => b[1] - a[1])) console.log(`  ${v}\t${k}`);
  for (const s of tally.samples.slice(0, 10)) console.log(`    ${s}`);
  console.log(
    `balancer: requests ${stats.requests}, 2xx ${stats.responses2xx}, 5xx ${stats.responses5xx}, 502 ${stats.badGateway}, 504 ${stats.gatewayTimeout}, worker errors ${stats.workerErrors}, events dropped ${stats.eventsDropped}`,
  );
  for (const b of stats.backends) {
    console.log(
      `  ${b.address}: requests ${b.requests}, connect errors ${b.connectErrors}, backend errors ${b.backendErrors}, retries ${b.retries}, ejections ${b.ejections}, opened ${b.connectionsOpened}`,
    );
  }
  console.log(
    `after idle: activeClientConnections ${statsIdle.activeClientConnections}, backend connections active ${statsIdle.backends.reduce((n, b) => n + b.activeConnections, 0)} idle ${statsIdle.backends.reduce((n, b) => n + b.idleConnections, 0)}`,
  );
  console.log(`RSS: after warm-up ${mib(rssStart)}, end ${mib(rssEnd)} (${(growth * 100).toFixed(1)}%), peak ${mib(rssPeak)}`);
  console.log(`fds: start ${fdsStart}, after warm-up ${warmFds}, end (after idle timeouts) ${fdsEnd}`);

  const failures = [];
  if (!alive) failures.push('the balancer process died');
  if (tally.mixups.length > 0) failures.push(`${tally.mixups.length} mix-ups`);
  if (sum(tally.unexpected) > 0) failures.push(`${sum(tally.unexpected)} unexpected errors`);
  if (fdsEnd > fdsStart) failures.push(`fds grew from ${fdsStart} to ${fdsEnd}`);
  if (growth > 0.05) failures.push(`RSS grew ${(growth * 100).toFixed(1)}% after warm-up`);
  if (stats.workerErrors > 0) failures.push(`${stats.workerErrors} worker errors`);
  console.log(failures.length === 0 ? 'PASS' : `FAIL: ${failures.join('; ')}`);

  balancer.send('stop');
  await Promise.race([balancer.exited, sleep(5_000)]);
  await balancer.kill();
  await restartable.kill();
  await backends.kill();
  process.exit(failures.length === 0 ? 0 : 1);
}

async function shutdown(code) {
  for (const child of children) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // already exited
    }
  }
  process.exit(code);
}

const roles = { backends: runBackends, restartable: runRestartable, balancer: runBalancer, main };
if (!roles[role]) {
  console.error(`unknown role ${role}`);
  process.exit(2);
}
if (role === 'main') {
  process.on('SIGINT', () => void shutdown(130));
  process.on('SIGTERM', () => void shutdown(143));
}
roles[role]().catch((err) => {
  console.error(err);
  if (role === 'main') void shutdown(2);
  else process.exit(2);
});
