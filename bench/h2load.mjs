#!/usr/bin/env node
// HTTP/2 to clients, side by side: h2load (nghttp2-client) against lb-native, HAProxy and
// nginx, each with h2 over TLS to the front and pooled HTTP/1.1 to the same two backend
// ports (one nginx). 50 connections x 10 streams, a small body and a 16 KiB one, a short
// run each; prints req/s, and the proxy's CPU seconds per 1,000 requests (utime+stime
// from /proc for the proxy's process tree).
//
//   node bench/h2load.mjs [--seconds N] [--workers N]
import { readFileSync } from 'node:fs';
import { makeCertificate } from './lib/certificate.mjs';
import { installCleanupHandlers, log, processTree, runCapture, stopAll } from './lib/procs.mjs';
import { PROXIES, cleanupTmpDirs, startBackends, stopInstance } from './lib/servers.mjs';

const args = process.argv.slice(2);
/** @param {string} name @param {number} fallback */
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const seconds = Math.min(option('--seconds', 5), 20);
const workers = option('--workers', 1);

/** @param {number | undefined} rootPid */
function cpuSeconds(rootPid) {
  if (rootPid === undefined) return 0;
  let ticks = 0;
  for (const pid of processTree(rootPid)) {
    try {
      const fields = (readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1] ?? '').split(' ');
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime
    } catch {
      // gone meanwhile
    }
  }
  return ticks / 100;
}

installCleanupHandlers();
const backendInfo = await startBackends({ workers: 1 });
const tls = await makeCertificate();
const rows = [];
try {
  for (const name of /** @type {const} */ (['lb-native', 'haproxy', 'nginx'])) {
    const proxy = PROXIES[name];
    const status = await proxy.check();
    if (!status.ok) {
      log(`${name}: ${status.status} (${status.note})`);
      continue;
    }
    const inst = await proxy.start('h2', {
      backends: backendInfo.ports,
      workers,
      pool: 64,
      lbStatus: status,
      backendInfo,
      tls,
    });
    try {
      for (const path of ['/', '/16k']) {
        const url = `https://127.0.0.1:${inst.port}${path}`;
        // warm-up: connections, pools
        await runCapture('h2load', ['-c', '50', '-m', '10', '-n', '5000', url], { timeoutMs: 30000 });
        const cpuBefore = cpuSeconds(inst.pid);
        const r = await runCapture('h2load', ['-c', '50', '-m', '10', '-D', String(seconds), url], {
          timeoutMs: (seconds + 20) * 1000,
        });
        const cpu = cpuSeconds(inst.pid) - cpuBefore;
        const rps = Number(/finished in [^,]+, ([\d.]+) req\/s/.exec(r.out)?.[1] ?? 0);
        const done = Number(/requests: \d+ total, \d+ started, (\d+) done/.exec(r.out)?.[1] ?? 0);
        const ok = Number(/status codes: (\d+) 2xx/.exec(r.out)?.[1] ?? 0);
        const row = { proxy: name, path, rps, ok, done, cpuPer1k: done ? (cpu * 1000) / done : NaN };
        rows.push(row);
        log(`${name} ${path}: ${rps} req/s, ${ok}/${done} 2xx, ${row.cpuPer1k.toFixed(4)} CPU s per 1k`);
      }
    } finally {
      await stopInstance(inst);
    }
  }
} finally {
  await stopAll();
  cleanupTmpDirs();
}
console.log('\nproxy      path   req/s      2xx/done        CPU s per 1k requests');
for (const r of rows) {
  console.log(
    `${r.proxy.padEnd(10)} ${r.path.padEnd(6)} ${String(Math.round(r.rps)).padEnd(10)} ${`${r.ok}/${r.done}`.padEnd(15)} ${r.cpuPer1k.toFixed(4)}`,
  );
}
