#!/usr/bin/env node
// Benchmark harness: lb-native vs HAProxy, nginx, node http-proxy and "direct" (no proxy).
//   npm run bench            full run (3 repetitions, all scenarios, < 10 min)
//   npm run bench:quick      ~1 minute: keep-alive 50 and Connection: close, 1 repetition
//   node bench/run.mjs --help
// All traffic goes to 127.0.0.1. See bench/README.md.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuDeltaSec, cpuSnapshot, fdCount, loadSnapshot, otherLoad, rssKiB, sysBusy, sysCpuSample } from './lib/procfs.mjs';
import { installCleanupHandlers, log, processTree, setNice, sleep, startChild, stopAll, stopChild, tail } from './lib/procs.mjs';
import { makeCertificate } from './lib/certificate.mjs';
import { fullHandshakeShim } from './lib/full-handshake.mjs';
import { markdown, summarize, svgChart, table } from './lib/report.mjs';
import { PROXIES, REPO_DIR, startBackends, stopInstance } from './lib/servers.mjs';
import { probe } from './lib/probe.mjs';
import { straceCount } from './lib/strace.mjs';
import { runH2load } from './lib/h2load.mjs';
import { runWrk } from './lib/wrk.mjs';

/** @typedef {import('./lib/report.mjs').BenchResults} BenchResults */
/** @typedef {import('./lib/report.mjs').MemoryRow} MemoryRow */
/** @typedef {import('./lib/report.mjs').Scenario} Scenario */
/** @typedef {import('./lib/servers.mjs').ProxyStatus} ProxyStatus */
/** @typedef {keyof typeof PROXIES} ProxyName */
/** A started proxy, and the scenarios it has been warmed up for. */
/** @typedef {import('./lib/servers.mjs').Instance & { warmed: Set<string> }} LiveInstance */

/**
 * The command line, parsed (defaults filled in).
 * @typedef {object} Options
 * @property {boolean} quick
 * @property {string[] | null} only
 * @property {string[] | null} scenarios
 * @property {number} reps
 * @property {number} duration
 * @property {number} warmup
 * @property {number} straceSeconds
 * @property {boolean} strace
 * @property {number} idleConns
 * @property {number} idleH2Conns
 * @property {number} h2StreamConns
 * @property {number} h2Streams
 * @property {number} workers
 * @property {number} pool
 * @property {string[]} lbArgs
 * @property {number | null} nice
 * @property {boolean} pin
 * @property {boolean} writeLatest
 * @property {string[]} scenarioIds
 * @property {ProxyName[]} proxyIds
 * @property {boolean} filtered
 */

/**
 * What idle-clients.mjs prints after READY and COUNT (stalled-streams.mjs: `open` counts
 * streams, and it adds sessionsOpen, answered and closedAfterHeaders).
 * @typedef {{ open: number, ok: number, failed: number, badStatus: number, closedAfterOk: number, ms: number, firstErrors: string[], sessionsOpen: number, answered: number, closedAfterHeaders: number }} IdleClientState
 */

const BENCH_DIR = fileURLToPath(new URL('.', import.meta.url));
const RESULTS_DIR = join(BENCH_DIR, 'results');

/** @type {Record<string, Scenario>} */
const SCENARIOS = {
  ka50: { id: 'ka50', label: 'keep-alive c=50', kind: 'load', conns: 50 },
  // ka50 again on an lb-native whose rate limits never trip (lib/servers.mjs, variant
  // 'ratelimit'): the CPU per request of checking them, beside the plain ka50 row.
  ka50rl: { id: 'ka50rl', label: 'keep-alive c=50, rate-limited', kind: 'load', conns: 50, headers: ['X-Tenant: bench'], variant: 'ratelimit' },
  ka200: { id: 'ka200', label: 'keep-alive c=200', kind: 'load', conns: 200 },
  ka1000: { id: 'ka1000', label: 'keep-alive c=1000', kind: 'load', conns: 1000 },
  close: { id: 'close', label: 'Connection: close c=50', kind: 'load', conns: 50, headers: ['Connection: close'] },
  body16k: { id: 'body16k', label: '16 KiB body c=50', kind: 'load', conns: 50, path: '/16k', bodyBytes: 16384, direction: 'down' },
  body64k: { id: 'body64k', label: '64 KiB body c=50', kind: 'load', conns: 50, path: '/64k', bodyBytes: 65536, direction: 'down' },
  body64k10: { id: 'body64k10', label: '64 KiB body c=10', kind: 'load', conns: 10, path: '/64k', bodyBytes: 65536, direction: 'down' },
  body1m: { id: 'body1m', label: '1 MiB body c=10', kind: 'load', conns: 10, path: '/1m', bodyBytes: 1048576, direction: 'down' },
  body1m50: { id: 'body1m50', label: '1 MiB body c=50', kind: 'load', conns: 50, path: '/1m', bodyBytes: 1048576, direction: 'down' },
  upload1m: { id: 'upload1m', label: '1 MiB upload c=10', kind: 'load', conns: 10, path: '/upload', script: 'wrk-upload.lua', bodyBytes: 1048576, direction: 'up' },
  upload1mchunked: { id: 'upload1mchunked', label: '1 MiB chunked upload c=10', kind: 'load', conns: 10, path: '/upload', script: 'wrk-upload-chunked.lua', bodyBytes: 1048576, direction: 'up' },
  tls50: { id: 'tls50', label: 'HTTPS keep-alive c=50', kind: 'load', conns: 50, variant: 'https' },
  tlsclose: { id: 'tlsclose', label: 'HTTPS close resumed c=50', kind: 'load', conns: 50, headers: ['Connection: close'], variant: 'https', handshakes: true },
  tlsfull: { id: 'tlsfull', label: 'HTTPS close full c=50', kind: 'load', conns: 50, headers: ['Connection: close'], variant: 'https', handshakes: true, fullHandshakes: true },
  tls16k: { id: 'tls16k', label: 'HTTPS 16 KiB body c=50', kind: 'load', conns: 50, path: '/16k', bodyBytes: 16384, direction: 'down', variant: 'https' },
  redirect: { id: 'redirect', label: 'redirect 307 c=50', kind: 'load', conns: 50, variant: 'redirect' },
  // HTTP/2 to clients (h2load: 50 connections x 10 concurrent streams), pooled HTTP/1.1 to the
  // backends: over TLS (ALPN h2) and in clear text with prior knowledge (h2c).
  h2tls: { id: 'h2tls', label: 'h2 TLS 50x10', kind: 'load', client: 'h2load', conns: 50, streams: 10, variant: 'h2', group: 'h2' },
  h2tls16k: { id: 'h2tls16k', label: 'h2 TLS 16 KiB 50x10', kind: 'load', client: 'h2load', conns: 50, streams: 10, path: '/16k', bodyBytes: 16384, direction: 'down', variant: 'h2', group: 'h2' },
  h2c: { id: 'h2c', label: 'h2c 50x10', kind: 'load', client: 'h2load', conns: 50, streams: 10, variant: 'h2c', group: 'h2' },
  h2c16k: { id: 'h2c16k', label: 'h2c 16 KiB 50x10', kind: 'load', client: 'h2load', conns: 50, streams: 10, path: '/16k', bodyBytes: 16384, direction: 'down', variant: 'h2c', group: 'h2' },
  idle: { id: 'idle', label: 'idle connections', kind: 'memory' },
  idleh2: { id: 'idleh2', label: 'idle h2 (TLS) connections', kind: 'memory', variant: 'h2', group: 'h2' },
  idleh2c: { id: 'idleh2c', label: 'idle h2c connections', kind: 'memory', variant: 'h2c', group: 'h2' },
  // Memory per open stream: C sessions x S streams whose 1 MiB responses the client never
  // reads (lib/stalled-streams.mjs), so every stream stays open at the proxy.
  streamsh2: { id: 'streamsh2', label: 'stalled h2 (TLS) streams', kind: 'memory', client: 'stalled-streams', path: '/1m', variant: 'h2', group: 'h2' },
  streamsh2c: { id: 'streamsh2c', label: 'stalled h2c streams', kind: 'memory', client: 'stalled-streams', path: '/1m', variant: 'h2c', group: 'h2' },
};
/**
 * The scenarios of a group (`--scenarios=h2` names them all).
 * @param {string} group
 */
const groupOf = (group) => Object.values(SCENARIOS).filter((s) => s.group === group).map((s) => s.id);
/** @type {ProxyName[]} */
const ALL_PROXIES = ['lb-native', 'haproxy', 'nginx', 'caddy', 'node-http-proxy', 'direct'];
/** @type {Record<string, string[]>} */
const NEEDS = {
  haproxy: ['haproxy'],
  nginx: ['nginx'],
};

const HELP = `usage: node bench/run.mjs [options]
  --quick                 ~1 min: scenarios ka50,close; 3 s runs; 1 repetition
  --only=a,b              proxies: ${ALL_PROXIES.join(', ')}
  --scenarios=a,b         scenarios: ${Object.keys(SCENARIOS).join(', ')}
                          (body*: 16 KiB-1 MiB responses; upload1m*: 1 MiB POST bodies;
                          tls*: over TLS 1.3 with one ECDSA P-256 certificate for every proxy;
                          h2*, idleh2*, streamsh2*: HTTP/2 to clients; \`h2\` names all of them)
  --reps=N                repetitions (default 3, quick 1)
  --duration=S            seconds per measured run (default 4, quick 3)
  --warmup=S              warm-up seconds per proxy and scenario (default 1)
  --strace-seconds=S      syscall-count window (default 2, quick 1); --no-strace to skip
  --idle-conns=N          idle connections for the memory scenario (default 10000)
  --idle-h2-conns=N       idle HTTP/2 sessions for idleh2 and idleh2c (default 2000)
  --h2-stream-conns=N     HTTP/2 sessions for streamsh2 and streamsh2c (default 20)
  --h2-streams=N          stalled streams per session there (default 100; each proxy's
                          max-concurrent-streams is raised to N where its default is lower)
  --workers=N             workers/threads per proxy (default 1)
  --pool=N                idle upstream connections kept per backend, every proxy (default 64,
                          lb-native's built-in default; lb-native gets --pool-max-idle N)
  --lb-args="..."         extra flags for \`lb-native start\` (development)
  --pin                   taskset: wrk and idle clients on CPU 0, proxy and backend on CPU 1
  --nice=N                run every child under nice -n N (e.g. -10 as root, to win the CPU
                          over other jobs on a shared machine)
  --write-latest          also write results/latest.md|svg for a quick or filtered run
Results: bench/results/latest.md + latest.svg (full unfiltered runs; latest-pinned.* with --pin),
raw JSON in bench/results/raw/ (merge-results.mjs joins runs, e.g. the h2 group in pieces).`;

/**
 * @param {string[]} argv
 * @returns {Options}
 */
function parseArgs(argv) {
  // reps, duration and straceSeconds are null until given or defaulted below.
  /** @type {Omit<Options, 'reps' | 'duration' | 'straceSeconds' | 'scenarioIds' | 'proxyIds' | 'filtered'> & { reps: number | null, duration: number | null, straceSeconds: number | null } & Partial<Pick<Options, 'scenarioIds' | 'proxyIds' | 'filtered'>>} */
  const o = { quick: false, only: null, scenarios: null, reps: null, duration: null, warmup: 1, straceSeconds: null, strace: true, idleConns: 10000, idleH2Conns: 2000, h2StreamConns: 20, h2Streams: 100, workers: 1, pool: 64, lbArgs: [], nice: null, pin: false, writeLatest: false };
  for (const a of argv) {
    const [k, v] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, null];
    // The options that split v are given as --name=value.
    const text = /** @type {string} */ (v);
    const num = () => {
      const n = Number(v);
      if (!Number.isFinite(n) || n <= 0) die(`${k} needs a positive number`);
      return n;
    };
    switch (k) {
      case '--quick': o.quick = true; break;
      case '--only': o.only = text.split(',').map((s) => s.trim()).filter(Boolean); break;
      case '--scenarios': o.scenarios = text.split(',').map((s) => s.trim()).filter(Boolean).flatMap((s) => (s === 'h2' ? groupOf('h2') : [s])); break;
      case '--reps': o.reps = Math.round(num()); break;
      case '--duration': o.duration = Math.round(num()); break;
      case '--warmup': o.warmup = v === '0' ? 0 : Math.round(num()); break;
      case '--strace-seconds': o.straceSeconds = Math.round(num()); break;
      case '--no-strace': o.strace = false; break;
      case '--idle-conns': o.idleConns = Math.round(num()); break;
      case '--idle-h2-conns': o.idleH2Conns = Math.round(num()); break;
      case '--h2-stream-conns': o.h2StreamConns = Math.round(num()); break;
      case '--h2-streams': o.h2Streams = Math.round(num()); break;
      case '--workers': o.workers = Math.round(num()); break;
      case '--pool': o.pool = Math.round(num()); break;
      case '--lb-args': o.lbArgs = text.split(/\s+/).filter(Boolean); break;
      case '--pin': o.pin = true; break;
      case '--nice': {
        const n = Number(v);
        if (!Number.isInteger(n) || n < -20 || n > 19) die('--nice needs an integer from -20 to 19');
        o.nice = n;
        break;
      }
      case '--write-latest': o.writeLatest = true; break;
      case '-h': case '--help': console.log(HELP); process.exit(0); break;
      default: die(`unknown option ${a}\n${HELP}`);
    }
  }
  for (const p of o.only ?? []) if (!ALL_PROXIES.includes(/** @type {ProxyName} */ (p))) die(`unknown proxy "${p}" (known: ${ALL_PROXIES.join(', ')})`);
  for (const s of o.scenarios ?? []) if (!SCENARIOS[s]) die(`unknown scenario "${s}" (known: ${Object.keys(SCENARIOS).join(', ')})`);
  o.reps ??= o.quick ? 1 : 3;
  o.duration ??= o.quick ? 3 : 4;
  o.straceSeconds ??= o.quick ? 1 : 2;
  o.scenarioIds = o.scenarios ?? (o.quick ? ['ka50', 'close'] : Object.keys(SCENARIOS));
  // Checked above: every --only name is a proxy's.
  o.proxyIds = /** @type {ProxyName[]} */ (o.only ?? ALL_PROXIES);
  o.filtered = Boolean(o.only || o.scenarios);
  return /** @type {Options} */ (o);
}

/**
 * @param {string} msg
 * @returns {never}
 */
function die(msg) {
  console.error(`bench: ${msg}`);
  process.exit(2);
}

/** @param {string} bin */
function which(bin) {
  for (const d of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin'])) {
    try {
      execFileSync('test', ['-x', join(d, bin)]);
      return join(d, bin);
    } catch {
      /* next */
    }
  }
  return null;
}

/**
 * stdout and stderr of a short command (nginx -v prints to stderr, wrk --version exits 1).
 * @param {string} cmd
 * @param {string[]} args
 */
function cmdOut(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 5000 });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`;
}

function machineInfo() {
  const cpu = (/model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? os.cpus()[0]?.model ?? 'unknown').trim();
  const nproc = Number(cmdOut('nproc', []).trim()) || os.cpus().length;
  return { nproc, cpu, kernel: os.release(), memGiB: Math.round(os.totalmem() / 2 ** 30) };
}

/** @param {ProxyName[]} proxyIds */
function versions(proxyIds) {
  /** @type {Record<string, string>} */
  const v = { node: process.version };
  if (proxyIds.includes('haproxy')) v.haproxy = /HA-?Proxy version (\S+)/i.exec(cmdOut('haproxy', ['-v']))?.[1] ?? '?';
  v.nginx = /nginx\/(\S+)/.exec(cmdOut('nginx', ['-v']))?.[1] ?? '?';
  if (proxyIds.includes('caddy')) v.caddy = /v?(\d\S*)/.exec(cmdOut('caddy', ['version']))?.[1] ?? '?';
  v.wrk = /wrk (\S+)/.exec(cmdOut('wrk', ['--version']))?.[1]?.replace(/^debian\//, '') ?? '?';
  if (proxyIds.includes('node-http-proxy')) {
    try {
      v['http-proxy'] = JSON.parse(readFileSync(join(REPO_DIR, 'node_modules', 'http-proxy', 'package.json'), 'utf8')).version;
    } catch {
      /* not installed */
    }
  }
  try {
    v['lb-native'] = JSON.parse(readFileSync(join(REPO_DIR, 'package.json'), 'utf8')).version;
  } catch {
    /* ignore */
  }
  return v;
}

// ---------------------------------------------------------------------------------------

const opts = parseArgs(process.argv.slice(2));
installCleanupHandlers();
if (opts.nice != null) setNice(opts.nice);

const required = new Set(['wrk', 'nginx']); // nginx is the backend for everyone
for (const p of opts.proxyIds) for (const b of NEEDS[p] ?? []) required.add(b);
if (opts.pin) required.add('taskset');
if (opts.nice != null) required.add('nice');
if (opts.scenarioIds.some((id) => SCENARIOS[id]?.variant === 'https' || SCENARIOS[id]?.variant === 'h2')) required.add('openssl'); // the bench certificate
if (opts.scenarioIds.some((id) => SCENARIOS[id]?.group === 'h2')) required.add('h2load'); // HTTP/2 load and warm-up
if (opts.scenarioIds.some((id) => SCENARIOS[id]?.fullHandshakes)) required.add('cc'); // lib/wrk-full-handshake.c
const missing = [...required].filter((b) => !which(b));
if (missing.length) {
  die(
    `missing required program(s): ${missing.join(', ')}\n` +
      `  install them with: sudo bash scripts/install-bench-deps.sh   (Debian packages: ${missing.map((m) => ({ taskset: 'util-linux', h2load: 'nghttp2-client' })[m] ?? m).join(' ')})\n` +
      `  or leave a proxy out with --only=...`,
  );
}
const haveStrace = Boolean(which('strace'));
if (opts.strace && !haveStrace) log('strace not found: syscalls/request will be reported as n/a (apt-get install strace)');

const started = Date.now();
// Hard bound on the whole run: a wedged child must never keep this going forever.
const deadlineMin = opts.quick ? 6 : 25;
setTimeout(() => {
  log(`watchdog: run exceeded ${deadlineMin} min, aborting`);
  stopAll().finally(() => process.exit(1));
}, deadlineMin * 60_000).unref();

const PIN_LOAD = opts.pin ? 0 : undefined; // wrk, idle clients
const PIN_SUT = opts.pin ? 1 : undefined; // proxy under test + backend

/** @type {BenchResults} */
const results = {
  meta: {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    command: `node bench/run.mjs ${process.argv.slice(2).join(' ')}`.trim(),
    quick: opts.quick,
    reps: opts.reps,
    duration: opts.duration,
    warmup: opts.warmup,
    straceSeconds: opts.strace && haveStrace ? opts.straceSeconds : null,
    workers: opts.workers,
    pool: opts.pool,
    lbArgs: opts.lbArgs,
    pin: opts.pin,
    nice: opts.nice,
    idleConns: opts.idleConns,
    idleH2Conns: opts.idleH2Conns,
    h2StreamConns: opts.h2StreamConns,
    h2Streams: opts.h2Streams,
    machine: machineInfo(),
    versions: versions(opts.proxyIds),
  },
  proxyOrder: opts.proxyIds,
  proxyLabels: Object.fromEntries(ALL_PROXIES.map((p) => [p, PROXIES[p].label])),
  proxyStatus: {},
  // (parseArgs checked every scenario id.)
  scenarios: opts.scenarioIds.map((id) => {
    const sc = /** @type {Scenario} */ (SCENARIOS[id]);
    if (sc.client === 'stalled-streams') return { ...sc, conns: opts.h2StreamConns, streams: opts.h2Streams };
    return sc.kind === 'memory' ? { ...sc, conns: sc.variant ? opts.idleH2Conns : opts.idleConns } : { ...sc };
  }),
  cells: {}, // "scenario|proxy" -> {status}
  runs: [],
  strace: [],
  memory: [],
  probes: {},
  notes: [],
  logs: {},
};
/** @param {string} s */
const note = (s) => {
  if (!results.notes.includes(s)) results.notes.push(s);
  log(`NOTE: ${s}`);
};

// ---- proxy availability
for (const p of opts.proxyIds) {
  const c = await PROXIES[p].check();
  results.proxyStatus[p] = c;
  if (!c.ok) log(`${p}: ${c.status} (${c.note})`);
  if (p === 'lb-native' && c.ok) log(`lb-native: built; redirect mode ${c.redirect ? 'available' : 'not implemented'}`);
  delete c.help;
}

// ---- is the machine quiet? (other builds running make every figure noisy)
{
  const load1 = Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
  results.meta.loadavg1_at_start = load1;
  if (load1 > 0.5 * results.meta.machine.nproc) {
    note(`load average was ${load1} on ${results.meta.machine.nproc} cores when the run started: other work was competing for the CPUs, expect noise`);
  }
}

// ---- backends
log('starting backend nginx');
const backend = await startBackends({ workers: 1, pin: PIN_SUT }).catch((e) => die(`backend nginx failed to start: ${e.message}`));
log(`backends on 127.0.0.1:${backend.ports.join(', 127.0.0.1:')}`);

// ---- proxy instances (started lazily, reused across runs; restarted if they die)
/** @type {Map<string, LiveInstance>} */
const instances = new Map();
/** @type {Map<string, number>} */
const restarts = new Map();
const ctx = {
  backends: backend.ports,
  backendInfo: backend,
  workers: opts.workers,
  pin: PIN_SUT,
  idleConns: opts.idleConns,
  pool: opts.pool,
  lbStatus: results.proxyStatus['lb-native'],
  lbArgs: opts.lbArgs,
  // every proxy's max-concurrent-streams allows the streams scenarios' S (raised only when a
  // streams scenario runs and S is above a proxy's default)
  h2Streams: results.scenarios.some((s) => s.client === 'stalled-streams') ? opts.h2Streams : undefined,
  // one certificate for every proxy's TLS listener, made only when an HTTPS scenario runs
  tls: results.scenarios.some((s) => s.variant === 'https' || s.variant === 'h2')
    ? await makeCertificate().catch((e) => die(`making the bench certificate failed: ${e.message}`))
    : undefined,
  // the LD_PRELOAD shim that keeps wrk from resuming sessions, built only when needed
  fullHandshake: results.scenarios.some((s) => s.fullHandshakes)
    ? await fullHandshakeShim().catch((e) => die(`building the full-handshake shim failed: ${e.message}`))
    : undefined,
};

/**
 * @param {Scenario} sc
 * @param {ProxyName} p
 */
function cellStatus(sc, p) {
  const st = results.proxyStatus[p];
  if (!st?.ok) return st?.status ?? 'not available';
  if (sc.variant === 'redirect') {
    if (p === 'direct') return 'n/a';
    if (!st.redirect) return 'n/a (not implemented)';
  }
  if (sc.kind === 'memory' && p === 'direct') return 'n/a';
  if (sc.variant === 'ratelimit' && p !== 'lb-native') return 'n/a';
  if (sc.variant === 'https' && !st.https) return 'n/a';
  if ((sc.variant === 'h2' || sc.variant === 'h2c') && !st.h2) return 'n/a';
  if (sc.variant !== 'https' && st.httpsOnly) return 'n/a (HTTPS rows only)';
  const failed = st.failedVariants?.[sc.variant ?? 'proxy'];
  if (failed) return failed;
  return 'ok';
}

/**
 * @param {ProxyName} p
 * @param {string} variant
 * @returns {Promise<LiveInstance | null>}
 */
async function getInstance(p, variant) {
  const key = `${p}|${variant}`;
  /** @type {LiveInstance | null | undefined} */
  let inst = instances.get(key);
  if (inst && !inst.shared && inst.rec.exited) {
    note(`${p} (${variant}) exited unexpectedly (code ${inst.rec.exitCode}, signal ${inst.rec.exitSignal}): ${tail(inst.rec, 400)}`);
    instances.delete(key);
    inst = null;
    const n = (restarts.get(key) ?? 0) + 1;
    restarts.set(key, n);
    if (n > 2) {
      (/** @type {ProxyStatus} */ (results.proxyStatus[p]).failedVariants ??= {})[variant] = 'failed (kept exiting)';
      return null;
    }
  }
  if (inst) return inst;
  try {
    log(`starting ${p} (${variant})`);
    inst = /** @type {LiveInstance} */ (await PROXIES[p].start(variant, ctx));
    inst.warmed = new Set();
    instances.set(key, inst);
    const problems = await probe(inst.port, p === 'direct' ? 'direct' : variant, backend.ports, ctx.tls?.certPem);
    if (p === 'direct') problems.splice(0, problems.length, ...problems.filter((x) => !/round-robin/.test(x)));
    results.probes[key] = problems;
    for (const x of problems) note(`${p} (${variant}) probe: ${x}`);
    return inst;
  } catch (e) {
    note(`${p} (${variant}) failed to start: ${/** @type {Error} */ (e).message}`);
    (/** @type {ProxyStatus} */ (results.proxyStatus[p]).failedVariants ??= {})[variant] = 'failed to start';
    return null;
  }
}

/**
 * One run of a load scenario's client: h2load for the HTTP/2 rows, wrk for the others.
 * @param {Scenario} sc a load scenario (they all have conns)
 * @param {number} port
 * @param {number} seconds
 */
function loadRun(sc, port, seconds) {
  const conns = /** @type {number} */ (sc.conns);
  if (sc.client === 'h2load') {
    return runH2load({ port, path: sc.path ?? '/', conns, streams: sc.streams ?? 1, seconds, tls: sc.variant === 'h2', pin: PIN_LOAD });
  }
  return runWrk({ port, path: sc.path ?? '/', conns, seconds, headers: sc.headers ?? [], script: sc.script, tls: sc.variant === 'https', preload: sc.fullHandshakes ? ctx.fullHandshake : undefined, pin: PIN_LOAD });
}

/**
 * @param {Scenario} sc
 * @param {ProxyName} p
 * @param {number} rep
 */
async function measuredRun(sc, p, rep) {
  const inst = await getInstance(p, sc.variant ?? 'proxy');
  if (!inst) return;
  if (opts.warmup && !inst.warmed.has(sc.id)) {
    await loadRun(sc, inst.port, opts.warmup).catch((e) => note(`${p} ${sc.id} warm-up: ${e.message}`));
    inst.warmed.add(sc.id);
  }
  // Started children have their pids.
  const a = cpuSnapshot(/** @type {number} */ (inst.pid));
  const ba = cpuSnapshot(/** @type {number} */ (backend.pid));
  const sa = sysCpuSample();
  const fa = loadSnapshot();
  let r;
  try {
    r = await loadRun(sc, inst.port, opts.duration);
  } catch (e) {
    const { message } = /** @type {Error} */ (e);
    note(`${p} ${sc.id} rep ${rep + 1}: ${message}`);
    results.runs.push({ scenario: sc.id, proxy: p, rep, failed: true, error: message });
    return;
  }
  const b = cpuSnapshot(/** @type {number} */ (inst.pid));
  const bb = cpuSnapshot(/** @type {number} */ (backend.pid));
  const sb = sysCpuSample();
  const fb = loadSnapshot();
  const other = otherLoad(fa, fb, results.meta.machine.nproc);
  const busy = sysBusy(sa, sb);
  const cpu = cpuDeltaSec(a, b);
  const row = {
    scenario: sc.id,
    proxy: p,
    rep,
    rps: r.rps,
    requests: r.requests,
    duration_s: r.duration_us / 1e6,
    p50_us: r.p50_us,
    p90_us: r.p90_us,
    p99_us: r.p99_us,
    max_us: r.max_us,
    bytes_per_req: r.bytes_per_req,
    errors: r.errors,
    err: { connect: r.err_connect, read: r.err_read, write: r.err_write, timeout: r.err_timeout, status: r.err_status },
    cpu_s: cpu,
    cpu_us_per_req: r.requests ? (cpu * 1e6) / r.requests : null,
    backend_cpu_us_per_req: p === 'direct' || !r.requests ? null : (cpuDeltaSec(ba, bb) * 1e6) / r.requests,
    machine_busy: busy,
    // every core's busy time per request: proxy, wrk, backend and the kernel's network work
    machine_us_per_req: r.rps ? (busy * results.meta.machine.nproc * 1e6) / r.rps : null,
    // share of the machine's CPU time taken by processes that are not part of the bench
    foreign_cpu_share: other.other,
    steal_share: other.steal,
  };
  results.runs.push(row);
  log(
    `${sc.id.padEnd(8)} ${p.padEnd(16)} rep ${rep + 1}: ${Math.round(r.rps)} req/s, p50 ${(r.p50_us / 1000).toFixed(2)} ms, p99 ${(r.p99_us / 1000).toFixed(2)} ms, ` +
      `cpu ${row.cpu_us_per_req?.toFixed(1)} us/req, errors ${r.errors}, ${Math.round(r.bytes_per_req ?? 0)} B/resp, other load ${Math.round(/** @type {number} */ (row.foreign_cpu_share) * 100)}%`,
  );
  if (r.errors) {
    note(
      `${p} ${sc.label} rep ${rep + 1}: ${r.errors} errors in ${r.requests} requests ` +
        `(connect ${r.err_connect}, read ${r.err_read}, write ${r.err_write}, timeout ${r.err_timeout}, non-2xx/3xx ${r.err_status})`,
    );
  }
  if (r.requests === 0) note(`${p} ${sc.label} rep ${rep + 1}: zero requests completed (stall?)`);
  if (sc.direction === 'down' && sc.bodyBytes && r.bytes_per_req != null && r.bytes_per_req < sc.bodyBytes) {
    note(`${p} ${sc.label}: ${Math.round(r.bytes_per_req)} bytes per response, less than the ${sc.bodyBytes}-byte body (truncated responses?)`);
  }
  if (!inst.shared && inst.rec.exited) note(`${p} exited during ${sc.label}: ${tail(inst.rec, 400)}`);
}

/**
 * @param {Scenario} sc
 * @param {ProxyName} p
 */
async function straceRun(sc, p) {
  const inst = await getInstance(p, sc.variant ?? 'proxy');
  if (!inst) return;
  const pids = processTree(/** @type {number} */ (inst.pid));
  try {
    const s = await straceCount(pids, () => loadRun(sc, inst.port, opts.straceSeconds));
    results.strace.push({ scenario: sc.id, proxy: p, per_req: s.per_req, calls: s.calls, requests: s.requests, top: s.top, rps_under_strace: s.wrk.rps });
    log(`strace   ${sc.id.padEnd(8)} ${p.padEnd(16)} ${s.per_req?.toFixed(2)} syscalls/req (${s.calls} calls, ${s.requests} requests; top: ${s.top.slice(0, 4).map((t) => `${t.name} ${t.per_req?.toFixed(2)}`).join(', ')})`);
    if (s.wrk.errors) note(`${p} ${sc.label} under strace: ${s.wrk.errors} errors in ${s.wrk.requests} requests`);
    // keep-alive scenarios should reuse pooled upstream connections: flag churn
    const connects = s.top.find((t) => t.name === 'connect')?.per_req ?? 0;
    if (p !== 'direct' && sc.variant !== 'redirect' && connects > 0.1) {
      note(`${p} ${sc.label}: ${connects.toFixed(2)} upstream connect() per request under strace (pooled connections not reused)`);
    }
  } catch (e) {
    results.strace.push({ scenario: sc.id, proxy: p, per_req: null, note: 'n/a' });
    note(`strace ${p} ${sc.id}: ${/** @type {Error} */ (e).message}`);
  }
}

/**
 * A memory scenario for one proxy on a fresh instance: idle connections (idle-clients.mjs),
 * or with `client: 'stalled-streams'` open streams whose responses are never read
 * (stalled-streams.mjs). RSS growth per connection held, or per stream held.
 * @param {Scenario} sc
 * @param {ProxyName} p
 */
async function idleRun(sc, p) {
  const variant = sc.variant ?? 'proxy';
  let inst;
  try {
    log(`starting fresh ${p} (${variant}) for the ${sc.label} test`);
    inst = await PROXIES[p].start(variant, ctx);
  } catch (e) {
    results.memory.push({ scenario: sc.id, proxy: p, status: 'failed to start' });
    note(`${p} (${sc.id} test) failed to start: ${/** @type {Error} */ (e).message}`);
    return;
  }
  // Its figures are filled in below, in order.
  const m = /** @type {Required<MemoryRow>} */ ({ scenario: sc.id, proxy: p, status: 'ok', requested: sc.conns ?? opts.idleConns });
  const h2 = variant === 'h2' || variant === 'h2c';
  const streams = sc.client === 'stalled-streams';
  if (streams) m.streams_requested = m.requested * /** @type {number} */ (sc.streams);
  let client;
  try {
    // warm-up: first connections, upstream pool, allocator arenas. The streams scenarios warm
    // up with one stream at a time: 50 x 10 would leave buffers for 500 streams in each
    // proxy's pools, and those streams' memory would not show as growth.
    await (h2
      ? runH2load({ port: inst.port, conns: streams ? 1 : 50, streams: streams ? 1 : 10, seconds: 1, tls: variant === 'h2', pin: PIN_LOAD })
      : runWrk({ port: inst.port, path: '/', conns: 50, seconds: 1, pin: PIN_LOAD })
    ).catch(() => {});
    await sleep(1000);
    const pid = /** @type {number} */ (inst.pid);
    m.rss_before_kib = rssKiB(pid);
    m.fds_before = fdCount(pid);
    client = streams
      ? startChild(
          process.execPath,
          [join(BENCH_DIR, 'lib', 'stalled-streams.mjs'), '--port', String(inst.port), '--conns', String(m.requested), '--streams', String(sc.streams), '--path', sc.path ?? '/1m', '--max-seconds', '60', '--protocol', variant],
          { pin: PIN_LOAD, name: 'stalled-streams', keepStdout: true, stdin: 'pipe' },
        )
      : startChild(
          process.execPath,
          [join(BENCH_DIR, 'lib', 'idle-clients.mjs'), '--port', String(inst.port), '--count', String(m.requested), '--concurrency', '50', '--max-seconds', '150', '--protocol', h2 ? variant : 'h1'],
          { pin: PIN_LOAD, name: 'idle-clients', keepStdout: true, stdin: 'pipe' },
        );
    const ready = await waitLine(client, 'READY ', streams ? 30_000 : 120_000);
    m.open_ms = ready.ms;
    m.ok = streams ? ready.answered : ready.ok;
    m.failed = ready.failed;
    m.bad_status = ready.badStatus;
    await sleep(2000);
    m.rss_after_kib = rssKiB(pid);
    m.fds_after = fdCount(pid);
    // Started with stdin 'pipe'.
    /** @type {import('node:stream').Writable} */ (client.child.stdin).write('count\n');
    const c = await waitLine(client, 'COUNT ', 10_000);
    const growth = m.rss_after_kib - m.rss_before_kib;
    if (streams) {
      m.held = c.sessionsOpen;
      m.streams_held = c.open;
      m.closed_by_peer = c.closedAfterHeaders;
      m.kib_per_stream = m.streams_held > 0 ? growth / m.streams_held : null;
      m.kib_per_conn = null;
    } else {
      m.held = c.open;
      m.closed_by_peer = c.closedAfterOk;
      m.kib_per_conn = m.held > 0 ? growth / m.held : null;
    }
    log(
      `${sc.id.padEnd(8)} ${p.padEnd(16)} RSS ${m.rss_before_kib} -> ${m.rss_after_kib} KiB, held ${m.held}/${m.requested} (failed ${m.failed}), ` +
        (streams ? `streams ${m.streams_held}/${m.streams_requested}, ${m.kib_per_stream?.toFixed(2)} KiB/stream` : `${m.kib_per_conn?.toFixed(2)} KiB/conn`) +
        `, fds ${m.fds_before} -> ${m.fds_after}`,
    );
    if (streams && (m.failed || m.streams_held < m.streams_requested)) {
      note(
        `${p} ${sc.id} test: ${m.streams_held} of ${m.streams_requested} streams still open at measurement (${m.failed} failed before their response headers` +
          `${ready.firstErrors?.length ? `: ${ready.firstErrors.join(', ')}` : ''}; ${m.closed_by_peer} closed after their headers)`,
      );
    } else if (!streams && (m.failed || m.held < m.requested)) {
      note(
        `${p} ${sc.id} test: ${m.held} of ${m.requested} connections still open at measurement (${m.failed} failed to get a response` +
          `${ready.firstErrors?.length ? `: ${ready.firstErrors.join(', ')}` : ''}; ${m.closed_by_peer} closed by the proxy after answering)`,
      );
    }
    if (m.bad_status) note(`${p} ${sc.id} test: ${m.bad_status} non-2xx/3xx responses`);
  } catch (e) {
    m.status = 'failed';
    note(`${p} ${sc.id} test: ${/** @type {Error} */ (e).message}`);
  } finally {
    if (client) await stopChild(client, 1000);
    if (inst.rec.exited) note(`${p} exited during the ${sc.id} test: ${tail(inst.rec, 400)}`);
    await stopInstance(inst);
  }
  results.memory.push(m);
}

/**
 * @param {import('./lib/procs.mjs').ChildRecord} rec
 * @param {string} prefix
 * @param {number} timeoutMs
 * @returns {Promise<IdleClientState>}
 */
function waitLine(rec, prefix, timeoutMs) {
  return new Promise((resolve, reject) => {
    const seen = () => {
      const line = rec.out.split('\n').reverse().find((l) => l.startsWith(prefix));
      return line ? JSON.parse(line.slice(prefix.length)) : null;
    };
    const t = setTimeout(() => {
      rec.listeners.length = 0;
      reject(new Error(`no "${prefix.trim()}" from ${rec.name} within ${timeoutMs} ms: ${tail(rec, 300)}`));
    }, timeoutMs);
    const check = () => {
      const v = seen();
      if (v) {
        clearTimeout(t);
        rec.listeners.length = 0;
        resolve(v);
      } else if (rec.exited) {
        clearTimeout(t);
        reject(new Error(`${rec.name} exited: ${tail(rec, 300)}`));
      }
    };
    rec.out = rec.out.split('\n').filter((l) => !l.startsWith(prefix)).join('\n');
    rec.listeners.push(check);
    rec.done.then(check);
  });
}

// ---- main schedule
const loadScenarios = results.scenarios.filter((s) => s.kind === 'load');
for (const sc of results.scenarios) for (const p of opts.proxyIds) results.cells[`${sc.id}|${p}`] = { status: cellStatus(sc, p) };

for (let rep = 0; rep < opts.reps; rep++) {
  for (const [si, sc] of loadScenarios.entries()) {
    // round-robin order, rotated per repetition and scenario so nobody always goes first
    const ps = opts.proxyIds;
    const k = (rep + si) % ps.length;
    for (const p of [...ps.slice(k), ...ps.slice(0, k)]) {
      if (cellStatus(sc, p) !== 'ok') continue;
      await measuredRun(sc, p, rep);
    }
  }
}
if (opts.strace && haveStrace) {
  for (const sc of loadScenarios) for (const p of opts.proxyIds) if (cellStatus(sc, p) === 'ok') await straceRun(sc, p);
}
// the long-lived instances are not needed any more
for (const [key, inst] of instances) {
  if (!inst.shared) results.logs[key] = tail(inst.rec, 2000);
  await stopInstance(inst);
}
instances.clear();
for (const idle of results.scenarios.filter((s) => s.kind === 'memory')) {
  for (const p of opts.proxyIds) if (cellStatus(idle, p) === 'ok') await idleRun(idle, p);
}

// ---- refresh statuses (a proxy may have failed mid-run), write out
for (const sc of results.scenarios) for (const p of opts.proxyIds) results.cells[`${sc.id}|${p}`] = { status: cellStatus(sc, p) };
await stopChild(backend.rec);
await stopAll();
results.meta.elapsedSec = (Date.now() - started) / 1000;

const rows = summarize(results);
results.summary = rows;
mkdirSync(join(RESULTS_DIR, 'raw'), { recursive: true });
const stamp = results.meta.date.replace(/[:]/g, '').replace(/-/g, '');
const rawPath = join(RESULTS_DIR, 'raw', `${stamp}${opts.quick ? '-quick' : ''}.json`);
writeFileSync(rawPath, JSON.stringify(results, null, 2) + '\n');
const md = markdown(results, rows);
const svg = svgChart(results, rows);
const latest = (!opts.quick && !opts.filtered) || opts.writeLatest;
// Pinned runs measure another CPU layout: they keep their own latest files.
const latestName = opts.pin ? 'latest-pinned' : 'latest';
// The markdown links its chart by file name, next to it.
const outBase = latest ? join(RESULTS_DIR, latestName) : rawPath.replace(/\.json$/, '');
writeFileSync(`${outBase}.md`, md.replace('(latest.svg)', `(${basename(outBase)}.svg)`));
writeFileSync(`${outBase}.svg`, svg);
console.log(table(results, rows));
if (results.notes.length) console.log(`\nnotes:\n- ${results.notes.join('\n- ')}`);
console.log(
  `\nwrote ${latest ? `bench/results/${latestName}.md, bench/results/${latestName}.svg, ` : ''}${rawPath.slice(REPO_DIR.length)} (${(results.meta.elapsedSec / 60).toFixed(1)} min)`,
);
process.exit(0);
