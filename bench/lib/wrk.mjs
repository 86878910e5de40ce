// wrk runner and output parsing.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startChild, stopChild } from './procs.mjs';

const LUA = fileURLToPath(new URL('./wrk-report.lua', import.meta.url));

/** @type {Map<string, string>} */
const combinedScripts = new Map();

/**
 * wrk takes one script: a scenario's request script (a file next to this one) is written
 * to a temp file with the report's done() after it.
 * @param {string | undefined} script
 */
function scriptFor(script) {
  if (!script) return LUA;
  let path = combinedScripts.get(script);
  if (!path) {
    const dir = mkdtempSync(join(tmpdir(), 'lb-bench-wrk-'));
    path = join(dir, script);
    const prelude = readFileSync(fileURLToPath(new URL(`./${script}`, import.meta.url)), 'utf8');
    writeFileSync(path, `${prelude}\n${readFileSync(LUA, 'utf8')}`);
    combinedScripts.set(script, path);
  }
  return path;
}

/**
 * What wrk reported (from wrk-report.lua's BENCH_JSON line, else its text), latencies in
 * microseconds. parseWrk adds rps, bytes_per_req and errors; runWrk adds raw.
 * @typedef {object} WrkResult
 * @property {number} [requests]
 * @property {number} [duration_us]
 * @property {number} [bytes]
 * @property {number} [rps_text]
 * @property {number} [p50_us]
 * @property {number} [p90_us]
 * @property {number} [p99_us]
 * @property {number} [max_us]
 * @property {number} [mean_us]
 * @property {number} err_status
 * @property {number} err_connect
 * @property {number} err_read
 * @property {number} err_write
 * @property {number} err_timeout
 * @property {number} [rps]
 * @property {number | null} [bytes_per_req]
 * @property {number} [errors]
 * @property {string} [raw]
 */

/**
 * A finished run: parseWrk's result when it has requests and a duration.
 * @typedef {WrkResult & { requests: number, duration_us: number, p50_us: number, p99_us: number, rps: number, bytes_per_req: number | null, errors: number }} WrkRun
 */

/**
 * @param {string | undefined} v
 * @param {string | undefined} unit
 */
function toUs(v, unit) {
  const n = Number(v);
  switch (unit) {
    case 'us':
      return n;
    case 'ms':
      return n * 1e3;
    case 's':
      return n * 1e6;
    case 'm':
      return n * 60e6;
    default:
      return n;
  }
}

/**
 * Parse wrk's text output (used as a fallback and for the error lines).
 * @param {string} text
 * @returns {WrkResult}
 */
export function parseWrkText(text) {
  /** @type {Record<string, number>} */
  const r = {};
  let m = /(\d+) requests in ([\d.]+)(us|ms|s|m),\s*([\d.]+\w+) read/.exec(text);
  if (m) {
    r.requests = Number(m[1]);
    r.duration_us = toUs(m[2], m[3]);
  }
  m = /Requests\/sec:\s+([\d.]+)/.exec(text);
  if (m) r.rps_text = Number(m[1]);
  for (const p of [50, 90, 99]) {
    m = new RegExp(`^\\s*${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(text);
    if (m) r[`p${p}_us`] = toUs(m[1], m[2]);
  }
  m = /Non-2xx or 3xx responses:\s+(\d+)/.exec(text);
  r.err_status = m ? Number(m[1]) : 0;
  m = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  if (m) {
    r.err_connect = Number(m[1]);
    r.err_read = Number(m[2]);
    r.err_write = Number(m[3]);
    r.err_timeout = Number(m[4]);
  } else {
    Object.assign(r, { err_connect: 0, err_read: 0, err_write: 0, err_timeout: 0 });
  }
  return /** @type {WrkResult} */ (/** @type {unknown} */ (r));
}

/**
 * @param {string} text
 * @returns {WrkRun | null}
 */
export function parseWrk(text) {
  const line = text.split('\n').find((l) => l.startsWith('BENCH_JSON '));
  const fromText = parseWrkText(text);
  let r = fromText;
  if (line) {
    try {
      r = { ...fromText, ...JSON.parse(line.slice('BENCH_JSON '.length)) };
    } catch {
      /* keep text parse */
    }
  }
  if (r.requests == null || !r.duration_us) return null;
  r.rps = r.requests / (r.duration_us / 1e6);
  r.bytes_per_req = r.bytes != null && r.requests ? r.bytes / r.requests : null;
  r.errors = (r.err_connect || 0) + (r.err_read || 0) + (r.err_write || 0) + (r.err_timeout || 0) + (r.err_status || 0);
  return /** @type {WrkRun} */ (r);
}

/**
 * Run wrk once. `onStarted` is called right after spawn (strace/CPU windows hang off it).
 * Resolves with the parsed result (or throws with wrk's output).
 * @param {object} options
 * @param {number} options.port
 * @param {string} [options.path]
 * @param {number} options.conns
 * @param {number} options.seconds
 * @param {string[]} [options.headers]
 * @param {string} [options.script] a request script under lib/ (uploads), run before the report
 * @param {boolean} [options.tls] https: wrk's OpenSSL client (no certificate check, no ALPN)
 * @param {string} [options.preload] a shared object for LD_PRELOAD (lib/wrk-full-handshake.c)
 * @param {string | number | null} [options.pin]
 * @param {number} [options.timeoutSec]
 * @param {(rec: import('./procs.mjs').ChildRecord) => void} [options.onStarted]
 * @returns {Promise<WrkRun>}
 */
export async function runWrk({
  port,
  path = '/',
  conns,
  seconds,
  headers = [],
  script,
  tls = false,
  preload,
  pin,
  timeoutSec = 10,
  onStarted,
}) {
  const args = ['-t1', `-c${conns}`, `-d${seconds}s`, '--latency', `--timeout`, `${timeoutSec}s`, '-s', scriptFor(script)];
  for (const h of headers) args.push('-H', h);
  args.push(`${tls ? 'https' : 'http'}://127.0.0.1:${port}${path}`);
  const env = preload ? { ...process.env, LD_PRELOAD: preload } : undefined;
  const rec = startChild('wrk', args, { pin, env, name: 'wrk', keepStdout: true });
  onStarted?.(rec);
  // wrk bounds itself by -d; this is the backstop if it wedges.
  const guard = setTimeout(() => stopChild(rec, 500), (seconds + timeoutSec + 10) * 1000);
  await rec.done;
  clearTimeout(guard);
  const r = parseWrk(rec.out);
  if (!r) throw new Error(`wrk produced no result (exit ${rec.exitCode}): ${(rec.err + rec.out).trim().slice(-500)}`);
  r.raw = rec.out;
  return r;
}
