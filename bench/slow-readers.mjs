#!/usr/bin/env node
// Memory of lb-native with many slow downloads: N client connections each ask for the
// backend's 1 MiB file and then read nothing for a while, so every exchange is stalled
// with its buffers (or pipe) full. lb-native's RSS and descriptor count are read before
// and during the stall; then every client reads its response to the end and its length is
// checked. Not a timed test: a bounded measurement (loopback only, < 2 min).
//   node bench/slow-readers.mjs [--conns=1000] [--hold=3] [--lb-args="--splice-min-bytes 0"]
import net from 'node:net';
import { fdCount, rssKiB } from './lib/procfs.mjs';
import { installCleanupHandlers, log, sleep, stopAll } from './lib/procs.mjs';
import { PROXIES, startBackends, stopInstance } from './lib/servers.mjs';

const opts = { conns: 1000, hold: 3, lbArgs: /** @type {string[]} */ ([]) };
for (const a of process.argv.slice(2)) {
  const [k, v = ''] = a.split(/=(.*)/s);
  if (k === '--conns') opts.conns = Math.max(1, Math.min(5000, Number(v) || 0));
  else if (k === '--hold') opts.hold = Math.max(1, Math.min(30, Number(v) || 0));
  else if (k === '--lb-args') opts.lbArgs = v.split(/\s+/).filter(Boolean);
  else {
    console.error(`slow-readers: unknown option ${a}`);
    process.exit(2);
  }
}
const BODY = 1024 * 1024;

installCleanupHandlers();
setTimeout(() => {
  log('watchdog: 120 s, aborting');
  stopAll().finally(() => process.exit(1));
}, 120_000).unref();

const backend = await startBackends({ workers: 1 });
const lbStatus = await PROXIES['lb-native'].check();
if (!lbStatus.ok) {
  console.error(`lb-native: ${lbStatus.status} (${lbStatus.note})`);
  await stopAll();
  process.exit(1);
}
const lb = await PROXIES['lb-native'].start('proxy', {
  backends: backend.ports,
  backendInfo: backend,
  workers: 1,
  pool: 64,
  lbStatus,
  lbArgs: opts.lbArgs,
});
const pid = /** @type {number} */ (lb.pid);

/**
 * One client: sends the request, then reads only once `release` resolves.
 * @param {Promise<void>} release
 * @returns {Promise<{ socket: net.Socket, done: Promise<number> }>}
 */
function slowClient(release) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port: lb.port }, () => {
      socket.pause();
      socket.write('GET /1m HTTP/1.1\r\nHost: bench\r\n\r\n');
      const done = new Promise((res) => {
        let received = 0;
        let headEnd = -1;
        let head = Buffer.alloc(0);
        release.then(() => socket.resume());
        socket.on('data', (d) => {
          if (headEnd < 0) {
            head = Buffer.concat([head, d]);
            headEnd = head.indexOf('\r\n\r\n');
            if (headEnd >= 0) received = head.length - headEnd - 4;
          } else {
            received += d.length;
          }
          if (headEnd >= 0 && received >= BODY) {
            socket.destroy();
            res(received);
          }
        });
        socket.on('close', () => res(received));
        socket.on('error', () => res(received));
      });
      resolve({ socket, done });
    });
    socket.on('error', reject);
  });
}

await sleep(500);
const before = { rss: rssKiB(pid), fds: fdCount(pid) };
/** @type {() => void} */
let releaseAll = () => {};
const release = new Promise((r) => (releaseAll = () => r(undefined)));
const clients = [];
for (let i = 0; i < opts.conns; i += 50) {
  const batch = [];
  for (let j = i; j < Math.min(opts.conns, i + 50); j++) batch.push(slowClient(/** @type {Promise<void>} */ (release)));
  clients.push(...(await Promise.all(batch)));
}
await sleep(opts.hold * 1000);
const during = { rss: rssKiB(pid), fds: fdCount(pid) };
releaseAll();
const lengths = await Promise.all(clients.map((c) => c.done));
const whole = lengths.filter((n) => n === BODY).length;
await sleep(500);
const after = { rss: rssKiB(pid), fds: fdCount(pid) };
await stopInstance(lb);
await stopAll();

const growth = /** @type {number} */ (during.rss) - /** @type {number} */ (before.rss);
const result = {
  conns: opts.conns,
  lbArgs: opts.lbArgs.join(' '),
  rssKiB: { before: before.rss, during: during.rss, after: after.rss },
  fds: { before: before.fds, during: during.fds, after: after.fds },
  rssGrowthKiBPerConn: Number((growth / opts.conns).toFixed(2)),
  wholeResponses: whole,
};
console.log(JSON.stringify(result));
process.exit(whole === opts.conns ? 0 : 1);
