#!/usr/bin/env node
// Bytes per idle keep-alive TLS connection, lb-native beside HAProxy and nginx: each proxy
// serves the bench's ECDSA P-256 certificate with 1 worker; N TLS clients (TLS 1.3) each
// send one GET, read the response and then stay connected and silent. The proxy's RSS
// (its whole process tree) is read before the clients connect and 2 s after the last one
// got its answer; the growth over N is the cost of one idle TLS connection (with its
// socket, session and whatever the proxy keeps). Loopback only, bounded (< 2 min).
//   node bench/idle-tls.mjs [--conns=1000] [--proxies=lb-native,haproxy,nginx]
import tls from 'node:tls';
import { makeCertificate } from './lib/certificate.mjs';
import { fdCount, rssKiB } from './lib/procfs.mjs';
import { installCleanupHandlers, log, sleep, stopAll } from './lib/procs.mjs';
import { PROXIES, startBackends, stopInstance } from './lib/servers.mjs';

const opts = { conns: 1000, proxies: ['lb-native', 'haproxy', 'nginx'] };
for (const a of process.argv.slice(2)) {
  const [k, v = ''] = a.split(/=(.*)/s);
  if (k === '--conns') opts.conns = Math.max(1, Math.min(5000, Number(v) || 0));
  else if (k === '--proxies') opts.proxies = v.split(',').filter(Boolean);
  else {
    console.error(`idle-tls: unknown option ${a}`);
    process.exit(2);
  }
}

installCleanupHandlers();
setTimeout(() => {
  log('watchdog: 120 s, aborting');
  stopAll().finally(() => process.exit(1));
}, 120_000).unref();

/**
 * One client: a TLS connection, one GET, the whole response read; resolves with the socket left open.
 * @param {number} port
 * @returns {Promise<tls.TLSSocket>}
 */
function idleClient(port) {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, servername: 'localhost' });
    let buf = Buffer.alloc(0);
    socket.setTimeout(15_000, () => socket.destroy(new Error('timeout')));
    socket.once('secureConnect', () => socket.write('GET / HTTP/1.1\r\nHost: bench\r\n\r\n'));
    const onData = (/** @type {Buffer} */ d) => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const m = /\r\ncontent-length:\s*(\d+)/i.exec(buf.subarray(0, end).toString('latin1'));
      if (buf.length - end - 4 < (m ? Number(m[1]) : 0)) return;
      socket.off('data', onData);
      socket.setTimeout(0);
      resolve(socket);
    };
    socket.on('data', onData);
    socket.on('error', reject);
  });
}

const certificate = await makeCertificate();
const backend = await startBackends({ workers: 1 });
const rows = [];
for (const name of opts.proxies) {
  const proxy = PROXIES[/** @type {keyof typeof PROXIES} */ (name)];
  const status = proxy ? await proxy.check() : { ok: false, status: 'unknown proxy' };
  if (!status.ok) {
    rows.push({ proxy: name, status: status.status });
    continue;
  }
  const inst = await proxy.start('https', {
    backends: backend.ports,
    backendInfo: backend,
    workers: 1,
    pool: 64,
    lbStatus: status,
    tls: certificate,
  });
  const pid = /** @type {number} */ (inst.pid);
  // Warm up (first handshakes, pools), then measure from a settled process.
  const warm = await Promise.all(Array.from({ length: 20 }, () => idleClient(inst.port)));
  for (const s of warm) s.destroy();
  await sleep(1000);
  const before = { rss: rssKiB(pid), fds: fdCount(pid) };
  const sockets = [];
  let failed = 0;
  for (let i = 0; i < opts.conns; i += 50) {
    const batch = await Promise.allSettled(Array.from({ length: Math.min(50, opts.conns - i) }, () => idleClient(inst.port)));
    for (const r of batch) {
      if (r.status === 'fulfilled') sockets.push(r.value);
      else failed++;
    }
  }
  await sleep(2000);
  const after = { rss: rssKiB(pid), fds: fdCount(pid) };
  const held = sockets.filter((s) => !s.destroyed).length;
  for (const s of sockets) s.destroy();
  await stopInstance(inst);
  const bytesPerConn = held > 0 ? Math.round(((after.rss - before.rss) * 1024) / held) : null;
  rows.push({
    proxy: name,
    held,
    failed,
    rssBeforeKiB: before.rss,
    rssAfterKiB: after.rss,
    bytesPerConn,
    fds: [before.fds, after.fds],
  });
  log(
    `idle-tls ${name.padEnd(10)} RSS ${before.rss} -> ${after.rss} KiB, ${held} held (${failed} failed): ${bytesPerConn} bytes/conn`,
  );
}
await stopAll();
console.log(JSON.stringify({ conns: opts.conns, rows }, null, 2));
process.exit(0);
